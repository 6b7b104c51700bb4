package crm

import "time"

// LeadForm is a public capture form of an organization: web pages post to /forms/{PublicKey}
// without a login, and each accepted submission is captured as a lead (or a touch of an existing
// one).
type LeadForm struct {
	ID             ID
	OrgID          ID
	PublicKey      string   // unguessable, URL-safe; rotating it retires the old one at once
	Name           string   // what the organization calls it, e.g. "Contact us (zh-CN)"
	Fields         []string // lead fields the form accepts; others are kept only in the raw payload
	RequiredFields []string // subset of Fields a submission must fill
	AllowedOrigins []string // exact browser origins allowed to post, e.g. https://www.example.cn
	Source         LeadSource
	Campaign       string
	RedirectURL    string // thank-you page for browser (urlencoded) posts; "" answers JSON
	HoneypotField  string // a field hidden from people; bots fill it
	AllowPartial   bool   // capture even when the e-mail or phone is invalid (the field is dropped)
	RatePerMinute  int32  // submissions per client IP per minute
	Active         bool
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      *time.Time
	Version        int32
}

// GlobalID returns the form's GraphQL ID.
func (f LeadForm) GlobalID() string { return GlobalID(TypeLeadForm, f.ID) }

// SubmitPath is the path pages post the form to.
func (f LeadForm) SubmitPath() string { return "/forms/" + f.PublicKey }
