package leadcsv

import (
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Lead fields a column can feed, named as in GraphQL. A column may also feed a custom field
// ("custom.<key>") or nothing (Ignore).
const (
	FieldName             = "name"
	FieldFirstName        = "firstName" // joined with lastName into name when there is no name column
	FieldLastName         = "lastName"
	FieldTitle            = "title"
	FieldCompany          = "company"
	FieldEmail            = "email"
	FieldPhone            = "phone"
	FieldWebsite          = "website"
	FieldRegistrationCode = "registrationCode"
	FieldIndustry         = "industry"
	FieldCompanySize      = "companySize"
	FieldCountry          = "country"
	FieldRegion           = "region"
	FieldCity             = "city"
	FieldSource           = "source"
	FieldCampaign         = "campaign"
	FieldUTMSource        = "utmSource"
	FieldUTMMedium        = "utmMedium"
	FieldUTMCampaign      = "utmCampaign"
	FieldUTMTerm          = "utmTerm"
	FieldUTMContent       = "utmContent"
	// CustomPrefix starts the target of a column that feeds a custom field: "custom.budget".
	CustomPrefix = "custom."
	// Ignore maps a column to nothing.
	Ignore = ""
)

// Fields lists the lead fields a column can feed, in the order a UI should offer them.
var Fields = []string{FieldName, FieldFirstName, FieldLastName, FieldTitle, FieldCompany, FieldEmail, FieldPhone,
	FieldWebsite, FieldRegistrationCode, FieldIndustry, FieldCompanySize, FieldCountry, FieldRegion, FieldCity,
	FieldSource, FieldCampaign, FieldUTMSource, FieldUTMMedium, FieldUTMCampaign, FieldUTMTerm, FieldUTMContent}

// headerNames are the header names, in English and Chinese, recognised for each field, in the
// folded form of foldHeader (lower case, no spaces, underscores, hyphens or dots).
var headerNames = map[string][]string{
	FieldName:             {"name", "fullname", "contactname", "contact", "leadname", "姓名", "名字", "联系人", "客户姓名", "联系人姓名"},
	FieldFirstName:        {"firstname", "givenname", "forename", "名"},
	FieldLastName:         {"lastname", "surname", "familyname", "姓"},
	FieldTitle:            {"title", "jobtitle", "position", "职位", "职务", "头衔", "岗位"},
	FieldCompany:          {"company", "companyname", "organization", "organisation", "account", "accountname", "公司", "公司名称", "单位", "单位名称", "企业", "企业名称"},
	FieldEmail:            {"email", "emailaddress", "mail", "邮箱", "电子邮件", "电子邮箱", "邮件", "邮箱地址"},
	FieldPhone:            {"phone", "phonenumber", "mobile", "mobilephone", "mobilenumber", "tel", "telephone", "cell", "cellphone", "手机", "电话", "手机号", "手机号码", "联系电话", "电话号码", "联系方式"},
	FieldWebsite:          {"website", "web", "url", "site", "domain", "homepage", "网站", "网址", "官网", "公司网站"},
	FieldRegistrationCode: {"registrationcode", "uscc", "creditcode", "unifiedsocialcreditcode", "统一社会信用代码", "信用代码", "社会信用代码"},
	FieldIndustry:         {"industry", "sector", "行业", "所属行业"},
	FieldCompanySize:      {"companysize", "employees", "employeecount", "numberofemployees", "headcount", "size", "员工数", "公司规模", "员工人数", "企业规模", "人数"},
	FieldCountry:          {"country", "countrycode", "国家", "国家地区"},
	FieldRegion:           {"region", "province", "state", "省份", "地区", "省", "所在地区", "省市"},
	FieldCity:             {"city", "town", "城市", "所在城市", "市"},
	FieldSource:           {"source", "leadsource", "来源", "线索来源", "渠道"},
	FieldCampaign:         {"campaign", "活动", "市场活动", "活动名称"},
	FieldUTMSource:        {"utmsource"},
	FieldUTMMedium:        {"utmmedium"},
	FieldUTMCampaign:      {"utmcampaign"},
	FieldUTMTerm:          {"utmterm"},
	FieldUTMContent:       {"utmcontent"},
}

// fieldOfHeader is headerNames inverted.
var fieldOfHeader = func() map[string]string {
	m := map[string]string{}
	for f, names := range headerNames {
		for _, n := range names {
			m[n] = f
		}
	}
	return m
}()

// foldHeader reduces a header to the form headerNames lists: full-width folded to ASCII, lower
// case, without white space, underscores, hyphens, dots, colons and a trailing "(optional)" note.
func foldHeader(h string) string {
	var b strings.Builder
	for _, r := range h {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII
			r -= 0xFEE0
		}
		switch {
		case unicode.IsSpace(r), r == '_', r == '-', r == '.', r == ':', r == '：', r == '*', r == '\uFEFF':
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// SuggestMapping proposes, for each header, the field its name stands for: the English and Chinese
// names of headerNames, "custom.<key>" for custom fields, and utm_* for the campaign parameters.
// Headers it does not recognise, and a second column for a field already taken, map to Ignore.
func SuggestMapping(headers []string) map[string]string {
	m := make(map[string]string, len(headers))
	taken := map[string]bool{}
	for _, h := range headers {
		f := Ignore
		if key, ok := customKey(h); ok {
			f = CustomPrefix + key
		} else if known, ok := fieldOfHeader[foldHeader(h)]; ok {
			f = known
		}
		if f != Ignore && taken[f] {
			f = Ignore
		}
		if _, dup := m[h]; dup {
			continue // a repeated header keeps its first mapping
		}
		taken[f] = f != Ignore
		m[h] = f
	}
	return m
}

// customKey returns the key of a "custom.<key>" header.
func customKey(h string) (string, bool) {
	h = strings.TrimSpace(h)
	if len(h) <= len(CustomPrefix) || !strings.EqualFold(h[:len(CustomPrefix)], CustomPrefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(CustomPrefix):]), true
}

// Columns is a checked mapping: for each column position of the file, the field it feeds.
type Columns struct {
	Headers []string
	Targets []string // per column: a field, CustomPrefix+key or Ignore
}

// NewColumns checks a mapping (header -> field) against the file's headers: every mapped header
// must be in the file, every field known, no field fed twice, and at least one column must feed a
// name, an e-mail or a phone, without which no row could become a lead. A nil mapping means the
// suggestion of SuggestMapping. Headers the mapping leaves out are ignored.
func NewColumns(headers []string, mapping map[string]string) (Columns, error) {
	if mapping == nil {
		mapping = SuggestMapping(headers)
	}
	c := Columns{Headers: headers, Targets: make([]string, len(headers))}
	for h, f := range mapping {
		if f != Ignore && !slices.Contains(headers, h) {
			return c, crm.Invalid("mapping", "The mapping names the column %q, which the file does not have; its columns are %s.", h, quoteList(headers))
		}
		if f != Ignore && !knownField(f) {
			return c, crm.Invalid("mapping", "Column %q is mapped to %q, which is not a lead field; use one of %s, %q<key> or \"\" to skip it.", h, f, strings.Join(Fields, ", "), CustomPrefix)
		}
	}
	fed := map[string]string{}
	for i, h := range headers {
		f, ok := mapping[h]
		if !ok || f == Ignore || slices.Contains(headers[:i], h) {
			continue
		}
		if other, dup := fed[f]; dup {
			return c, crm.Invalid("mapping", "Columns %q and %q are both mapped to %s; map one of them to \"\" to skip it.", other, h, f)
		}
		fed[f] = h
		c.Targets[i] = f
	}
	if !slices.ContainsFunc(c.Targets, identifies) {
		return c, crm.Invalid("mapping", "No column holds a name, an e-mail or a phone number, so no row could become a lead; the file's columns are %s. Add such a column, or map one (e.g. {\"%s\": \"email\"}).", quoteList(headers), firstOr(headers, "邮箱"))
	}
	return c, nil
}

// identifies reports whether a field can identify a lead on its own.
func identifies(f string) bool {
	switch f {
	case FieldName, FieldFirstName, FieldLastName, FieldEmail, FieldPhone:
		return true
	}
	return false
}

func knownField(f string) bool {
	if key, ok := strings.CutPrefix(f, CustomPrefix); ok {
		return key != "" && len(key) <= 64 && !strings.ContainsFunc(key, unicode.IsControl)
	}
	return slices.Contains(Fields, f)
}

func quoteList(xs []string) string {
	const max = 20
	q := make([]string, 0, min(len(xs), max))
	for i, x := range xs {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(xs)-max))
			break
		}
		q = append(q, fmt.Sprintf("%q", x))
	}
	if len(q) == 0 {
		return "(none)"
	}
	return strings.Join(q, ", ")
}

func firstOr(xs []string, def string) string {
	if len(xs) > 0 && xs[0] != "" {
		return xs[0]
	}
	return def
}
