package service

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
	"github.com/rapportcrm/rapport/internal/rules/routing"
)

// DemoPassword is the password of every demo user.
const DemoPassword = "rapport-demo"

// DemoOrg is the slug of the demo organization.
const DemoOrg = "demo"

// SeedDemo creates the demo organization: a user of every role, a team hierarchy, and a few
// accounts and contacts with Chinese and English names. It does nothing when the organization
// exists, so it is safe to run on every start. It reports whether it created anything.
func (s *Service) SeedDemo(ctx context.Context) (bool, error) {
	exists := true
	err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := query.New(tx).GetOrganizationBySlug(ctx, DemoOrg)
		if errors.Is(err, pgx.ErrNoRows) {
			exists = false
			return nil
		}
		return err
	})
	if err != nil || exists {
		return false, err
	}
	org, err := s.CreateOrganization(ctx, DemoOrg, "Demo 演示公司", crm.Settings{})
	if err != nil {
		if crm.ErrorCode(err) == crm.ECONFLICT { // another process seeded it meanwhile
			return false, nil
		}
		return false, err
	}
	sys := crm.SystemActor(org.ID)
	user := func(email, name string, role crm.Role, team crm.ID) (crm.User, error) {
		return s.CreateUser(ctx, sys, UserInput{Email: email, Name: name, Role: role, TeamID: team, Password: DemoPassword})
	}
	var errs []error
	must := func(err error) { errs = append(errs, err) }
	_, err = user("admin@demo.test", "Admin 管理员", crm.RoleAdmin, crm.NilID)
	must(err)
	manager, err := user("manager@demo.test", "李娜 Li Na", crm.RoleSalesManager, crm.NilID)
	must(err)
	sales, err := s.CreateTeam(ctx, sys, TeamInput{Name: "Sales 销售部", ManagerID: manager.ID})
	must(err)
	east, err := s.CreateTeam(ctx, sys, TeamInput{Name: "East China 华东", ParentID: sales.ID})
	must(err)
	intl, err := s.CreateTeam(ctx, sys, TeamInput{Name: "International", ParentID: sales.ID})
	must(err)
	support, err := s.CreateTeam(ctx, sys, TeamInput{Name: "Support 客服"})
	must(err)
	_, err = s.UpdateUser(ctx, sys, UserUpdate{ID: manager.ID, TeamID: Some(sales.ID)})
	must(err)
	rep1, err := user("rep1@demo.test", "王伟 Wang Wei", crm.RoleSalesRep, east.ID)
	must(err)
	rep2, err := user("rep2@demo.test", "Emily Carter", crm.RoleSalesRep, intl.ID)
	must(err)
	_, err = user("support@demo.test", "张敏 Zhang Min", crm.RoleSupportAgent, support.ID)
	must(err)
	_, err = user("analyst@demo.test", "Olivia Brown", crm.RoleAnalyst, crm.NilID)
	must(err)
	if err := errors.Join(errs...); err != nil {
		return false, err
	}

	accounts := []struct {
		in       AccountInput
		contacts []ContactInput
	}{
		{AccountInput{Name: "杭州云栖科技有限公司", RegistrationCode: "91330100MA2B3C4D5N", Domain: "yunqi-tech.cn",
			Industry: "Software", Employees: ptr[int32](320), Region: "浙江", Country: "CN", OwnerID: Some(rep1.ID)},
			[]ContactInput{
				{LastName: "陈", FirstName: "晓明", Title: "CTO 首席技术官", Emails: []string{"chen.xiaoming@yunqi-tech.cn"}, Phones: []string{"138 0013 8000"}},
				{LastName: "刘", FirstName: "芳", Title: "采购经理", Emails: []string{"liu.fang@yunqi-tech.cn"}, Phones: []string{"+86 21 6123 4567"}},
			}},
		{AccountInput{Name: "上海浦江精密机械制造有限公司", RegistrationCode: "91310115MA1K4X7Y2G", Domain: "pujiang-precision.com",
			Industry: "Manufacturing", Employees: ptr[int32](1200), Region: "上海", Country: "CN", OwnerID: Some(rep1.ID)},
			[]ContactInput{{LastName: "赵", FirstName: "强", Title: "总经理", Emails: []string{"zhao.qiang@pujiang-precision.com"}, Phones: []string{"13912345678"}}}},
		{AccountInput{Name: "北京长城数据服务有限公司", RegistrationCode: "91110108MA01N2P3QM", Domain: "greatwall-data.cn",
			Industry: "Data services", Employees: ptr[int32](85), Region: "北京", Country: "CN", OwnerID: Some(manager.ID)},
			[]ContactInput{{LastName: "孙", FirstName: "丽", Title: "数据总监", Emails: []string{"sun.li@greatwall-data.cn"}}}},
		{AccountInput{Name: "Globex Trading Ltd", Domain: "globex.example", Industry: "Wholesale", Employees: ptr[int32](45),
			Region: "London", Country: "GB", OwnerID: Some(rep2.ID)},
			[]ContactInput{
				{FirstName: "Hank", LastName: "Scorpio", Title: "CEO", Emails: []string{"hank@globex.example"}, Phones: []string{"+44 20 7946 0958"}},
				{FirstName: "Maria", LastName: "García", Title: "Head of Procurement", Emails: []string{"maria.garcia@globex.example"}},
			}},
		{AccountInput{Name: "Initech GmbH", Domain: "initech.example", Industry: "Software", Employees: ptr[int32](150),
			Region: "Bayern", Country: "DE", OwnerID: Some(rep2.ID)},
			[]ContactInput{{FirstName: "Lukas", LastName: "Müller", Title: "IT-Leiter", Emails: []string{"lukas.mueller@initech.example"}, Phones: []string{"+49 89 123456"}}}},
		{AccountInput{Name: "深圳前海跨境贸易有限公司", RegistrationCode: "91440300MA5F6G7H8B", Domain: "qianhai-trade.cn",
			Industry: "Wholesale", Employees: ptr[int32](60), Region: "广东", Country: "CN"}, // in the shared pool
			[]ContactInput{{LastName: "黄", FirstName: "志伟", Title: "外贸经理", Phones: []string{"+86 755 8888 6666"}}}},
	}
	deals := []struct {
		name, amount, currency string
	}{
		{"云栖 CRM 私有化部署", "860000", "CNY"},
		{"浦江 MES 二期", "1250000.50", "CNY"},
		{"长城数据 BI 年度订阅", "98000", "CNY"},
		{"Globex EMEA rollout", "120000", "GBP"},
		{"Initech support renewal", "45000", "EUR"},
	}
	for i, x := range accounts {
		acct, _, err := s.CreateAccount(ctx, sys, x.in)
		if err != nil {
			return false, err
		}
		for _, c := range x.contacts {
			c.AccountID, c.OwnerID = acct.ID, Some(acct.OwnerID)
			c.EmailConsent = crm.ConsentGranted
			if _, _, err := s.CreateContact(ctx, sys, c); err != nil {
				return false, err
			}
		}
		if i < len(deals) {
			amount := decimal.RequireFromString(deals[i].amount)
			if _, _, err := s.CreateOpportunity(ctx, sys, OpportunityInput{Name: deals[i].name, AccountID: acct.ID,
				OwnerID: Some(acct.OwnerID), Amount: &amount, Currency: deals[i].currency, Source: "demo"}); err != nil {
				return false, err
			}
		}
	}
	leads := []LeadInput{
		{Name: "周杰", Title: "信息中心主任", Company: "苏州工业园区智能制造有限公司", Email: "zhou.jie@sip-smart.cn",
			Phone: "13812345670", Industry: "Manufacturing", CompanySize: ptr[int32](600), Country: "CN", Region: "江苏",
			City: "苏州", Source: crm.SourceWebForm, Campaign: "2026 智能制造峰会", UTM: crm.UTM{Source: "baidu", Medium: "cpc"}},
		{Name: "林小红", Title: "市场专员", Company: "厦门海沧物流有限公司", Email: "lin.xh@haicang-logistics.cn",
			Industry: "Logistics", CompanySize: ptr[int32](40), Country: "CN", Region: "福建", Source: crm.SourceWebinar},
		{Name: "Priya Natarajan", Title: "VP Operations", Company: "Acme Robotics Pvt Ltd", Email: "priya@acme-robotics.example",
			Phone: "+91 80 4000 1234", Industry: "Manufacturing", CompanySize: ptr[int32](900), Country: "IN",
			Source: crm.SourceReferral},
		{Name: "Tom Becker", Company: "Becker Handel GmbH", Email: "tom@becker-handel.example", Country: "DE",
			Source: crm.SourceEvent, Campaign: "Hannover Messe 2026"},
	}
	for _, r := range []AssignmentRuleInput{
		{Name: "China → East China, round robin", Strategy: routing.StrategyRoundRobin, TargetTeamID: east.ID,
			Criteria: []criteria.Criterion{{Field: "country", Operator: criteria.Eq, Value: json.RawMessage(`"CN"`)}}},
		{Name: "Everyone else → International, least loaded", Strategy: routing.StrategyLeastLoaded, TargetTeamID: intl.ID},
	} {
		if _, err := s.CreateAssignmentRule(ctx, sys, r); err != nil {
			return false, err
		}
	}
	if _, err := s.CaptureLeads(ctx, sys, leads); err != nil {
		return false, err
	}
	return true, nil
}

func ptr[T any](v T) *T { return &v }
