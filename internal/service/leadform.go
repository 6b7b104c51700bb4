package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/leadform"
)

// LeadFormUpdate changes a lead form; unset fields are kept.
type LeadFormUpdate struct {
	ID              crm.ID
	ExpectedVersion int32
	Name            Opt[string]
	Fields          Opt[[]string]
	RequiredFields  Opt[[]string]
	AllowedOrigins  Opt[[]string]
	Source          Opt[crm.LeadSource]
	Campaign        Opt[string]
	RedirectURL     Opt[string]
	HoneypotField   Opt[string]
	AllowPartial    Opt[bool]
	RatePerMinute   Opt[int32]
	Active          Opt[bool]
}

// publicKeyBytes is the entropy of a form's public key: 192 bits, 32 characters of base64url.
const publicKeyBytes = 24

// newPublicKey returns an unguessable, URL-safe public key for a form.
func newPublicKey() string {
	b := make([]byte, publicKeyBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it panics if the OS cannot supply randomness)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorizeLeadForms checks that the actor may configure lead forms (rules/access).
func authorizeLeadForms(a *crm.Actor) error {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return err
	}
	if !access.ConfiguresLeadForms(a) {
		return crm.Errorf(crm.EFORBIDDEN, "Not allowed: lead forms are configured by administrators and sales managers.")
	}
	return nil
}

// CreateLeadForm creates a public capture form with a new public key. Only form fields, origins
// and URLs that rules/leadform accepts are stored.
func (s *Service) CreateLeadForm(ctx context.Context, a *crm.Actor, f crm.LeadForm) (crm.LeadForm, error) {
	if err := authorizeLeadForms(a); err != nil {
		return f, err
	}
	if err := leadform.Normalize(&f); err != nil {
		return f, err
	}
	err := s.write(ctx, a, func(w *writer) error {
		f.ID, f.OrgID, f.PublicKey = crm.NewID(), a.OrgID, newPublicKey()
		f.CreatedAt, f.UpdatedAt, f.DeletedAt, f.Version = w.now, w.now, nil, 1
		if err := w.q.CreateLeadForm(w.ctx, query.CreateLeadFormParams{OrgID: f.OrgID, ID: f.ID, PublicKey: f.PublicKey,
			Name: f.Name, Fields: f.Fields, RequiredFields: f.RequiredFields, AllowedOrigins: f.AllowedOrigins,
			Source: string(f.Source), Campaign: f.Campaign, RedirectUrl: f.RedirectURL, HoneypotField: f.HoneypotField,
			AllowPartial: f.AllowPartial, RatePerMinute: f.RatePerMinute, Active: f.Active, Now: w.now}); err != nil {
			return err
		}
		w.emit("lead_form.created", crm.TypeLeadForm, f.ID, diff(nil, leadFormFields(f)))
		return nil
	})
	return f, err
}

// UpdateLeadForm applies the set fields. A stale ExpectedVersion is a CONFLICT; nothing is written.
func (s *Service) UpdateLeadForm(ctx context.Context, a *crm.Actor, in LeadFormUpdate) (crm.LeadForm, error) {
	return s.changeLeadForm(ctx, a, in.ID, in.ExpectedVersion, func(f *crm.LeadForm, _ time.Time) (string, error) {
		f.Name = in.Name.apply(f.Name)
		f.Fields = in.Fields.apply(f.Fields)
		f.RequiredFields = in.RequiredFields.apply(f.RequiredFields)
		f.AllowedOrigins = in.AllowedOrigins.apply(f.AllowedOrigins)
		f.Source = in.Source.apply(f.Source)
		f.Campaign = in.Campaign.apply(f.Campaign)
		f.RedirectURL = in.RedirectURL.apply(f.RedirectURL)
		f.HoneypotField = in.HoneypotField.apply(f.HoneypotField)
		f.AllowPartial = in.AllowPartial.apply(f.AllowPartial)
		f.RatePerMinute = in.RatePerMinute.apply(f.RatePerMinute)
		f.Active = in.Active.apply(f.Active)
		return "lead_form.updated", leadform.Normalize(f)
	})
}

// DeleteLeadForm soft-deletes a form: its key answers 404 from then on, and the leads it captured
// keep pointing at it.
func (s *Service) DeleteLeadForm(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (crm.LeadForm, error) {
	return s.changeLeadForm(ctx, a, id, expectedVersion, func(f *crm.LeadForm, now time.Time) (string, error) {
		f.DeletedAt = &now
		return "lead_form.deleted", nil
	})
}

// RotateLeadFormKey gives a form a new public key; the old one answers 404 at once (pages that
// embed the form must be updated).
func (s *Service) RotateLeadFormKey(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (crm.LeadForm, error) {
	return s.changeLeadForm(ctx, a, id, expectedVersion, func(f *crm.LeadForm, _ time.Time) (string, error) {
		f.PublicKey = newPublicKey()
		return "lead_form.key_rotated", nil
	})
}

// changeLeadForm locks a live form, checks its version, applies change and saves it with an event
// of the type change returns. A change that changes nothing writes nothing.
func (s *Service) changeLeadForm(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32,
	change func(f *crm.LeadForm, now time.Time) (string, error),
) (f crm.LeadForm, err error) {
	if err := authorizeLeadForms(a); err != nil {
		return f, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		row, err := w.q.LockLeadForm(w.ctx, query.LockLeadFormParams{OrgID: a.OrgID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("lead form", id)
		} else if err != nil {
			return err
		}
		before := leadFormFromRow(row)
		if err := checkVersion("lead form", before.Version, expectedVersion); err != nil {
			return err
		}
		f = before
		f.Fields, f.RequiredFields, f.AllowedOrigins = clone(f.Fields), clone(f.RequiredFields), clone(f.AllowedOrigins)
		typ, err := change(&f, w.now)
		if err != nil {
			return err
		}
		changes := diff(leadFormFields(before), leadFormFields(f))
		if f.PublicKey != before.PublicKey {
			// The key is a credential of sorts: the event says it changed, not what it is.
			changes = append(changes, crm.FieldChange{Field: "publicKey", Before: mustJSON("(rotated)"), After: mustJSON("(rotated)")})
		}
		if len(changes) == 0 && f.DeletedAt == before.DeletedAt {
			return nil
		}
		if f.DeletedAt != before.DeletedAt {
			changes = append(changes, deletedChange(f.DeletedAt))
		}
		res, err := w.q.SaveLeadForm(w.ctx, query.SaveLeadFormParams{OrgID: f.OrgID, ID: f.ID, PublicKey: f.PublicKey,
			Name: f.Name, Fields: f.Fields, RequiredFields: f.RequiredFields, AllowedOrigins: f.AllowedOrigins,
			Source: string(f.Source), Campaign: f.Campaign, RedirectUrl: f.RedirectURL, HoneypotField: f.HoneypotField,
			AllowPartial: f.AllowPartial, RatePerMinute: f.RatePerMinute, Active: f.Active, DeletedAt: f.DeletedAt, Now: w.now})
		if err != nil {
			return err
		}
		f.Version, f.UpdatedAt = res.Version, res.UpdatedAt
		w.emit(typ, crm.TypeLeadForm, f.ID, changes)
		return nil
	})
	return f, err
}

func clone(s []string) []string { return append([]string(nil), s...) }

// ListLeadForms returns the organization's live forms by name. Reading forms needs leads:read: the
// public key is not a secret (every page that embeds the form shows it).
func (s *Service) ListLeadForms(ctx context.Context, a *crm.Actor) ([]crm.LeadForm, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	var out []crm.LeadForm
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListLeadForms(ctx, a.OrgID)
		for _, r := range rows {
			out = append(out, leadFormFromRow(r))
		}
		return err
	})
	return out, err
}

// LeadForms returns the live forms with the given IDs in the order of ids (zero forms for missing
// ones).
func (s *Service) LeadForms(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.LeadForm, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	var out []crm.LeadForm
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.GetLeadForms(ctx, query.GetLeadFormsParams{OrgID: a.OrgID, Ids: ids})
		for _, r := range rows {
			out = append(out, leadFormFromRow(r))
		}
		return err
	})
	return inOrder(out, ids, func(f crm.LeadForm) crm.ID { return f.ID }), err
}

// LeadFormByKey returns the active form with the public key, whatever its organization: the public
// endpoint knows only the key, so the lookup runs as the system (like login). An unknown, deleted or
// inactive key is ENOTFOUND, the same for all three so that a probe learns nothing.
func (s *Service) LeadFormByKey(ctx context.Context, key string) (crm.LeadForm, error) {
	notFound := crm.Errorf(crm.ENOTFOUND, "No such form.")
	if len(key) < 16 || len(key) > 64 || strings.ContainsFunc(key, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return crm.LeadForm{}, notFound
	}
	var f crm.LeadForm
	err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) error {
		row, err := query.New(tx).FindLeadForm(ctx, key)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound
		} else if err != nil {
			return err
		}
		f = leadFormFromRow(row)
		return nil
	})
	if err == nil && !f.Active {
		return crm.LeadForm{}, notFound
	}
	return f, err
}

// FormSubmission is one post to a public form as the HTTP layer decoded it.
type FormSubmission struct {
	Values         map[string]string // one value per key; JSON objects flattened to "custom.<key>"
	Payload        json.RawMessage   // the whole body as a JSON object, kept with the touch for audit
	Referer        string
	IdempotencyKey string
}

// FormOutcome is what the public endpoint may tell the page that posted. It never says whether the
// person was already known (a lead, a contact) or was taken for a bot: anyone can post, so the
// answer must not reveal who is in the CRM, and a bot must not learn that its honeypot was seen.
type FormOutcome struct {
	Warnings []leadform.Problem // fields dropped because their value was unusable
}

// FormRefused is the EINVALID error of a submission that stored nothing; Details["problems"]
// lists every field at fault.
func formRefused(problems []leadform.Problem) error {
	return crm.Invalid(problems[0].Field, "%s", problems[0].Reason).With("problems", problems)
}

// SubmitLeadForm captures one submission of form f (found by LeadFormByKey) as the system actor of
// the form's organization: missing required fields, or unusable values on a form that does not
// allow partial data, refuse it with nothing stored; a filled honeypot captures it as spam (kept,
// never scored or routed) and answers exactly like a real capture.
func (s *Service) SubmitLeadForm(ctx context.Context, f crm.LeadForm, in FormSubmission) (FormOutcome, error) {
	sub, problems := leadform.Read(f, in.Values, in.Referer)
	if len(problems) > 0 && !sub.Spam {
		return FormOutcome{}, formRefused(problems)
	}
	campaign := f.Campaign
	if campaign == "" {
		campaign = sub.UTM.Campaign
	}
	var custom json.RawMessage
	if len(sub.Custom) > 0 {
		custom = mustJSON(sub.Custom)
	}
	v := sub.Values
	lead := LeadInput{Name: v["name"], Title: v["title"], Company: v["company"], Email: v["email"], Phone: v["phone"],
		Website: v["website"], Industry: v["industry"], CompanySize: sub.CompanySize, Country: v["country"],
		Region: v["region"], City: v["city"], Source: f.Source, Campaign: campaign, UTM: sub.UTM, Custom: custom,
		VisitorID: sub.VisitorID, Payload: in.Payload, FormID: f.ID, Spam: sub.Spam, AllowPartial: f.AllowPartial || sub.Spam,
		IdempotencyKey: in.IdempotencyKey}
	res, err := s.CaptureLead(ctx, crm.SystemActor(f.OrgID), lead)
	if err != nil {
		var e *crm.Error
		if sub.Spam && errors.As(err, &e) && e.Code == crm.EINVALID {
			return FormOutcome{}, nil // a bot learns nothing, even when its junk is unstorable
		}
		if errors.As(err, &e) && e.Code == crm.EINVALID {
			if _, ok := e.Details["problems"]; !ok {
				return FormOutcome{}, formRefused([]leadform.Problem{{Field: e.Field, Reason: e.Message}})
			}
		}
		return FormOutcome{}, err
	}
	out := FormOutcome{Warnings: append([]leadform.Problem(nil), sub.Warnings...)}
	for _, w := range res.Warnings {
		out.Warnings = append(out.Warnings, leadform.Problem{Field: w.Field, Reason: w.Message})
	}
	return out, nil
}

func leadFormFromRow(r query.LeadForm) crm.LeadForm {
	return crm.LeadForm{ID: r.ID, OrgID: r.OrgID, PublicKey: r.PublicKey, Name: r.Name, Fields: r.Fields,
		RequiredFields: r.RequiredFields, AllowedOrigins: r.AllowedOrigins, Source: crm.LeadSource(r.Source),
		Campaign: r.Campaign, RedirectURL: r.RedirectUrl, HoneypotField: r.HoneypotField, AllowPartial: r.AllowPartial,
		RatePerMinute: r.RatePerMinute, Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		DeletedAt: r.DeletedAt, Version: r.Version}
}

// leadFormFields are the form's fields as events show them (not the public key).
func leadFormFields(f crm.LeadForm) fields {
	return fields{"name": f.Name, "fields": f.Fields, "requiredFields": f.RequiredFields,
		"allowedOrigins": f.AllowedOrigins, "source": f.Source, "campaign": f.Campaign, "redirectUrl": f.RedirectURL,
		"honeypotField": f.HoneypotField, "allowPartial": f.AllowPartial, "ratePerMinute": f.RatePerMinute,
		"active": f.Active}
}
