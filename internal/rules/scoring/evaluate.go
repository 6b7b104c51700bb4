package scoring

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
)

// Event is one behaviour event of a lead, as scoring sees it.
type Event struct {
	ID         crm.ID
	Type       EventType
	URL        string
	OccurredAt time.Time
}

// Award is one entry of a lead's score ledger: which rule (and version) gave how many points for
// which event (none for fit), why, when, and until when they count.
type Award struct {
	RuleID      crm.ID
	RuleVersion int32
	RuleName    string
	EventID     crm.ID // NilID for attribute (fit) awards
	Part        Part
	Points      int32
	Reason      string    // e.g. "Visited https://x/pricing on 2026-11-02: +15 (Visited the pricing page)"
	AwardedAt   time.Time // the event's time; for fit, when the lead first matched the rule (see Carry)
	ExpiresAt   time.Time // zero: never (fit, or no decay window)
}

// Counts reports whether the award still counts at now.
func (a Award) Counts(now time.Time) bool { return a.ExpiresAt.IsZero() || a.ExpiresAt.After(now) }

// Set is a compiled rule set: evaluating it compiles nothing, so one Set scores any number of leads.
type Set struct {
	attrs []compiled
	behav []compiled
}

type compiled struct {
	Rule
	pred    criteria.Predicate
	pattern string // lower case
	label   string // " (<name>)"
	reason  string // of an attribute rule, the same for every lead
}

// Compile compiles the active, live rules of rules for evaluation. Rules that do not validate are
// left out and reported in skipped (stored rules were validated on save, so this only happens for
// rules written before a validation rule tightened).
func Compile(rules []Rule) (set *Set, skipped []error) {
	set = &Set{}
	for _, r := range rules {
		if !r.Active || r.DeletedAt != nil {
			continue
		}
		if err := Validate(r); err != nil {
			skipped = append(skipped, err)
			continue
		}
		c := compiled{Rule: r, label: " (" + r.Name + ")"}
		if r.Kind == Attribute {
			c.pred, _ = r.Criterion.Compile() // Validate compiled it already
			c.reason = "Matches " + r.String() + ": " + signed(r.Points) + c.label
			set.attrs = append(set.attrs, c)
		} else {
			c.pattern = strings.ToLower(r.URLPattern)
			set.behav = append(set.behav, c)
		}
	}
	// Rule order decides award order; by ID, so that the ledger does not depend on load order.
	byID := func(a, b compiled) int { return bytes.Compare(a.ID[:], b.ID[:]) }
	slices.SortFunc(set.attrs, byID)
	slices.SortFunc(set.behav, byID)
	return set, skipped
}

// Evaluate compiles rules and evaluates them on one lead; see Set.Evaluate.
func Evaluate(rules []Rule, lead *crm.Lead, events []Event, now time.Time, s crm.LeadSettings) []Award {
	set, _ := Compile(rules)
	return set.Evaluate(lead, events, now, s)
}

// Evaluate returns every award the rules give lead for its attributes and its events, expired ones
// included (Award.Counts tells them apart), in a deterministic order: fit awards by rule, then
// engagement awards by event time, event ID and rule. Behaviour points expire DecayDays after their
// event (never when DecayDays <= 0). A capped rule awards at most CapPoints within any CapDays days
// (a window ending at each event), the last award partially if it reaches the cap. Dates in reasons
// are written in now's location. events may be in any order; Evaluate does not modify it.
func (s *Set) Evaluate(lead *crm.Lead, events []Event, now time.Time, st crm.LeadSettings) []Award {
	var out []Award
	if n := len(s.attrs) + len(events); n > 0 {
		out = make([]Award, 0, min(n, len(s.attrs)+len(events)*len(s.behav)))
	}
	for i := range s.attrs {
		r := &s.attrs[i]
		if !r.pred(lead) {
			continue
		}
		out = append(out, Award{RuleID: r.ID, RuleVersion: r.Version, RuleName: r.Name, Part: Fit, Points: r.Points,
			Reason: r.reason, AwardedAt: now})
	}
	if len(s.behav) == 0 || len(events) == 0 {
		return out
	}
	if !slices.IsSortedFunc(events, compareEvents) {
		events = slices.Clone(events)
		slices.SortFunc(events, compareEvents)
	}
	loc := now.Location()
	var decay time.Duration
	if st.DecayDays > 0 {
		decay = time.Duration(st.DecayDays) * 24 * time.Hour
	}
	// Capped rules remember the awards they gave, to sum their window.
	var windows [][]capEntry
	for i := range s.behav {
		if s.behav[i].CapPoints != nil {
			windows = make([][]capEntry, len(s.behav))
			break
		}
	}
	for _, e := range events {
		var lowerURL string
		lowered := false
		for i := range s.behav {
			r := &s.behav[i]
			if r.EventType != e.Type {
				continue
			}
			if r.pattern != "" {
				if !lowered {
					lowerURL, lowered = strings.ToLower(e.URL), true
				}
				if !Glob(r.pattern, lowerURL) {
					continue
				}
			}
			points, capped := r.Points, false
			if r.CapPoints != nil && points > 0 {
				from := e.OccurredAt.Add(-time.Duration(*r.CapDays) * 24 * time.Hour)
				w := windows[i]
				for len(w) > 0 && !w[0].at.After(from) {
					w = w[1:]
				}
				used := int32(0)
				for _, x := range w {
					used += x.points
				}
				if room := *r.CapPoints - used; room < points {
					points, capped = max(room, 0), true
				}
				if points > 0 {
					w = append(w, capEntry{e.OccurredAt, points})
				}
				windows[i] = w
				if points == 0 {
					continue
				}
			}
			a := Award{RuleID: r.ID, RuleVersion: r.Version, RuleName: r.Name, EventID: e.ID, Part: Engagement,
				Points: points, AwardedAt: e.OccurredAt, Reason: behaviourReason(r, e, points, capped, loc)}
			if decay > 0 {
				a.ExpiresAt = e.OccurredAt.Add(decay)
			}
			out = append(out, a)
		}
	}
	return out
}

type capEntry struct {
	at     time.Time
	points int32
}

func compareEvents(a, b Event) int {
	if c := a.OccurredAt.Compare(b.OccurredAt); c != 0 {
		return c
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

var verbs = map[EventType][2]string{ // with a URL, without one
	PageVisit:  {"Visited ", "Visited a page"},
	Download:   {"Downloaded ", "Downloaded a file"},
	Webinar:    {"Attended webinar ", "Attended a webinar"},
	EmailOpen:  {"Opened e-mail ", "Opened an e-mail"},
	EmailClick: {"Clicked ", "Clicked a link in an e-mail"},
	FormSubmit: {"Submitted form ", "Submitted a form"},
}

func behaviourReason(r *compiled, e Event, points int32, capped bool, loc *time.Location) string {
	var b strings.Builder
	b.Grow(64 + len(e.URL) + len(r.Name))
	v := verbs[e.Type]
	if e.URL != "" {
		b.WriteString(v[0])
		b.WriteString(e.URL)
	} else {
		b.WriteString(v[1])
	}
	b.WriteString(" on ")
	var date [10]byte
	b.Write(e.OccurredAt.In(loc).AppendFormat(date[:0], time.DateOnly))
	b.WriteString(": ")
	b.WriteString(signed(points))
	if capped {
		b.WriteString(" of ")
		b.WriteString(signed(r.Points))
	}
	if capped {
		b.WriteString(" (" + r.Name + "; capped at " + strconv.Itoa(int(*r.CapPoints)) + " per " +
			strconv.Itoa(int(*r.CapDays)) + " days)")
	} else {
		b.WriteString(r.label)
	}
	return b.String()
}

func signed(n int32) string {
	if n >= 0 {
		return "+" + strconv.Itoa(int(n))
	}
	return strconv.Itoa(int(n))
}

// Glob reports whether s matches pattern in full, where * matches any run of bytes (including /
// and none) and every other byte matches itself. Callers lower-case both for a case-insensitive match.
func Glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Carry makes a new ledger continue the previous one of the same lead: a fit award that the same
// rule version gave before keeps its award time (so the ledger says since when the lead matches).
// same reports whether next equals prev, order aside, so that an unchanged ledger is not rewritten:
// scoring a lead twice gives the same ledger. Each (rule, event) pair occurs at most once in a ledger.
func Carry(next, prev []Award) (out []Award, same bool) {
	same = len(next) == len(prev)
	for i := range next {
		n := &next[i]
		j := slices.IndexFunc(prev, func(p Award) bool { return p.RuleID == n.RuleID && p.EventID == n.EventID })
		if j < 0 {
			same = false
			continue
		}
		p := &prev[j]
		if n.Part == Fit && p.Part == Fit && p.RuleVersion == n.RuleVersion && p.Points == n.Points {
			n.AwardedAt = p.AwardedAt
		}
		if p.RuleVersion != n.RuleVersion || p.Points != n.Points || p.Part != n.Part || p.Reason != n.Reason ||
			!p.AwardedAt.Equal(n.AwardedAt) || !p.ExpiresAt.Equal(n.ExpiresAt) {
			same = false
		}
	}
	return next, same
}

// Score is a lead's score at one moment.
type Score struct {
	Total      int32
	Fit        int32
	Engagement int32
	Grade      string // A, B or C
}

// Tally adds up the awards that still count at now and grades the total.
func Tally(awards []Award, now time.Time, s crm.LeadSettings) Score {
	var sc Score
	for _, a := range awards {
		if !a.Counts(now) {
			continue
		}
		if a.Part == Fit {
			sc.Fit += a.Points
		} else {
			sc.Engagement += a.Points
		}
	}
	sc.Total = sc.Fit + sc.Engagement
	sc.Grade = Grade(sc.Total, s)
	return sc
}

// Counted returns the awards that still count at now, in their order, reusing awards' storage.
func Counted(awards []Award, now time.Time) []Award {
	return slices.DeleteFunc(awards, func(a Award) bool { return !a.Counts(now) })
}

// Grade returns A for a total at or above GradeA, B at or above GradeB, C below.
func Grade(total int32, s crm.LeadSettings) string {
	switch {
	case total >= s.GradeA:
		return "A"
	case total >= s.GradeB:
		return "B"
	}
	return "C"
}

// Band is where a total stands against the organization's thresholds.
type Band int

// Bands, lowest first.
const (
	Marketing Band = iota // below NurtureAt: stays with marketing
	Nurture               // NurtureAt up to QualifyAt-1: the nurture track
	Qualified             // QualifyAt and above: sales-qualified
)

// BandOf returns the band of total.
func BandOf(total int32, s crm.LeadSettings) Band {
	switch {
	case total >= s.QualifyAt:
		return Qualified
	case total >= s.NurtureAt:
		return Nurture
	}
	return Marketing
}

// Decision is what a new score does to a lead's lifecycle.
type Decision struct {
	Status  crm.LeadStatus // the status after scoring (the current one when unchanged)
	Qualify bool           // crossed into SQL: set qualified_at, emit lead.qualified, route the lead
	Enrol   bool           // entered the nurture track: record the enrolment, emit lead.nurture_enrolled
	Leave   bool           // left the nurture track (qualified, or demoted below it)
}

// Decide applies the thresholds to a lead whose total moved from before to after. enrolled says
// whether the lead is in the nurture track now.
//
//   - Only leads that marketing still holds (new, working, nurturing) move up: crossing up into
//     QualifyAt qualifies the lead (and takes it out of the nurture track); a total in the nurture band
//     enrols a lead not yet enrolled, and a new or working lead becomes nurturing.
//   - Dropping below a threshold it had reached lowers the status only with DemoteOnDrop: a qualified
//     lead goes back to nurturing (enrolled again) or, below NurtureAt, to working; a nurturing lead
//     below NurtureAt goes to working and leaves the track. A status somebody set by hand on a lead
//     whose score never reached the threshold is left alone.
func Decide(status crm.LeadStatus, before, after int32, enrolled bool, s crm.LeadSettings) Decision {
	d := Decision{Status: status}
	marketing := status == crm.LeadNew || status == crm.LeadWorking || status == crm.LeadNurturing
	was, now := BandOf(before, s), BandOf(after, s)
	switch {
	case marketing && now == Qualified && was != Qualified:
		d.Status, d.Qualify, d.Leave = crm.LeadQualified, true, enrolled
	case marketing && now == Nurture:
		if !enrolled {
			d.Enrol = true
		}
		if status != crm.LeadNurturing {
			d.Status = crm.LeadNurturing
		}
	case !s.DemoteOnDrop || now >= was:
	case status == crm.LeadQualified && was == Qualified:
		if now == Nurture {
			d.Status, d.Enrol = crm.LeadNurturing, !enrolled
		} else {
			d.Status, d.Leave = crm.LeadWorking, enrolled
		}
	case status == crm.LeadNurturing && was >= Nurture && now == Marketing:
		d.Status, d.Leave = crm.LeadWorking, enrolled
	}
	return d
}

// Histogram counts lead totals in buckets of Width points, by grade and by band, for simulations.
type Histogram struct {
	Width     int32
	Leads     int
	Grades    map[string]int // A, B, C
	Qualified int            // at or above QualifyAt
	Nurture   int            // in the nurture band
	counts    map[int32]int
}

// Bucket is one bar of a histogram: totals From..To inclusive.
type Bucket struct {
	From, To int32
	Count    int
}

// NewHistogram returns an empty histogram with buckets of width points (10 when width <= 0).
func NewHistogram(width int32) *Histogram {
	if width <= 0 {
		width = 10
	}
	return &Histogram{Width: width, Grades: map[string]int{"A": 0, "B": 0, "C": 0}, counts: map[int32]int{}}
}

// Add counts one lead's total.
func (h *Histogram) Add(total int32, s crm.LeadSettings) {
	h.Leads++
	k := total / h.Width
	if total < 0 && total%h.Width != 0 {
		k-- // floor, so that -1 falls in -10..-1
	}
	h.counts[k]++
	h.Grades[Grade(total, s)]++
	switch BandOf(total, s) {
	case Qualified:
		h.Qualified++
	case Nurture:
		h.Nurture++
	}
}

// Buckets returns the non-empty buckets, lowest first.
func (h *Histogram) Buckets() []Bucket {
	out := make([]Bucket, 0, len(h.counts))
	for k, n := range h.counts {
		out = append(out, Bucket{From: k * h.Width, To: k*h.Width + h.Width - 1, Count: n})
	}
	slices.SortFunc(out, func(a, b Bucket) int { return cmp.Compare(a.From, b.From) })
	return out
}
