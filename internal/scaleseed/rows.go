package scaleseed

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// world is one organization being generated. Every entity is a pure function of (seed, k, tag,
// index): a row references another by recomputing it, so nothing but the contacts-per-account
// index is held in memory.
type world struct {
	seed, k    uint64
	org        crm.Organization
	admin      crm.ID
	adminEmail string
	users      []member // managers and reps, who own records
	pipes      [2]crm.Pipeline
	vol        Volumes
	anchor     time.Time

	contactAccount []int32   // account of each contact, -1 for none
	byAccount      [][]int32 // contacts of each account
}

type member struct{ user, team crm.ID }

// Tags keep the random streams and IDs of the tables apart.
const (
	tagPeople uint64 = iota + 1
	tagAccount
	tagContact
	tagContactAccount
	tagOpportunity
	tagHistory
	tagOppContact
	tagLead
	tagTouch
	tagEvent
	tagActivity
	tagTask
	tagNotification
)

const span = 3 * 365 * 24 * time.Hour // generated history before the anchor

// rand is the random stream of one row: its values depend only on the seed, the organization, the
// tag and the row.
func (w *world) rand(tag uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(w.seed^tag<<56^w.k<<44, uint64(i)))
}

// id is the ID of row i of a table. splitmix64 is a bijection, so IDs of one table and organization
// never collide; the second half only adds noise.
func (w *world) id(tag uint64, i int) crm.ID {
	h := splitmix(w.seed ^ tag<<58 ^ w.k<<46 ^ uint64(i))
	l := splitmix(h ^ 0x9e3779b97f4a7c15)
	var u crm.ID
	for b := range 8 {
		u[b] = byte(h >> (56 - 8*b))
		u[8+b] = byte(l >> (56 - 8*b))
	}
	return u
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// past is a moment in the three years before the anchor, more often recent (CRMs grow).
func (w *world) past(r *rand.Rand) time.Time {
	return w.anchor.Add(-time.Duration(math.Pow(r.Float64(), 1.6) * float64(span))).Truncate(time.Second)
}

// between is a moment in [from, to).
func between(r *rand.Rand, from, to time.Time) time.Time {
	if !to.After(from) {
		return from
	}
	return from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))).Truncate(time.Second)
}

// skew picks one of n with a heavy head: index x*n with x = u^3, so the first 1% of the records get
// about a fifth of the picks and half of them get none or one — the shape of real CRMs, where a few
// key accounts hold most contacts, deals and activities.
func skew(r *rand.Rand, n int) int { return min(n-1, int(float64(n)*math.Pow(r.Float64(), 3))) }

func opt[T comparable](v T) any {
	var zero T
	if v == zero {
		return nil
	}
	return v
}

func (w *world) owner(r *rand.Rand) member { return w.users[r.IntN(len(w.users))] }

// --- accounts

type account struct {
	id                                         crm.ID
	name, reg, domain, industry, country, city string
	rg                                         region
	cn                                         bool
	employees                                  int32
	owner                                      member
	created                                    time.Time
}

func (w *world) account(i int) account {
	r := w.rand(tagAccount, i)
	a := account{id: w.id(tagAccount, i), cn: r.IntN(10) < 7, industry: pick(r, industries)}
	if a.cn {
		a.rg = pick(r, cnRegions)
		word := r.IntN(len(cnCompanyWords))
		a.name = pick(r, a.rg.cities) + cnCompanyWords[word] + pick(r, cnTrades) + "有限公司"
		a.domain = cnCompanyPinyin[word] + strconv.Itoa(i) + ".cn"
		a.reg = uscc(a.rg.regCode, uint64(i))
	} else {
		a.rg = pick(r, intlRegions)
		word := pick(r, intlCompanyWords)
		a.name = word + " " + pick(r, a.rg.cities) + " " + pick(r, intlSuffixes)
		a.domain = strings.ToLower(word) + strconv.Itoa(i) + "." + tlds[a.rg.country]
	}
	a.country, a.city = a.rg.country, pick(r, a.rg.cities)
	// The head of the skew is the key accounts: make them big companies.
	size := math.Exp(3 + 2*r.Float64() + 5*math.Pow(1-float64(i)/float64(w.vol.Accounts), 12))
	a.employees = int32(size)
	if r.IntN(12) > 0 { // the rest wait in the shared pool
		a.owner = w.owner(r)
	}
	a.created = w.past(r)
	return a
}

func (w *world) accounts() table {
	return table{"accounts", []string{"org_id", "id", "name", "registration_code", "domain", "industry", "employees",
		"region", "country", "owner_id", "owner_since", "created_at", "updated_at"},
		stream(w.vol.Accounts, func(i int, out [][]any) [][]any {
			a := w.account(i)
			var since any
			if a.owner.user != crm.NilID {
				since = a.created
			}
			return append(out, []any{w.org.ID, a.id, a.name, opt(a.reg), a.domain, a.industry, a.employees,
				a.rg.name, a.country, opt(a.owner.user), since, a.created, a.created})
		})}
}

// --- contacts

func (w *world) indexContacts() {
	w.contactAccount = make([]int32, w.vol.Contacts)
	w.byAccount = make([][]int32, w.vol.Accounts)
	for j := range w.vol.Contacts {
		r := w.rand(tagContactAccount, j)
		a := int32(-1)
		if r.IntN(20) > 0 {
			a = int32(skew(r, w.vol.Accounts))
			w.byAccount[a] = append(w.byAccount[a], int32(j))
		}
		w.contactAccount[j] = a
	}
}

type person struct{ first, last, name, local string }

func personName(r *rand.Rand, cn bool) person {
	if cn {
		sn, gn := pick(r, surnames), pick(r, givenNames)
		return person{gn.han, sn.han, sn.han + gn.han, gn.pinyin + "." + sn.pinyin}
	}
	f, l := pick(r, westernFirst), pick(r, westernLast)
	return person{f, l, f + " " + l, asciiLocal(f) + "." + asciiLocal(l)}
}

// asciiLocal lower-cases a western name and drops what an e-mail local part would not hold.
func asciiLocal(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z':
			b.WriteRune(c)
		case c == 'ü':
			b.WriteString("ue")
		case c == 'é' || c == 'è':
			b.WriteByte('e')
		case c == 'í':
			b.WriteByte('i')
		case c == 'ã':
			b.WriteByte('a')
		}
	}
	return b.String()
}

type contact struct {
	id      crm.ID
	account int
	owner   member
	created time.Time
}

func (w *world) contact(j int) (contact, []any) {
	r := w.rand(tagContact, j)
	c := contact{id: w.id(tagContact, j), account: int(w.contactAccount[j])}
	cn, domain, rg := r.IntN(10) < 8, pick(r, freeMail), pick(r, cnRegions)
	c.created = w.past(r)
	var accountID any
	if c.account >= 0 {
		a := w.account(c.account)
		accountID, domain, rg, c.owner = a.id, a.domain, a.rg, a.owner
		cn = a.cn == (r.IntN(10) > 0)
		c.created = between(r, a.created, w.anchor)
	}
	p := personName(r, cn)
	title := pick(r, titlesEN)
	if cn {
		title = pick(r, titlesCN)
	}
	emails := []string{p.local + "@" + domain}
	if r.IntN(4) == 0 {
		emails = append(emails, p.local+strconv.Itoa(j)+"@"+pick(r, freeMail))
	}
	phones := []string{}
	if r.IntN(10) < 7 {
		phones = append(phones, phone(rg, uint64(j)))
	}
	consent := []string{"unknown", "granted", "granted", "withdrawn"}
	return c, []any{w.org.ID, c.id, p.first, p.last, p.name, title, emails, phones, accountID, opt(c.owner.user),
		pick(r, consent), pick(r, consent), pick(r, consent), c.created, c.created}
}

func (w *world) contacts() table {
	return table{"contacts", []string{"org_id", "id", "first_name", "last_name", "name", "title", "emails", "phones",
		"account_id", "owner_id", "email_consent", "sms_consent", "phone_consent", "created_at", "updated_at"},
		stream(w.vol.Contacts, func(j int, out [][]any) [][]any {
			_, row := w.contact(j)
			return append(out, row)
		})}
}

// --- opportunities

type step struct {
	stage crm.Stage
	at    time.Time
}

type opportunity struct {
	id          crm.ID
	account     account
	accountIdx  int
	pipe        *crm.Pipeline
	path        []step
	amount      int64 // 0: not set
	currency    string
	created     time.Time
	closed      *time.Time
	closeDate   *time.Time
	lossReason  string
	competitor  string
	name        string
	source      string
	campaign    string
	checklist   []string
	nextStep    string
	ownerMember member
}

var currencies = map[string]string{"CN": "CNY", "US": "USD", "GB": "GBP", "DE": "EUR", "FR": "EUR", "JP": "JPY",
	"SG": "SGD", "IN": "INR", "AU": "AUD", "KR": "KRW", "BR": "BRL", "AE": "AED"}

func (w *world) opportunity(o int) opportunity {
	r := w.rand(tagOpportunity, o)
	ai := skew(r, w.vol.Accounts)
	a := w.account(ai)
	op := opportunity{id: w.id(tagOpportunity, o), account: a, accountIdx: ai, pipe: &w.pipes[0],
		currency: currencies[a.country], ownerMember: a.owner}
	if op.ownerMember.user == crm.NilID {
		op.ownerMember = w.owner(r)
	}
	if r.IntN(5) == 0 {
		op.pipe = &w.pipes[1]
	}
	var open []crm.Stage
	var won, lost crm.Stage
	for _, st := range op.pipe.Stages {
		switch {
		case !st.Closed:
			open = append(open, st)
		case st.Won:
			won = st
		default:
			lost = st
		}
	}
	op.created = between(r, a.created, w.anchor)
	age := w.anchor.Sub(op.created)
	var stages []crm.Stage
	switch {
	case age > 90*24*time.Hour && r.IntN(10) < 8 && r.IntN(5) < 2:
		stages = append(append(stages, open...), won)
	case age > 90*24*time.Hour && r.IntN(10) < 8:
		stages = append(append(stages, open[:1+r.IntN(len(open))]...), lost)
		op.lossReason, op.competitor = pick(r, lossReasons), pick(r, competitors)
	default:
		stages = append(stages, open[:1+r.IntN(len(open))]...)
	}
	window := min(w.anchor.Sub(op.created), 240*24*time.Hour)
	at := op.created
	for k, st := range stages {
		if k > 0 {
			at = at.Add(time.Duration(float64(window) / float64(len(stages)) * (0.2 + 0.8*r.Float64()))).Truncate(time.Second)
		}
		op.path = append(op.path, step{st, at})
	}
	last := op.path[len(op.path)-1]
	if last.stage.Closed {
		op.closed = &last.at
		d := last.at.Truncate(24 * time.Hour)
		op.closeDate = &d
	} else if r.IntN(10) > 0 {
		d := w.anchor.Add(time.Duration(7+r.IntN(180)) * 24 * time.Hour).Truncate(24 * time.Hour)
		op.closeDate = &d
	}
	if r.IntN(20) > 0 || len(op.path) > 2 {
		amount := math.Exp(10.5 + 1.1*r.NormFloat64())
		if ai < max(1, w.vol.Accounts/100) {
			amount *= 5
		}
		if op.currency == "JPY" || op.currency == "KRW" {
			amount *= 100
		}
		op.amount = max(100, int64(amount)/100*100)
	}
	if len(op.path) > 2 {
		op.checklist = []string{"Pain point confirmed"}
	}
	product := pick(r, dealProducts)
	if a.cn {
		op.name = strings.TrimSuffix(a.name, "有限公司") + " " + product
	} else {
		op.name = strings.SplitN(a.name, " ", 2)[0] + " " + product
	}
	op.source, op.campaign = pick(r, sources), pick(r, campaigns)
	if op.closed == nil && r.IntN(2) == 0 {
		op.nextStep = pick(r, taskTitles)
	}
	return op
}

func (w *world) opportunities() table {
	return table{"opportunities", []string{"org_id", "id", "name", "account_id", "owner_id", "team_id", "pipeline_id",
		"stage_id", "amount", "currency", "close_date", "probability", "forecast_category", "source", "campaign",
		"next_step", "loss_reason", "competitor", "checklist", "stage_entered_at", "closed_at", "created_at", "updated_at"},
		stream(w.vol.Opportunities, func(o int, out [][]any) [][]any {
			op := w.opportunity(o)
			last := op.path[len(op.path)-1]
			var closed, closeDate any
			if op.closed != nil {
				closed = *op.closed
			}
			if op.closeDate != nil {
				closeDate = *op.closeDate
			}
			checklist := op.checklist
			if checklist == nil {
				checklist = []string{}
			}
			return append(out, []any{w.org.ID, op.id, op.name, op.account.id, op.ownerMember.user, op.ownerMember.team,
				op.pipe.ID, last.stage.ID, opt(op.amount), op.currency, closeDate, last.stage.Probability,
				string(last.stage.ForecastCategory), op.source, op.campaign, op.nextStep, op.lossReason, op.competitor,
				checklist, last.at, closed, op.created, last.at})
		})}
}

func (w *world) stageHistory() table {
	return table{"stage_history", []string{"org_id", "id", "opportunity_id", "from_stage_id", "to_stage_id",
		"actor_kind", "actor_id", "changed_at", "amount", "currency", "probability", "forecast_category"},
		stream(w.vol.Opportunities, func(o int, out [][]any) [][]any {
			op := w.opportunity(o)
			var from any
			for k, s := range op.path {
				out = append(out, []any{w.org.ID, w.id(tagHistory, o*16+k), op.id, from, s.stage.ID, "user",
					op.ownerMember.user, s.at, opt(op.amount), op.currency, s.stage.Probability, string(s.stage.ForecastCategory)})
				from = s.stage.ID
			}
			return out
		})}
}

var roleSets = [][]string{{"decision_maker", "economic_buyer"}, {"champion"}, {"influencer"}, {"user"}, {}, {"economic_buyer"}}

func (w *world) opportunityContacts() table {
	return table{"opportunity_contacts", []string{"org_id", "opportunity_id", "contact_id", "roles", "is_primary"},
		stream(w.vol.Opportunities, func(o int, out [][]any) [][]any {
			op := w.opportunity(o)
			cs := w.byAccount[op.accountIdx]
			if len(cs) == 0 {
				return out
			}
			r := w.rand(tagOppContact, o)
			n, first := min(len(cs), 1+r.IntN(3)), r.IntN(len(cs))
			for k := range n {
				j := int(cs[(first+k)%len(cs)])
				out = append(out, []any{w.org.ID, op.id, w.id(tagContact, j), pick(r, roleSets), k == 0})
			}
			return out
		})}
}

// --- leads

type lead struct {
	id               crm.ID
	created, updated time.Time
	touches          []time.Time
	source           string
	campaign         string
	utm              string
	owner            member
	row              []any
}

var statuses = []string{"new", "new", "working", "working", "working", "nurturing", "qualified", "disqualified", "disqualified", "converted"}
var disqualifyReasons = []string{"No budget", "Not the decision maker", "Duplicate", "Student / job seeker", "竞争对手", "联系方式无效"}

func (w *world) lead(i int) lead {
	r := w.rand(tagLead, i)
	l := lead{id: w.id(tagLead, i), created: w.past(r)}
	cn := r.IntN(10) < 8
	rg := pick(r, intlRegions)
	if cn {
		rg = pick(r, cnRegions)
	}
	p := personName(r, cn)
	title := pick(r, titlesEN)
	company := pick(r, intlCompanyWords) + " " + pick(r, intlSuffixes)
	word := r.IntN(len(cnCompanyWords))
	domain := cnCompanyPinyin[word] + "-" + strconv.Itoa(i%997) + "." + tlds[rg.country]
	if cn {
		title = pick(r, titlesCN)
		company = pick(r, rg.cities) + cnCompanyWords[word] + pick(r, cnTrades) + "有限公司"
	}
	var email, tel, website, reg any
	if r.IntN(100) < 85 {
		mail := domain
		if r.IntN(10) < 6 {
			mail = pick(r, freeMail)
		}
		email = p.local + strconv.Itoa(i) + "@" + mail
	}
	if r.IntN(100) < 70 {
		tel = phone(rg, uint64(i))
	}
	website = ""
	if r.IntN(2) == 0 {
		website = "https://www." + domain
	}
	reg = ""
	if cn && r.IntN(10) < 3 {
		reg = uscc(rg.regCode, uint64(i)+1<<40)
	}
	size := int32(math.Exp(2 + 5*r.Float64()))
	l.source, l.campaign = pick(r, sources), pick(r, campaigns)
	l.utm = "{}"
	if l.source == "web_form" || l.source == "social" || l.source == "email" {
		l.utm = `{"source":` + strconv.Quote(pick(r, utmSources)) + `,"medium":` + strconv.Quote(pick(r, utmMedia)) +
			`,"campaign":` + strconv.Quote(l.campaign) + `}`
	}
	// Touches: the first is the creation; returning people come back over the following months.
	l.touches = []time.Time{l.created}
	for r.IntN(10) < 3 && len(l.touches) < 8 {
		l.touches = append(l.touches, between(r, l.touches[len(l.touches)-1], earlier(w.anchor, l.created.Add(200*24*time.Hour))))
	}
	last := l.touches[len(l.touches)-1]
	status := pick(r, statuses)
	if r.IntN(100) < 85 || status != "new" {
		l.owner = w.owner(r)
	}
	var assigned, contacted, qualified, nurtured, converted, contactID, accountID any
	sla, reason := "none", ""
	l.updated = last
	if l.owner.user != crm.NilID {
		assigned = l.created.Add(time.Duration(1+r.IntN(30)) * time.Minute)
	}
	if status != "new" && l.owner.user != crm.NilID {
		c := l.created.Add(time.Duration(10+r.IntN(72*60)) * time.Minute)
		contacted, sla = c, "met"
		if c.Sub(l.created) > 24*time.Hour {
			sla = "late"
		}
		l.updated = later(l.updated, c)
	}
	fit, engagement := int32(r.IntN(50)), int32(r.IntN(60))
	switch status {
	case "nurturing":
		nurtured = l.created.Add(time.Duration(2+r.IntN(30)) * 24 * time.Hour)
	case "qualified":
		qualified = l.created.Add(time.Duration(1+r.IntN(20)) * 24 * time.Hour)
		fit += 20
	case "disqualified":
		reason = pick(r, disqualifyReasons)
	case "converted":
		q := l.created.Add(time.Duration(1+r.IntN(20)) * 24 * time.Hour)
		qualified, converted = q, q.Add(time.Duration(1+r.IntN(48))*time.Hour)
		fit += 20
		if w.vol.Contacts > 0 {
			j := r.IntN(w.vol.Contacts)
			contactID = w.id(tagContact, j)
			if a := w.contactAccount[j]; a >= 0 {
				accountID = w.id(tagAccount, int(a))
			}
		}
	}
	for _, t := range []any{nurtured, qualified, converted} {
		if t, ok := t.(time.Time); ok {
			l.updated = later(l.updated, t)
		}
	}
	if l.updated.After(w.anchor) {
		l.updated = w.anchor
	}
	total := fit + engagement
	grade := "C"
	switch {
	case total >= 70:
		grade = "A"
	case total >= 40:
		grade = "B"
	}
	l.row = []any{w.org.ID, l.id, status, reason, p.name, title, company, email, tel, website, reg,
		pick(r, industries), size, rg.country, rg.name, pick(r, rg.cities), l.source, l.campaign, l.utm,
		opt(l.owner.user), opt(l.owner.team), assigned, total, fit, engagement, grade, qualified, nurtured, sla,
		contacted, int32(len(l.touches)), l.created, last, converted, contactID, accountID, l.created, l.updated}
	return l
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (w *world) leads() table {
	return table{"leads", []string{"org_id", "id", "status", "status_reason", "name", "title", "company", "email",
		"phone", "website", "registration_code", "industry", "company_size", "country", "region", "city", "source",
		"campaign", "utm", "owner_id", "team_id", "assigned_at", "score_total", "score_fit", "score_engagement",
		"grade", "qualified_at", "nurtured_at", "sla_state", "contacted_at", "touch_count", "first_touch_at",
		"last_touch_at", "converted_at", "contact_id", "account_id", "created_at", "updated_at"},
		stream(w.vol.Leads, func(i int, out [][]any) [][]any { return append(out, w.lead(i).row) })}
}

func (w *world) leadTouches() table {
	return table{"lead_touches", []string{"org_id", "id", "lead_id", "source", "campaign", "utm", "received_at"},
		stream(w.vol.Leads, func(i int, out [][]any) [][]any {
			l := w.lead(i)
			r := w.rand(tagTouch, i)
			for k, at := range l.touches {
				source, campaign, utm := l.source, l.campaign, l.utm
				if k > 0 {
					source, campaign, utm = pick(r, sources), pick(r, campaigns), "{}"
				}
				out = append(out, []any{w.org.ID, w.id(tagTouch, i*8+k), l.id, source, campaign, utm, at})
			}
			return out
		})}
}

var eventTypes = []string{"page_visit", "page_visit", "page_visit", "page_visit", "email_open", "email_open",
	"email_click", "download", "webinar", "form_submit"}

func (w *world) leadEvents() table {
	per := max(1, 2*w.vol.EventsPerLead-1)
	return table{"lead_events", []string{"org_id", "id", "lead_id", "type", "url", "occurred_at", "idempotency_key", "created_at"},
		stream(w.vol.Leads, func(i int, out [][]any) [][]any {
			r := w.rand(tagEvent, i)
			// The lead's own stream is not needed: its creation time is its first draw.
			created := w.past(w.rand(tagLead, i))
			end := earlier(w.anchor, created.Add(180*24*time.Hour))
			lid := w.id(tagLead, i)
			n := 1 + r.IntN(per)
			for e := range n {
				at := between(r, created, end)
				out = append(out, []any{w.org.ID, w.id(tagEvent, i*per+e), lid, pick(r, eventTypes), pick(r, eventURLs),
					at, "scale-" + strconv.Itoa(i) + "-" + strconv.Itoa(e), at})
			}
			return out
		})}
}

// --- activities, tasks, notifications

var activityTypes = []string{"call", "call", "email", "email", "meeting", "note"}

func (w *world) activities() table {
	return table{"activities", []string{"org_id", "id", "type", "subject", "direction", "duration_seconds", "outcome",
		"occurred_at", "record_type", "record_id", "owner_id", "created_at", "updated_at"},
		stream(w.vol.Activities, func(x int, out [][]any) [][]any {
			r := w.rand(tagActivity, x)
			var kind string
			var id crm.ID
			var from, to time.Time
			var owner member
			to = w.anchor
			switch n := r.IntN(100); {
			case n < 40:
				op := w.opportunity(int(float64(w.vol.Opportunities) * math.Pow(r.Float64(), 1.5)))
				kind, id, from, owner = "Opportunity", op.id, op.created, op.ownerMember
				if op.closed != nil {
					to = *op.closed
				}
			case n < 65:
				a := w.account(skew(r, w.vol.Accounts))
				kind, id, from, owner = "Account", a.id, a.created, a.owner
			case n < 85:
				c, _ := w.contact(r.IntN(w.vol.Contacts))
				kind, id, from, owner = "Contact", c.id, c.created, c.owner
			default:
				l := w.lead(r.IntN(w.vol.Leads))
				kind, id, from, owner = "Lead", l.id, l.created, l.owner
			}
			if owner.user == crm.NilID {
				owner = w.owner(r)
			}
			typ := pick(r, activityTypes)
			at := between(r, from, to)
			var direction, duration any
			switch typ {
			case "call":
				direction, duration = pick(r, []string{"inbound", "outbound", "outbound"}), int32(30+r.IntN(1800))
			case "email":
				direction = pick(r, []string{"inbound", "outbound"})
			case "meeting":
				duration = int32(1800 + 900*r.IntN(8))
			}
			return append(out, []any{w.org.ID, w.id(tagActivity, x), typ, pick(r, activitySubjects[typ]), direction,
				duration, pick(r, outcomes), at, kind, id, owner.user, at, at})
		})}
}

var priorities = []string{"low", "normal", "normal", "normal", "high", "urgent"}
var taskKinds = []string{"manual", "manual", "manual", "follow_up", "first_contact"}

func (w *world) tasks() table {
	return table{"tasks", []string{"org_id", "id", "title", "kind", "owner_id", "due_at", "priority", "status",
		"record_type", "record_id", "completed_at", "created_at", "updated_at"},
		stream(w.vol.Tasks, func(x int, out [][]any) [][]any {
			r := w.rand(tagTask, x)
			owner := w.owner(r)
			created := w.past(r)
			due := created.Add(time.Duration(1+r.IntN(14*24)) * time.Hour)
			var recordType, recordID any
			switch r.IntN(10) {
			case 0, 1, 2, 3:
				recordType, recordID = "Opportunity", w.id(tagOpportunity, r.IntN(w.vol.Opportunities))
			case 4, 5:
				recordType, recordID = "Account", w.id(tagAccount, skew(r, w.vol.Accounts))
			case 6, 7:
				recordType, recordID = "Lead", w.id(tagLead, r.IntN(w.vol.Leads))
			}
			status, updated := "open", created
			var completed any
			if due.Before(w.anchor.Add(-7 * 24 * time.Hour)) {
				switch n := r.IntN(20); {
				case n < 17:
					status = "done"
					c := between(r, created, due.Add(48*time.Hour))
					completed, updated = c, c
				case n < 19:
					status = "cancelled"
					updated = between(r, created, due)
				}
			}
			return append(out, []any{w.org.ID, w.id(tagTask, x), pick(r, taskTitles), pick(r, taskKinds), owner.user,
				due, pick(r, priorities), status, recordType, recordID, completed, created, updated})
		})}
}

func (w *world) notifications() table {
	return table{"notifications", []string{"org_id", "id", "user_id", "kind", "title", "body", "record_type",
		"record_id", "created_at", "read_at"},
		stream(w.vol.Notifications, func(x int, out [][]any) [][]any {
			r := w.rand(tagNotification, x)
			user := w.owner(r).user
			created := w.past(r)
			var kind, title, recordType string
			var id crm.ID
			switch r.IntN(4) {
			case 0:
				kind, title, recordType, id = service.KindLeadAssigned, "New lead assigned to you", "Lead", w.id(tagLead, r.IntN(w.vol.Leads))
			case 1:
				kind, title, recordType, id = service.KindDealStale, "A deal has gone stale", "Opportunity", w.id(tagOpportunity, r.IntN(w.vol.Opportunities))
			case 2:
				kind, title, recordType, id = service.KindLeadSLABreached, "A lead waits past its first-contact deadline", "Lead", w.id(tagLead, r.IntN(w.vol.Leads))
			default:
				kind, title, recordType, id = service.KindAccountPooled, "An account went back to the pool", "Account", w.id(tagAccount, r.IntN(w.vol.Accounts))
			}
			var read any
			if r.IntN(10) < 7 {
				read = between(r, created, w.anchor)
			}
			return append(out, []any{w.org.ID, w.id(tagNotification, x), user, kind, title, "", recordType, id, created, read})
		})}
}

// --- streaming

// table is one COPY: the table, its columns and the rows, generated as COPY asks for them.
type table struct {
	name    string
	columns []string
	rows    pgx.CopyFromSource
}

// tables lists the COPYs in foreign-key order.
func (w *world) tables() []table {
	return []table{w.accounts(), w.contacts(), w.opportunities(), w.opportunityContacts(), w.stageHistory(),
		w.leads(), w.leadTouches(), w.leadEvents(), w.activities(), w.tasks(), w.notifications()}
}

// stream feeds COPY from emit, which appends the rows of entity i (zero or more) to out.
func stream(n int, emit func(i int, out [][]any) [][]any) pgx.CopyFromSource {
	var buf [][]any
	i := 0
	return pgx.CopyFromFunc(func() ([]any, error) {
		for len(buf) == 0 {
			if i >= n {
				return nil, nil
			}
			buf = emit(i, buf[:0])
			i++
		}
		row := buf[0]
		buf = buf[1:]
		return row, nil
	})
}
