// Package leadform holds the rules of public capture forms: which lead fields a form may accept,
// how a form definition is validated (origins, thank-you URL, honeypot), which browser origins may
// post to it, and how a submitted set of values becomes the fields of a lead capture (allowed fields
// only, required ones present, UTM parameters from the body, the page URL or the referrer, the
// honeypot). It is pure: the HTTP handler decodes the body, the service captures the lead.
package leadform

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/idna"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// Fields are the lead fields a form may accept, besides custom fields ("custom.<key>"). "message"
// is what the person wrote; it is kept with the touch's raw payload.
var Fields = []string{"name", "title", "company", "email", "phone", "website", "industry", "companySize",
	"country", "region", "city", "message"}

// CustomPrefix starts the name of a custom field, e.g. "custom.budget".
const CustomPrefix = "custom."

// Limits of a form definition.
const (
	MaxFields        = 50
	MaxOrigins       = 50
	DefaultRate      = 10    // submissions per client IP per minute
	MaxRate          = 10000 // the database's CHECK
	MaxNameLength    = 100
	MaxCampaignBytes = 200
)

var (
	customKey    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	honeypotName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
)

// Reserved are body keys with a meaning of their own on every form: UTM parameters, the page the
// form was on and the anonymous visitor id of the page's tracking script.
var Reserved = []string{"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
	"pageUrl", "page_url", "visitorId", "visitor_id"}

// CheckField reports whether name is a lead field a form may accept.
func CheckField(field, name string) error {
	if key, ok := strings.CutPrefix(name, CustomPrefix); ok {
		if !customKey.MatchString(key) {
			return crm.Invalid(field, "%q is not a valid custom field: use custom.<key> with a key of letters, digits and underscores, starting with a letter.", name)
		}
		return nil
	}
	if !slices.Contains(Fields, name) {
		return crm.Invalid(field, "%q is not a lead field a form may accept: use %s or custom.<key>.", name, strings.Join(Fields, ", "))
	}
	return nil
}

// Normalize validates a form definition and puts it in canonical form: trimmed name and campaign,
// fields without duplicates, required fields among the fields, origins as browsers send them
// (lower case, Punycode host, no default port), a thank-you URL that is absolute http or https, a
// honeypot name that is not a field, a known source (empty: web_form) and a rate in range (0 is not "default": the caller sets
// DefaultRate).
func Normalize(f *crm.LeadForm) error {
	var err error
	if f.Name, err = normalize.Text("name", f.Name, MaxNameLength); err != nil {
		return err
	}
	if f.Name == "" {
		return crm.Invalid("name", "Name the form, e.g. \"Contact us\".")
	}
	if len(f.Fields) == 0 {
		return crm.Invalid("fields", "List the fields the form accepts, e.g. name, email, phone, company.")
	}
	if len(f.Fields) > MaxFields {
		return crm.Invalid("fields", "A form accepts at most %d fields.", MaxFields)
	}
	fields := make([]string, 0, len(f.Fields))
	for i, name := range f.Fields {
		name = strings.TrimSpace(name)
		if err := CheckField(fmt.Sprintf("fields[%d]", i), name); err != nil {
			return err
		}
		if !slices.Contains(fields, name) {
			fields = append(fields, name)
		}
	}
	f.Fields = fields
	required := make([]string, 0, len(f.RequiredFields))
	for i, name := range f.RequiredFields {
		name = strings.TrimSpace(name)
		if !slices.Contains(fields, name) {
			return crm.Invalid(fmt.Sprintf("requiredFields[%d]", i), "%q is required but not among the form's fields; add it to fields.", name)
		}
		if !slices.Contains(required, name) {
			required = append(required, name)
		}
	}
	f.RequiredFields = required
	if len(f.AllowedOrigins) > MaxOrigins {
		return crm.Invalid("allowedOrigins", "A form allows at most %d origins.", MaxOrigins)
	}
	origins := make([]string, 0, len(f.AllowedOrigins))
	for i, o := range f.AllowedOrigins {
		o, err := Origin(fmt.Sprintf("allowedOrigins[%d]", i), o)
		if err != nil {
			return err
		}
		if !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	f.AllowedOrigins = origins
	if f.RedirectURL = strings.TrimSpace(f.RedirectURL); f.RedirectURL != "" {
		if f.RedirectURL, err = normalize.URL("redirectUrl", f.RedirectURL); err != nil {
			return err
		}
	}
	if f.HoneypotField = strings.TrimSpace(f.HoneypotField); f.HoneypotField != "" {
		switch {
		case !honeypotName.MatchString(f.HoneypotField):
			return crm.Invalid("honeypotField", "%q is not a usable field name: use letters, digits, _, . or -, starting with a letter.", f.HoneypotField)
		case CheckField("", f.HoneypotField) == nil || slices.Contains(Reserved, f.HoneypotField):
			return crm.Invalid("honeypotField", "%q is a real field; name the honeypot something people never fill, e.g. \"website_url2\".", f.HoneypotField)
		}
	}
	if f.Source == "" {
		f.Source = crm.SourceWebForm
	}
	if !slices.Contains(crm.LeadSources, f.Source) {
		return crm.Invalid("source", "%q is not a lead source.", f.Source)
	}
	if f.Campaign, err = normalize.Text("campaign", f.Campaign, MaxCampaignBytes); err != nil {
		return err
	}
	if f.RatePerMinute < 1 || f.RatePerMinute > MaxRate {
		return crm.Invalid("ratePerMinute", "The rate is submissions per client IP per minute, from 1 to %d.", MaxRate)
	}
	return nil
}

// Origin normalizes a browser origin as the Origin header sends it: scheme "http" or "https", a host
// in lower-case ASCII (Unicode names become Punycode: "https://例子.cn" is "https://xn--fsqu00a.cn"),
// a port only when it is not the scheme's default, and nothing else: no path, query, fragment or
// user name. "*" and "null" are refused: a form names the sites that embed it.
func Origin(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	hint := "send an exact origin like https://www.example.cn"
	if s == "" || s == "*" || s == "null" {
		return "", crm.Invalid(field, "%q is not an origin: %s.", s, hint)
	}
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" {
		return "", crm.Invalid(field, "%q is not an origin: %s.", s, hint)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", crm.Invalid(field, "%q is not an http or https origin: %s.", s, hint)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return "", crm.Invalid(field, "%q has more than scheme, host and port: %s, without a path.", s, hint)
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") { // an IPv6 literal
		host = "[" + host + "]"
	} else if host, err = idna.Lookup.ToASCII(host); err != nil || host == "" {
		return "", crm.Invalid(field, "%q has no valid host name: %s.", s, hint)
	}
	port := u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// AllowsOrigin reports whether a request carrying the Origin header origin may post to the form.
// A request without the header ("") is not a browser's cross-site request and is allowed: the origin
// check protects visitors' browsers, not the endpoint (the rate limits and the honeypot do that).
func AllowsOrigin(f crm.LeadForm, origin string) bool {
	if origin == "" {
		return true
	}
	o, err := Origin("", origin)
	return err == nil && slices.Contains(f.AllowedOrigins, o)
}
