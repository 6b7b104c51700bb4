package service

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/leads"
)

// MaxCaptureBatch is the most leads one captureLeads call may carry.
const MaxCaptureBatch = 500

// LeadInput is one arrival of a person: a form submission, an API call, an import row.
type LeadInput struct {
	Name             string
	Title            string
	Company          string
	Email            string
	Phone            string // any common format; stored in E.164 using the organization's default region
	Website          string
	RegistrationCode string
	Industry         string
	CompanySize      *int32
	Country          string
	Region           string
	City             string
	Source           crm.LeadSource // empty: API
	Campaign         string
	UTM              crm.UTM
	Custom           json.RawMessage
	VisitorID        string          // an anonymous visitor id whose behaviour becomes the lead's
	Payload          json.RawMessage // the raw submission, kept for audit; empty: the input itself
	FormID           crm.ID
	ImportID         crm.ID
	Spam             bool // caught by a honeypot: stored apart, never merged, scored or routed
	AllowPartial     bool // keep the lead when its e-mail or phone is invalid, dropping the field
	IdempotencyKey   string

	touchID crm.ID // the touch's ID, fixed in advance when an idempotency key names it
}

// CaptureOutcome says what a capture did.
type CaptureOutcome string

// Capture outcomes.
const (
	CaptureCreated CaptureOutcome = "created" // a new lead
	CaptureTouched CaptureOutcome = "touched" // the person was already a lead: a new touch on it
	CaptureContact CaptureOutcome = "contact" // the person is already a contact: a new touch on the contact
	CaptureSpam    CaptureOutcome = "spam"    // stored apart as spam
)

// CaptureResult is the outcome of one capture: the lead it created or touched (zero when the touch
// went to a contact that has no lead), the contact when the person is one, and the fields dropped as
// invalid.
type CaptureResult struct {
	Lead      crm.Lead
	ContactID crm.ID
	Outcome   CaptureOutcome
	Warnings  []*crm.Error
	Replayed  bool
}

// CaptureItem is one item of a batch capture: its result, or why it was refused.
type CaptureItem struct {
	Result CaptureResult
	Err    error
}

// CaptureLead captures one lead (leads:write). A person already known by e-mail or phone gets a new
// touch instead of a second lead, and the result says so. With an idempotency key a retry returns
// the first result. Concurrent captures of one actor share a transaction (captureGrouped).
func (s *Service) CaptureLead(ctx context.Context, a *crm.Actor, in LeadInput) (res CaptureResult, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return res, err
	}
	if in.IdempotencyKey == "" {
		return s.captureGrouped(ctx, a, in)
	}
	err = s.write(ctx, a, func(w *writer) error {
		id, again, err := w.idempotent(in.IdempotencyKey, "captureLead", in, s.cfg.IdempotencyTTL, func(id crm.ID) error {
			in.touchID = id
			items, err := w.captureLeads([]LeadInput{in})
			if err != nil {
				return err
			}
			res = items[0].Result
			return items[0].Err
		})
		if err != nil || !again {
			return err
		}
		res, err = w.replayCapture(id)
		return err
	})
	return res, err
}

// replayCapture rebuilds the result of a capture from its touch.
func (w *writer) replayCapture(touchID crm.ID) (CaptureResult, error) {
	t, err := w.q.GetTouch(w.ctx, query.GetTouchParams{OrgID: w.actor.OrgID, ID: touchID})
	if err != nil {
		return CaptureResult{}, err
	}
	res := CaptureResult{Replayed: true, ContactID: idOf(t.ContactID), Outcome: CaptureContact}
	if t.LeadID != nil {
		if res.Lead, err = w.lead(*t.LeadID); err != nil {
			return res, err
		}
		res.Outcome = CaptureTouched
		switch {
		case res.Lead.Spam:
			res.Outcome = CaptureSpam
		case res.Lead.ConvertedAt != nil:
			res.Outcome = CaptureContact
		case res.Lead.FirstTouchAt.Equal(t.ReceivedAt):
			res.Outcome = CaptureCreated
		}
	}
	return res, nil
}

// CaptureLeads captures up to MaxCaptureBatch leads in one transaction (leads:write). Each item gets
// its own result or error: bad items do not stop good ones.
func (s *Service) CaptureLeads(ctx context.Context, a *crm.Actor, ins []LeadInput) ([]CaptureItem, error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return nil, err
	}
	if len(ins) > MaxCaptureBatch {
		return nil, crm.Invalid("leads", "At most %d leads per call; split the batch.", MaxCaptureBatch)
	}
	return s.captureTx(ctx, a, ins)
}

// captureTx captures ins in a transaction of their own.
func (s *Service) captureTx(ctx context.Context, a *crm.Actor, ins []LeadInput) (items []CaptureItem, err error) {
	err = s.write(ctx, a, func(w *writer) error {
		items, err = w.captureLeads(ins)
		return err
	})
	return items, err
}

// captureLeads captures a batch in the writer's transaction with a constant number of statements:
// normalize each item, look up the known people by e-mail and phone at once (locking their leads, so
// concurrent captures of one person queue), then insert the new leads, count the touches, record
// every touch, append the events and enqueue one scoring job.
func (w *writer) captureLeads(ins []LeadInput) ([]CaptureItem, error) {
	st, err := w.settings()
	if err != nil {
		return nil, err
	}
	items := make([]CaptureItem, len(ins))
	cands := make([]crm.Lead, len(ins))
	var emails, phones []string
	for i := range ins {
		in := &ins[i]
		l, warnings, err := leadOf(in, st.DefaultPhoneRegion)
		if err != nil {
			items[i].Err = err
			continue
		}
		cands[i], items[i].Result.Warnings = l, warnings
		if !in.Spam {
			emails, phones = appendNonEmpty(emails, l.Email), appendNonEmpty(phones, l.Phone)
		}
	}
	c := capture{w: w, byEmail: map[string]*crm.Lead{}, byPhone: map[string]*crm.Lead{}, created: map[crm.ID]bool{}}
	if err := c.lookup(emails, phones); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		fresh := c.plan(ins, cands, items)
		lost, err := c.insert(fresh, cands, items)
		if err != nil {
			return nil, err
		}
		if len(lost) == 0 {
			break
		}
		if attempt == 2 {
			return nil, crm.Errorf(crm.ECONFLICT, "Concurrent captures of the same people kept colliding; retry.")
		}
		// A concurrent capture created these people since the lookup: look them up again and retry
		// those items as touches.
		emails, phones = emails[:0], phones[:0]
		for _, i := range lost {
			emails, phones = appendNonEmpty(emails, cands[i].Email), appendNonEmpty(phones, cands[i].Phone)
			items[i].Result = CaptureResult{Warnings: items[i].Result.Warnings}
		}
		if err := c.lookup(emails, phones); err != nil {
			return nil, err
		}
	}
	if err := c.touch(ins, cands, items); err != nil {
		return nil, err
	}
	return items, c.finish(ins, items)
}

// leadOf turns an input into a normalized lead (not yet stored).
func leadOf(in *LeadInput, region string) (crm.Lead, []*crm.Error, error) {
	if in.Source == "" {
		in.Source = crm.SourceAPI // a capture that names no channel came through the API
	}
	l := crm.Lead{Name: in.Name, Title: in.Title, Company: in.Company, Email: in.Email, Phone: in.Phone,
		Website: in.Website, RegistrationCode: in.RegistrationCode, Industry: in.Industry, CompanySize: in.CompanySize,
		Country: in.Country, Region: in.Region, City: in.City, Source: in.Source, Campaign: in.Campaign, UTM: in.UTM,
		Spam: in.Spam, Status: crm.LeadNew, Grade: "C", SLAState: crm.SLANone, TouchCount: 1, Version: 1}
	warnings, err := leads.Normalize(&l, region, in.AllowPartial)
	if err != nil {
		return l, warnings, err
	}
	if l.Custom, err = normalizeCustom(in.Custom); err != nil {
		return l, warnings, err
	}
	if len(in.Payload) > 0 && !json.Valid(in.Payload) {
		return l, warnings, crm.Invalid("payload", "The raw payload is not valid JSON.")
	}
	if len(in.VisitorID) > 255 {
		return l, warnings, crm.Invalid("visitorId", "A visitor id is at most 255 characters.")
	}
	return l, warnings, nil
}

func appendNonEmpty(list []string, s string) []string {
	if s == "" {
		return list
	}
	return append(list, s)
}

// capture is the state of one batch capture.
type capture struct {
	w        *writer
	byEmail  map[string]*crm.Lead // known live leads, and this batch's new ones
	byPhone  map[string]*crm.Lead
	contacts []query.ContactsByChannelRow
	created  map[crm.ID]bool // leads created by the batch
	touched  map[crm.ID]*touchAgg
	order    []crm.ID // touched leads in first-touch order
}

// touchAgg sums the later touches of one lead within a batch.
type touchAgg struct {
	n    int32
	lead crm.Lead // the fields the touches bring (only blanks of the lead are filled)
}

// lookup loads the live leads and contacts that share an e-mail or phone with the batch.
func (c *capture) lookup(emails, phones []string) error {
	if len(emails) == 0 && len(phones) == 0 {
		return nil
	}
	w := c.w
	rows, err := w.q.LeadsByChannel(w.ctx, query.LeadsByChannelParams{OrgID: w.actor.OrgID, Emails: emails, Phones: phones})
	if err != nil {
		return err
	}
	for _, r := range rows {
		l := leadFromRow(r)
		c.index(&l)
	}
	cs, err := w.q.ContactsByChannel(w.ctx, query.ContactsByChannelParams{OrgID: w.actor.OrgID, Emails: emails, Phones: phones})
	c.contacts = append(c.contacts, cs...)
	return err
}

func (c *capture) index(l *crm.Lead) {
	if l.Email != "" {
		if _, ok := c.byEmail[l.Email]; !ok {
			c.byEmail[l.Email] = l
		}
	}
	if l.Phone != "" {
		if _, ok := c.byPhone[l.Phone]; !ok {
			c.byPhone[l.Phone] = l
		}
	}
}

// known finds the lead of a person by e-mail first, then phone.
func (c *capture) known(l *crm.Lead) *crm.Lead {
	if k := c.byEmail[l.Email]; l.Email != "" && k != nil {
		return k
	}
	if k := c.byPhone[l.Phone]; l.Phone != "" && k != nil {
		return k
	}
	return nil
}

// contactOf finds a contact with the person's e-mail or phone.
func (c *capture) contactOf(l *crm.Lead) crm.ID {
	for _, ct := range c.contacts {
		for _, e := range ct.Emails {
			if l.Email != "" && e == l.Email {
				return ct.ID
			}
		}
		for _, p := range ct.Phones {
			if l.Phone != "" && p == l.Phone {
				return ct.ID
			}
		}
	}
	return crm.NilID
}

// plan decides each pending item's outcome; it returns the items that create a lead.
func (c *capture) plan(ins []LeadInput, cands []crm.Lead, items []CaptureItem) (fresh []int) {
	for i := range ins {
		if items[i].Err != nil || items[i].Result.Outcome != "" {
			continue
		}
		l := &cands[i]
		switch k := c.known(l); {
		case ins[i].Spam:
			items[i].Result.Outcome = CaptureSpam
			fresh = append(fresh, i)
		case k != nil:
			items[i].Result.Outcome = CaptureTouched
			if k.ConvertedAt != nil {
				items[i].Result.Outcome, items[i].Result.ContactID = CaptureContact, k.ContactID
			}
			items[i].Result.Lead = *k // refreshed after the update
			c.addTouch(k.ID, l)
		default:
			if id := c.contactOf(l); id != crm.NilID {
				items[i].Result.Outcome, items[i].Result.ContactID = CaptureContact, id
				continue
			}
			items[i].Result.Outcome = CaptureCreated
			l.ID = crm.NewID()
			c.index(l)
			fresh = append(fresh, i)
		}
	}
	return fresh
}

func (c *capture) addTouch(id crm.ID, l *crm.Lead) {
	if c.touched == nil {
		c.touched = map[crm.ID]*touchAgg{}
	}
	t := c.touched[id]
	if t == nil {
		t = &touchAgg{lead: *l}
		c.touched[id] = t
		c.order = append(c.order, id)
	} else {
		fillBlanks(&t.lead, l)
	}
	t.n++
}

// fillBlanks copies into dst the descriptive fields it lacks.
func fillBlanks(dst *crm.Lead, src *crm.Lead) {
	for _, f := range [][2]*string{{&dst.Title, &src.Title}, {&dst.Company, &src.Company}, {&dst.Website, &src.Website},
		{&dst.RegistrationCode, &src.RegistrationCode}, {&dst.Industry, &src.Industry}, {&dst.Country, &src.Country},
		{&dst.Region, &src.Region}, {&dst.City, &src.City}} {
		fillBlank(f[0], *f[1])
	}
	if dst.CompanySize == nil {
		dst.CompanySize = src.CompanySize
	}
}

// insert stores the new leads of the plan in one statement. It returns the items whose lead lost a
// race with a concurrent capture of the same person (nothing was stored for them).
func (c *capture) insert(fresh []int, cands []crm.Lead, items []CaptureItem) (lost []int, err error) {
	if len(fresh) == 0 {
		return nil, nil
	}
	w := c.w
	n := len(fresh)
	p := query.InsertLeadsParams{OrgID: w.actor.OrgID, Now: w.now, Ids: make([]crm.ID, n), Names: make([]string, n),
		Titles: make([]string, n), Companies: make([]string, n), Emails: make([]string, n), Phones: make([]string, n),
		Websites: make([]string, n), Regs: make([]string, n), Industries: make([]string, n), Sizes: make([]int32, n),
		Countries: make([]string, n), Regions: make([]string, n), Cities: make([]string, n), Sources: make([]string, n),
		Campaigns: make([]string, n), Utms: make([]string, n), Spams: make([]bool, n), Customs: make([]string, n),
		Ats: make([]time.Time, n)}
	for j, i := range fresh {
		l := &cands[i]
		if l.ID == crm.NilID {
			l.ID = crm.NewID()
		}
		size := int32(-1)
		if l.CompanySize != nil {
			size = *l.CompanySize
		}
		p.Ids[j], p.Names[j], p.Titles[j], p.Companies[j], p.Emails[j], p.Phones[j] = l.ID, l.Name, l.Title, l.Company, l.Email, l.Phone
		p.Websites[j], p.Regs[j], p.Industries[j], p.Sizes[j], p.Countries[j] = l.Website, l.RegistrationCode, l.Industry, size, l.Country
		p.Regions[j], p.Cities[j], p.Sources[j], p.Campaigns[j] = l.Region, l.City, string(l.Source), l.Campaign
		p.Utms[j], p.Spams[j], p.Customs[j], p.Ats[j] = string(utmJSON(l.UTM)), l.Spam, string(l.Custom), w.now
	}
	rows, err := w.insertLeads(p)
	if err != nil {
		return nil, err
	}
	w.leadsAdded += len(rows)
	stored := make(map[crm.ID]query.Lead, len(rows))
	for _, r := range rows {
		stored[r.ID] = r
	}
	for _, i := range fresh {
		r, ok := stored[cands[i].ID]
		if !ok {
			lost = append(lost, i)
			continue
		}
		cands[i] = leadFromRow(r)
		items[i].Result.Lead = cands[i]
		c.created[r.ID] = true
	}
	if len(lost) > 0 {
		c.forget(lost, cands, items)
	}
	return lost, nil
}

// plainInsertMin is the least number of new leads for which insertLeads tries a plain INSERT in a
// savepoint first: below it, the savepoint's two round trips cost more than ON CONFLICT does.
const plainInsertMin = 100

// insertLeads runs InsertLeads. For a large batch it first tries the same rows without ON CONFLICT
// (PostgreSQL then skips a probe of every unique index and a speculative insertion per row) in a
// savepoint; a unique violation, which means a concurrent capture stored one of these people
// since the lookup, rolls the savepoint back and inserts again skipping the conflicts.
func (w *writer) insertLeads(p query.InsertLeadsParams) ([]query.Lead, error) {
	if len(p.Ids) < plainInsertMin {
		return w.q.InsertLeads(w.ctx, p)
	}
	sp, err := w.tx.Begin(w.ctx)
	if err != nil {
		return nil, err
	}
	rows, err := query.New(sp).InsertNewLeads(w.ctx, query.InsertNewLeadsParams(p))
	if err == nil {
		return rows, sp.Commit(w.ctx)
	}
	if rbErr := sp.Rollback(w.ctx); rbErr != nil {
		return nil, errors.Join(err, rbErr)
	}
	if !isUniqueViolation(err) {
		return nil, err
	}
	return w.q.InsertLeads(w.ctx, p)
}

// forget drops the leads that lost a race, and the touches planned onto them, so that their items
// are planned again against what the concurrent capture stored.
func (c *capture) forget(lost []int, cands []crm.Lead, items []CaptureItem) {
	gone := map[crm.ID]bool{}
	for _, i := range lost {
		gone[cands[i].ID] = true
	}
	for k, v := range c.byEmail {
		if gone[v.ID] {
			delete(c.byEmail, k)
		}
	}
	for k, v := range c.byPhone {
		if gone[v.ID] {
			delete(c.byPhone, k)
		}
	}
	for i := range items {
		if id := items[i].Result.Lead.ID; gone[id] && items[i].Result.Outcome == CaptureTouched {
			items[i].Result = CaptureResult{Warnings: items[i].Result.Warnings}
			delete(c.touched, id)
		}
	}
	c.order = slices.DeleteFunc(c.order, func(id crm.ID) bool { return gone[id] })
}

// touch counts the later touches of known leads (filling fields they lack) and records every touch
// of the batch with its raw payload.
func (c *capture) touch(ins []LeadInput, cands []crm.Lead, items []CaptureItem) error {
	w := c.w
	if n := len(c.order); n > 0 {
		p := query.TouchLeadsParams{OrgID: w.actor.OrgID, Now: w.now, Ids: c.order, Ns: make([]int32, n),
			Ats: make([]time.Time, n), Titles: make([]string, n), Companies: make([]string, n), Websites: make([]string, n),
			Regs: make([]string, n), Industries: make([]string, n), Sizes: make([]int32, n), Countries: make([]string, n),
			Regions: make([]string, n), Cities: make([]string, n)}
		for j, id := range c.order {
			t := c.touched[id]
			l := &t.lead
			size := int32(-1)
			if l.CompanySize != nil {
				size = *l.CompanySize
			}
			p.Ns[j], p.Ats[j], p.Titles[j], p.Companies[j], p.Websites[j] = t.n, w.now, l.Title, l.Company, l.Website
			p.Regs[j], p.Industries[j], p.Sizes[j], p.Countries[j] = l.RegistrationCode, l.Industry, size, l.Country
			p.Regions[j], p.Cities[j] = l.Region, l.City
		}
		rows, err := w.q.TouchLeads(w.ctx, p)
		if err != nil {
			return err
		}
		after := make(map[crm.ID]crm.Lead, len(rows))
		for _, r := range rows {
			after[r.ID] = leadFromRow(r)
		}
		for i := range items {
			if l, ok := after[items[i].Result.Lead.ID]; ok && items[i].Err == nil {
				items[i].Result.Lead = l
			}
		}
	}
	var p query.InsertTouchesParams
	p.OrgID = w.actor.OrgID
	for i := range items {
		if items[i].Err != nil {
			continue
		}
		in, r := &ins[i], &items[i].Result
		id := in.touchID
		if id == crm.NilID {
			id = crm.NewID()
		}
		payload := in.Payload
		if len(payload) == 0 {
			payload = leadInputJSON(in)
		}
		p.Ids = append(p.Ids, id)
		p.LeadIds = append(p.LeadIds, r.Lead.ID)
		p.ContactIds = append(p.ContactIds, r.ContactID)
		p.Sources = append(p.Sources, string(cands[i].Source))
		p.Campaigns = append(p.Campaigns, cands[i].Campaign)
		p.Utms = append(p.Utms, string(utmJSON(cands[i].UTM)))
		p.FormIds = append(p.FormIds, in.FormID)
		p.ImportIds = append(p.ImportIds, in.ImportID)
		p.Payloads = append(p.Payloads, string(payload))
		p.Ats = append(p.Ats, w.now)
	}
	if len(p.Ids) == 0 {
		return nil
	}
	return w.q.InsertTouches(w.ctx, p)
}

// finish appends the events of the batch (one per created or touched lead, with the lead as it is
// now), gives leads the behaviour of the anonymous visitors they were captured with, and enqueues
// one scoring job for the leads whose score may have changed.
func (c *capture) finish(ins []LeadInput, items []CaptureItem) error {
	w := c.w
	seen := map[crm.ID]bool{}
	var score []crm.ID
	for i := range items {
		r := &items[i].Result
		l := &r.Lead
		if items[i].Err != nil || l.ID == crm.NilID || seen[l.ID] {
			continue
		}
		seen[l.ID] = true
		switch {
		case l.Spam:
			w.emitLead("lead.spam_captured", *l, nil)
			continue
		case c.created[l.ID]:
			w.emitLead("lead.created", *l, nil) // the snapshot is the whole new lead
		default:
			w.emitLead("lead.touched", *l, []crm.FieldChange{{Field: "touchCount", After: mustJSON(l.TouchCount)}})
		}
		if l.ConvertedAt == nil {
			score = append(score, l.ID)
		}
	}
	for i := range items {
		if v := ins[i].VisitorID; v != "" && items[i].Err == nil && items[i].Result.Lead.ID != crm.NilID && !ins[i].Spam {
			if err := w.linkVisitors(items[i].Result.Lead.ID, []string{v}); err != nil {
				return err
			}
		}
	}
	if len(score) == 0 {
		return nil
	}
	return w.scoreLater(score...)
}
