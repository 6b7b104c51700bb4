// Package scaleseed fills organizations with a large, realistic and reproducible CRM data set:
// accounts, contacts, leads with touches and behaviour events, deals in two pipelines with their
// stage history, activities, tasks and notifications. It exists to measure Rapport at the size of
// a real customer.
//
// The organizations, their users, teams and pipelines are created through the service, so they are
// exactly what the application would create. Everything else is generated row by row and streamed
// into PostgreSQL with COPY, which is one to two orders of magnitude faster than the service's
// one-record transactions, and writes no events. Every generated value is a function of the seed,
// the organization's number, the table and the row's number; the dates hang off Options.Anchor, not
// the clock, so the same options give the same rows.
package scaleseed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// DefaultAnchor is the "now" of generated data when Options.Anchor is zero: every date falls in the
// three years before it, or shortly after it for open deals' close dates and open tasks' due dates.
var DefaultAnchor = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options say how much to generate and where.
type Options struct {
	// Scale multiplies the volumes of one unit (Unit); fractions are allowed (0.01 for tests).
	Scale float64
	// Seed makes the data reproducible and names the organizations scale-<seed>-<k>.
	Seed uint64
	// Orgs spreads the total over this many organizations (default 1).
	Orgs int
	// Anchor is the generated data's "now" (default DefaultAnchor).
	Anchor time.Time
	// Progress receives one line per loaded table and a total; nil discards them.
	Progress io.Writer
}

// Volumes counts the rows of each generated table.
type Volumes struct {
	Users, Accounts, Contacts, Leads, EventsPerLead, Opportunities, Activities, Tasks, Notifications int
}

// Unit is the volume of scale 1: what issue 5 asks for.
var Unit = Volumes{Users: 20, Accounts: 20_000, Contacts: 60_000, Leads: 100_000, EventsPerLead: 10,
	Opportunities: 30_000, Activities: 300_000, Tasks: 30_000, Notifications: 20_000}

// Org is one generated organization and the admin who can sign in to look at it.
type Org struct {
	Organization crm.Organization
	AdminID      crm.ID
	AdminEmail   string
}

// Table is what was loaded into one table of one organization.
type Table struct {
	Org  string
	Name string
	Rows int64
	Took time.Duration
}

// Result reports what Run did.
type Result struct {
	Orgs   []Org
	Tables []Table
	Took   time.Duration
}

// Run creates Options.Orgs organizations and fills them. The pool must connect as a role that is a
// superuser or has BYPASSRLS: row-level security is forced on every tenant table, and PostgreSQL
// refuses COPY FROM into a table whose policies apply to the current role. It fails, before writing
// anything, if an organization of the same seed already exists.
func Run(ctx context.Context, svc *service.Service, pool *pgxpool.Pool, opts Options) (Result, error) {
	start := time.Now()
	if opts.Scale <= 0 || math.IsNaN(opts.Scale) || opts.Scale > 1000 {
		return Result{}, errors.New("scaleseed: the scale is a number above 0 and at most 1000")
	}
	if opts.Orgs <= 0 {
		opts.Orgs = 1
	}
	if opts.Anchor.IsZero() {
		opts.Anchor = DefaultAnchor
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if err := checkRole(ctx, pool); err != nil {
		return Result{}, err
	}
	for k := range opts.Orgs {
		if err := checkFree(ctx, pool, slug(opts.Seed, k)); err != nil {
			return Result{}, err
		}
	}
	vol := perOrg(opts.Scale, opts.Orgs)
	var res Result
	for k := range opts.Orgs {
		w, err := setUp(ctx, svc, opts, k, vol)
		if err != nil {
			return res, err
		}
		res.Orgs = append(res.Orgs, Org{Organization: w.org, AdminID: w.admin, AdminEmail: w.adminEmail})
		tables, err := w.load(ctx, pool, opts.Progress)
		res.Tables = append(res.Tables, tables...)
		if err != nil {
			return res, err
		}
	}
	t := time.Now()
	if err := vacuumAnalyze(ctx, pool); err != nil {
		return res, fmt.Errorf("vacuum: %w", err)
	}
	fmt.Fprintf(opts.Progress, "%-22s %10s %8.1fs\n", "VACUUM (ANALYZE)", "", time.Since(t).Seconds())
	res.Took = time.Since(start)
	var rows int64
	for _, tb := range res.Tables {
		rows += tb.Rows
	}
	fmt.Fprintf(opts.Progress, "%-22s %10d %8.1fs\n", "total", rows, res.Took.Seconds())
	return res, nil
}

func slug(seed uint64, k int) string { return fmt.Sprintf("scale-%d-%d", seed, k) }

// perOrg divides the volumes of scale over orgs organizations, keeping at least one of each.
func perOrg(scale float64, orgs int) Volumes {
	n := func(unit int) int { return max(1, int(math.Round(float64(unit)*scale/float64(orgs)))) }
	return Volumes{Users: max(5, n(Unit.Users)), Accounts: n(Unit.Accounts), Contacts: n(Unit.Contacts),
		Leads: n(Unit.Leads), EventsPerLead: Unit.EventsPerLead, Opportunities: n(Unit.Opportunities),
		Activities: n(Unit.Activities), Tasks: n(Unit.Tasks), Notifications: n(Unit.Notifications)}
}

func checkRole(ctx context.Context, pool *pgxpool.Pool) error {
	var ok bool
	var role string
	err := pool.QueryRow(ctx, "SELECT current_user, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&role, &ok)
	if err != nil {
		return fmt.Errorf("scaleseed: check the database role: %w", err)
	}
	if !ok {
		return fmt.Errorf("scaleseed: role %s can not COPY into tables with forced row-level security: connect as a superuser or a role with BYPASSRLS", role)
	}
	return nil
}

func checkFree(ctx context.Context, pool *pgxpool.Pool, s string) error {
	return db.AsSystem(ctx, pool, func(tx pgx.Tx) error {
		_, err := query.New(tx).GetOrganizationBySlug(ctx, s)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err == nil {
			return crm.Errorf(crm.ECONFLICT, "Organization %s exists already: choose another --seed.", s)
		}
		return err
	})
}

// setUp creates organization k with its people and pipelines through the service.
func setUp(ctx context.Context, svc *service.Service, opts Options, k int, vol Volumes) (*world, error) {
	s := slug(opts.Seed, k)
	org, err := svc.CreateOrganization(ctx, s, fmt.Sprintf("规模测试 Scale %d/%d", opts.Seed, k), crm.Settings{})
	if err != nil {
		return nil, fmt.Errorf("create organization %s: %w", s, err)
	}
	w := &world{seed: opts.Seed, k: uint64(k), org: org, vol: vol, anchor: opts.Anchor.UTC()}
	sys := crm.SystemActor(org.ID)
	user := func(local, name string, role crm.Role, team crm.ID) (crm.User, error) {
		return svc.CreateUser(ctx, sys, service.UserInput{Email: local + "@" + s + ".test", Name: name, Role: role,
			TeamID: team, Password: service.DemoPassword})
	}
	w.adminEmail = "admin@" + s + ".test"
	admin, err := user("admin", "管理员 Admin", crm.RoleAdmin, crm.NilID)
	if err != nil {
		return nil, fmt.Errorf("create users: %w", err)
	}
	w.admin = admin.ID
	r := w.rand(tagPeople, 0)
	teams := max(1, vol.Users/5)
	for t := range teams {
		name := func() string {
			sn, gn := pick(r, surnames), pick(r, givenNames)
			return sn.han + gn.han
		}
		mgr, err := user(fmt.Sprintf("manager%d", t+1), name(), crm.RoleSalesManager, crm.NilID)
		if err != nil {
			return nil, fmt.Errorf("create users: %w", err)
		}
		team, err := svc.CreateTeam(ctx, sys, service.TeamInput{Name: teamNames[t%len(teamNames)] + teamSuffix(t), ManagerID: mgr.ID})
		if err != nil {
			return nil, fmt.Errorf("create teams: %w", err)
		}
		if _, err := svc.UpdateUser(ctx, sys, service.UserUpdate{ID: mgr.ID, TeamID: service.Some(team.ID)}); err != nil {
			return nil, fmt.Errorf("create teams: %w", err)
		}
		w.users = append(w.users, member{mgr.ID, team.ID})
		for i := range 4 {
			local := fmt.Sprintf("rep%d-%d", t+1, i+1)
			n := name()
			if r.IntN(5) == 0 {
				n = pick(r, westernFirst) + " " + pick(r, westernLast)
			}
			rep, err := user(local, n, crm.RoleSalesRep, team.ID)
			if err != nil {
				return nil, fmt.Errorf("create users: %w", err)
			}
			w.users = append(w.users, member{rep.ID, team.ID})
		}
	}
	ps, err := svc.ListPipelines(ctx, sys)
	if err != nil || len(ps) == 0 {
		return nil, fmt.Errorf("read the default pipeline: %w", err)
	}
	renewals, err := svc.CreatePipeline(ctx, sys, service.PipelineInput{Name: "Renewals 续约", Stages: []crm.Stage{
		{Name: "Renewal due", Probability: 30, ForecastCategory: crm.CategoryPipeline},
		{Name: "Quote sent", Probability: 60, ForecastCategory: crm.CategoryBestCase},
		{Name: "Verbal commit", Probability: 90, ForecastCategory: crm.CategoryCommit},
		{Name: "Renewed", Probability: 100, ForecastCategory: crm.CategoryClosedWon, Closed: true, Won: true},
		{Name: "Churned", Probability: 0, ForecastCategory: crm.CategoryOmitted, Closed: true},
	}})
	if err != nil {
		return nil, fmt.Errorf("create the renewals pipeline: %w", err)
	}
	w.pipes = [2]crm.Pipeline{ps[0], renewals}
	for _, p := range ps {
		if p.IsDefault {
			w.pipes[0] = p
		}
	}
	// Deals are in their account's currency: rates into CNY (the organizations' currency), valid since before
	// the first deal, so that forecasts over the data convert every deal.
	since := crm.DateOf(w.anchor.AddDate(-4, 0, 0))
	for cur, rate := range ratesToCNY {
		if _, err := svc.SetExchangeRate(ctx, sys, service.ExchangeRate{FromCurrency: cur, ToCurrency: "CNY",
			ValidFrom: since, Rate: decimal.RequireFromString(rate)}); err != nil {
			return nil, fmt.Errorf("set exchange rates: %w", err)
		}
	}
	return w, nil
}

// ratesToCNY are plausible rates of the data's other currencies into CNY.
var ratesToCNY = map[string]string{"USD": "7.1", "GBP": "9.0", "EUR": "7.7", "JPY": "0.047", "SGD": "5.4",
	"INR": "0.084", "AUD": "4.6", "KRW": "0.0051", "BRL": "1.3", "AED": "1.93"}

var teamNames = []string{"华东销售部", "华南销售部", "华北销售部", "International Sales", "大客户部", "渠道部", "西南销售部", "SMB Team"}

func teamSuffix(t int) string {
	if t < len(teamNames) {
		return ""
	}
	return fmt.Sprintf(" %d", t/len(teamNames)+1)
}

// load streams every table of the organization, then fills the columns derived across tables.
func (w *world) load(ctx context.Context, pool *pgxpool.Pool, progress io.Writer) ([]Table, error) {
	w.indexContacts()
	var out []Table
	for _, t := range w.tables() {
		start := time.Now()
		n, err := copyTable(ctx, pool, t)
		if err != nil {
			return out, fmt.Errorf("load %s: %w", t.name, err)
		}
		tb := Table{Org: w.org.Slug, Name: t.name, Rows: n, Took: time.Since(start)}
		out = append(out, tb)
		fmt.Fprintf(progress, "%-22s %10d %8.1fs  %s\n", tb.Name, tb.Rows, tb.Took.Seconds(), tb.Org)
	}
	start := time.Now()
	if err := w.derive(ctx, pool); err != nil {
		return out, fmt.Errorf("derived columns: %w", err)
	}
	fmt.Fprintf(progress, "%-22s %10s %8.1fs  %s\n", "last_activity_at", "", time.Since(start).Seconds(), w.org.Slug)
	return out, nil
}

// copyTable runs one COPY in its own transaction, without the pool's statement timeout and without
// waiting for the WAL flush at commit (a lost tail after a crash is simply seeded again).
func copyTable(ctx context.Context, pool *pgxpool.Pool, t table) (int64, error) {
	var n int64
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0; SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
		var err error
		n, err = tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.columns, t.rows)
		return err
	})
	return n, err
}

// derive sets the last-activity clocks of deals and accounts from the loaded activities: an
// account's is the latest activity on it, its contacts or its deals.
func (w *world) derive(ctx context.Context, pool *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
UPDATE opportunities o SET last_activity_at = a.last
FROM (SELECT record_id, max(occurred_at) AS last FROM activities
      WHERE org_id = $1 AND record_type = 'Opportunity' GROUP BY record_id) a
WHERE o.org_id = $1 AND o.id = a.record_id`, w.org.ID)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `
UPDATE accounts ac SET last_activity_at = x.last
FROM (SELECT account_id, max(last) AS last FROM (
        SELECT a.record_id AS account_id, a.occurred_at AS last FROM activities a
        WHERE a.org_id = $1 AND a.record_type = 'Account'
        UNION ALL
        SELECT c.account_id, a.occurred_at FROM activities a JOIN contacts c ON c.org_id = a.org_id AND c.id = a.record_id
        WHERE a.org_id = $1 AND a.record_type = 'Contact' AND c.account_id IS NOT NULL
        UNION ALL
        SELECT o.account_id, o.last_activity_at FROM opportunities o
        WHERE o.org_id = $1 AND o.last_activity_at IS NOT NULL) u
      GROUP BY account_id) x
WHERE ac.org_id = $1 AND ac.id = x.account_id`, w.org.ID)
		return err
	})
}

// vacuumAnalyze vacuums and analyzes the database, as one should after a bulk load.
// Analyzing gives the planner statistics. Vacuuming sets the rows' hint bits and the visibility
// map now: otherwise autovacuum vacuums every freshly loaded table (its insert threshold), and the
// first reads set the hint bits and write the pages back, both while the first benchmark runs. At
// scale 1 on a busy machine this takes longer than the pool's statement timeout, which is for
// requests, so the connection lifts it for this statement.
func vacuumAnalyze(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET statement_timeout = 0"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "VACUUM (ANALYZE)") // every table: the loaded ones and those their triggers fill
	if _, rerr := conn.Exec(ctx, "RESET statement_timeout"); rerr != nil && err == nil {
		err = rerr
	}
	return err
}
