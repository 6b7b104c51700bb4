package service

import (
	"context"
	"encoding/json"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/eventlog"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// SettingsUpdate changes the organization settings that are set.
type SettingsUpdate struct {
	ExpectedVersion    int32
	Name               Opt[string]
	TimeZone           Opt[string]
	DefaultCurrency    Opt[string]
	DefaultPhoneRegion Opt[string]
	RecordVisibility   Opt[crm.Visibility]
	WorkingHours       Opt[crm.WorkingHours]
	StaleAfterDays     Opt[int32]
	PoolAfterDays      Opt[*int32]
	PoolClaimLimit     Opt[int32]
	FirstContactHours  Opt[int32]
	QuoteFollowUpDays  Opt[int32]
	Leads              LeadSettingsUpdate
}

// LeadSettingsUpdate changes the set lead rules of the organization.
type LeadSettingsUpdate struct {
	QualifyAt         Opt[int32]
	NurtureAt         Opt[int32]
	GradeA            Opt[int32]
	GradeB            Opt[int32]
	DecayDays         Opt[int32]
	DemoteOnDrop      Opt[bool]
	FirstTouchMinutes Opt[int32]
	ReassignMinutes   Opt[int32]
}

func (u LeadSettingsUpdate) apply(l crm.LeadSettings) crm.LeadSettings {
	l.QualifyAt = u.QualifyAt.apply(l.QualifyAt)
	l.NurtureAt = u.NurtureAt.apply(l.NurtureAt)
	l.GradeA = u.GradeA.apply(l.GradeA)
	l.GradeB = u.GradeB.apply(l.GradeB)
	l.DecayDays = u.DecayDays.apply(l.DecayDays)
	l.DemoteOnDrop = u.DemoteOnDrop.apply(l.DemoteOnDrop)
	l.FirstTouchMinutes = u.FirstTouchMinutes.apply(l.FirstTouchMinutes)
	l.ReassignMinutes = u.ReassignMinutes.apply(l.ReassignMinutes)
	return l
}

// Organization returns the actor's organization.
func (s *Service) Organization(ctx context.Context, a *crm.Actor) (org crm.Organization, err error) {
	if a == nil {
		return org, authorize(a, "")
	}
	err = s.read(ctx, a, func(q *query.Queries) error {
		row, err := q.GetOrganization(ctx, a.OrgID)
		org = orgFromRow(row)
		return err
	})
	return org, err
}

// UpdateSettings changes the organization's settings (admins only). Changing record visibility
// rebuilds who sees whose records in the same transaction.
func (s *Service) UpdateSettings(ctx context.Context, a *crm.Actor, in SettingsUpdate) (org crm.Organization, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return org, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		if _, err := w.q.LockOrganization(w.ctx, a.OrgID); err != nil {
			return err
		}
		row, err := w.q.GetOrganization(w.ctx, a.OrgID)
		if err != nil {
			return err
		}
		before := orgFromRow(row)
		if err := checkVersion("organization", before.Version, in.ExpectedVersion); err != nil {
			return err
		}
		org = before
		org.Name = in.Name.apply(org.Name)
		st := &org.Settings
		st.TimeZone = in.TimeZone.apply(st.TimeZone)
		st.DefaultCurrency = in.DefaultCurrency.apply(st.DefaultCurrency)
		st.DefaultPhoneRegion = in.DefaultPhoneRegion.apply(st.DefaultPhoneRegion)
		st.RecordVisibility = in.RecordVisibility.apply(st.RecordVisibility)
		st.WorkingHours = in.WorkingHours.apply(st.WorkingHours)
		st.StaleAfterDays = in.StaleAfterDays.apply(st.StaleAfterDays)
		st.PoolAfterDays = in.PoolAfterDays.apply(st.PoolAfterDays)
		st.PoolClaimLimit = in.PoolClaimLimit.apply(st.PoolClaimLimit)
		st.FirstContactHours = in.FirstContactHours.apply(st.FirstContactHours)
		st.QuoteFollowUpDays = in.QuoteFollowUpDays.apply(st.QuoteFollowUpDays)
		st.Leads = in.Leads.apply(st.Leads)
		if err := normalizeOrganization(&org); err != nil {
			return err
		}
		changes := diff(orgFields(before), orgFields(org))
		if len(changes) == 0 {
			return nil
		}
		hours, _ := json.Marshal(st.WorkingHours)
		res, err := w.q.UpdateOrganization(w.ctx, query.UpdateOrganizationParams{
			ID: org.ID, Name: org.Name, TimeZone: st.TimeZone, DefaultCurrency: st.DefaultCurrency,
			DefaultPhoneRegion: st.DefaultPhoneRegion, RecordVisibility: string(st.RecordVisibility),
			WorkingHours: hours, StaleAfterDays: st.StaleAfterDays, PoolAfterDays: st.PoolAfterDays,
			PoolClaimLimit: st.PoolClaimLimit, FirstContactHours: st.FirstContactHours,
			QuoteFollowUpDays: st.QuoteFollowUpDays, LeadSettings: mustJSON(st.Leads), Now: w.now})
		if err != nil {
			return err
		}
		org.Version, org.UpdatedAt = res.Version, res.UpdatedAt
		if st.RecordVisibility != before.Settings.RecordVisibility {
			if err := w.rebuildVisibility(); err != nil {
				return err
			}
		}
		w.emit("organization.updated", crm.TypeOrganization, org.ID, changes)
		return nil
	})
	return org, err
}

// CreateOrganization creates a tenant with default settings overridden by settings' non-empty
// fields, the default sales pipeline and the default scoring rules. Operators and seeding call it; there is no public sign-up yet.
func (s *Service) CreateOrganization(ctx context.Context, slug, name string, settings crm.Settings) (crm.Organization, error) {
	org := crm.Organization{ID: crm.NewID(), Slug: slug, Name: name, Settings: withDefaults(settings)}
	if !slugPattern.MatchString(slug) {
		return org, crm.Invalid("slug", "A slug is 2-63 lower-case letters, digits or hyphens, starting with a letter or digit.")
	}
	if err := normalizeOrganization(&org); err != nil {
		return org, err
	}
	now := s.now()
	org.CreatedAt, org.UpdatedAt, org.Version = now, now, 1
	hours, _ := json.Marshal(org.Settings.WorkingHours)
	err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) error {
		q := query.New(tx)
		if err := q.CreateOrganization(ctx, query.CreateOrganizationParams{
			ID: org.ID, Slug: slug, Name: org.Name, TimeZone: org.Settings.TimeZone,
			DefaultCurrency: org.Settings.DefaultCurrency, DefaultPhoneRegion: org.Settings.DefaultPhoneRegion,
			RecordVisibility: string(org.Settings.RecordVisibility), WorkingHours: hours,
			StaleAfterDays: org.Settings.StaleAfterDays, PoolAfterDays: org.Settings.PoolAfterDays,
			PoolClaimLimit: org.Settings.PoolClaimLimit, FirstContactHours: org.Settings.FirstContactHours,
			QuoteFollowUpDays: org.Settings.QuoteFollowUpDays, LeadSettings: mustJSON(org.Settings.Leads), Now: now,
		}); err != nil {
			return err
		}
		w := &writer{ctx: ctx, q: q, tx: tx, actor: crm.SystemActor(org.ID), now: now, jobs: s.jobs, org: &org}
		w.emit("organization.created", crm.TypeOrganization, org.ID, diff(nil, orgFields(org)))
		if err := w.seedDefaultPipeline(); err != nil {
			return err
		}
		if err := w.seedDefaultScoringRules(); err != nil {
			return err
		}
		return eventlog.Append(ctx, q, w.events...)
	})
	if err == nil && s.relay != nil {
		s.relay.Poke()
	}
	return org, err
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

var clockPattern = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)

func withDefaults(s crm.Settings) crm.Settings {
	d := crm.DefaultSettings()
	if s.TimeZone != "" {
		d.TimeZone = s.TimeZone
	}
	if s.DefaultCurrency != "" {
		d.DefaultCurrency = s.DefaultCurrency
	}
	if s.DefaultPhoneRegion != "" {
		d.DefaultPhoneRegion = s.DefaultPhoneRegion
	}
	if s.RecordVisibility != "" {
		d.RecordVisibility = s.RecordVisibility
	}
	if s.WorkingHours.Days != nil {
		d.WorkingHours = s.WorkingHours
	}
	if s.StaleAfterDays != 0 {
		d.StaleAfterDays = s.StaleAfterDays
	}
	if s.PoolAfterDays != nil {
		d.PoolAfterDays = s.PoolAfterDays
	}
	if s.PoolClaimLimit != 0 {
		d.PoolClaimLimit = s.PoolClaimLimit
	}
	if s.FirstContactHours != 0 {
		d.FirstContactHours = s.FirstContactHours
	}
	if s.QuoteFollowUpDays != 0 {
		d.QuoteFollowUpDays = s.QuoteFollowUpDays
	}
	if s.Leads != (crm.LeadSettings{}) {
		d.Leads = s.Leads
	}
	return d
}

func normalizeOrganization(o *crm.Organization) (err error) {
	if o.Name, err = normalize.Text("name", o.Name, 200); err != nil {
		return err
	}
	if o.Name == "" {
		return crm.Invalid("name", "The organization needs a name.")
	}
	st := &o.Settings
	if st.TimeZone, err = normalize.TimeZone("timeZone", st.TimeZone); err != nil {
		return err
	}
	if st.DefaultCurrency, err = normalize.Currency("defaultCurrency", st.DefaultCurrency); err != nil {
		return err
	}
	if st.DefaultPhoneRegion, err = normalize.Country("defaultPhoneRegion", st.DefaultPhoneRegion); err != nil {
		return err
	}
	if st.RecordVisibility != crm.VisibilityOwn && st.RecordVisibility != crm.VisibilityTeam {
		return crm.Invalid("recordVisibility", "Record visibility is OWN or TEAM.")
	}
	for _, r := range []struct {
		field    string
		v        int32
		min, max int32
	}{
		{"staleAfterDays", st.StaleAfterDays, 1, 365},
		{"poolClaimLimit", st.PoolClaimLimit, 1, 10000},
		{"firstContactHours", st.FirstContactHours, 1, 720},
		{"quoteFollowUpDays", st.QuoteFollowUpDays, 1, 90},
		{"leads.qualifyAt", st.Leads.QualifyAt, 1, 10000},
		{"leads.nurtureAt", st.Leads.NurtureAt, 1, st.Leads.QualifyAt},
		{"leads.gradeA", st.Leads.GradeA, 1, 10000},
		{"leads.gradeB", st.Leads.GradeB, 1, st.Leads.GradeA},
		{"leads.decayDays", st.Leads.DecayDays, 1, 3650},
		{"leads.firstTouchMinutes", st.Leads.FirstTouchMinutes, 1, 60 * 24 * 30},
		{"leads.reassignMinutes", st.Leads.ReassignMinutes, 1, 60 * 24 * 30},
	} {
		if r.v < r.min || r.v > r.max {
			return crm.Invalid(r.field, "%s is between %d and %d.", r.field, r.min, r.max)
		}
	}
	if p := st.PoolAfterDays; p != nil && (*p < 1 || *p > 3650) {
		return crm.Invalid("poolAfterDays", "poolAfterDays is between 1 and 3650, or null to keep accounts with their owners.")
	}
	return checkWorkingHours(&st.WorkingHours)
}

func checkWorkingHours(h *crm.WorkingHours) error {
	seen := map[time.Weekday]bool{}
	for _, d := range h.Days {
		if d < time.Sunday || d > time.Saturday || seen[d] {
			return crm.Invalid("workingHours.days", "Working days are distinct week days.")
		}
		seen[d] = true
	}
	if !clockPattern.MatchString(h.Start) || !clockPattern.MatchString(h.End) || h.Start >= h.End {
		return crm.Invalid("workingHours", "Working hours need start and end times like 09:00 and 18:00, start before end.")
	}
	if len(h.Holidays) > 366 {
		return crm.Invalid("workingHours.holidays", "At most 366 holidays.")
	}
	for _, day := range h.Holidays {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			return crm.Invalid("workingHours.holidays", "Holiday %q is not a date like 2026-10-01.", day)
		}
	}
	return nil
}

func orgFromRow(r query.Organization) crm.Organization {
	o := crm.Organization{ID: r.ID, Slug: r.Slug, Name: r.Name, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Version: r.Version, Settings: crm.Settings{TimeZone: r.TimeZone, DefaultCurrency: r.DefaultCurrency,
			DefaultPhoneRegion: r.DefaultPhoneRegion, RecordVisibility: crm.Visibility(r.RecordVisibility),
			StaleAfterDays: r.StaleAfterDays, PoolAfterDays: r.PoolAfterDays, PoolClaimLimit: r.PoolClaimLimit,
			FirstContactHours: r.FirstContactHours, QuoteFollowUpDays: r.QuoteFollowUpDays,
			Leads: crm.DefaultLeadSettings()}}
	_ = json.Unmarshal(r.WorkingHours, &o.Settings.WorkingHours) // written by this package, always valid
	_ = json.Unmarshal(r.LeadSettings, &o.Settings.Leads)        // over the defaults: keys added later keep theirs
	return o
}

func orgFields(o crm.Organization) fields {
	st := o.Settings
	return fields{"name": o.Name, "timeZone": st.TimeZone, "defaultCurrency": st.DefaultCurrency,
		"defaultPhoneRegion": st.DefaultPhoneRegion, "recordVisibility": st.RecordVisibility,
		"workingHours": st.WorkingHours, "staleAfterDays": st.StaleAfterDays, "poolAfterDays": st.PoolAfterDays,
		"poolClaimLimit": st.PoolClaimLimit, "firstContactHours": st.FirstContactHours,
		"quoteFollowUpDays": st.QuoteFollowUpDays, "leads": st.Leads}
}
