package leads

import (
	"errors"
	"slices"
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// Normalize cleans a captured lead in place: trimmed text (CJK kept as written), lower-cased e-mail,
// E.164 phone read with the organization's default region, bare web domain, checked registration
// code and country, tidied company name. An invalid e-mail, phone, website or registration code is
// dropped and returned as a warning when partial is set (a web form that accepts partial data);
// otherwise it is the error. A lead needs a name, an e-mail or a phone number.
func Normalize(l *crm.Lead, phoneRegion string, partial bool) (warnings []*crm.Error, err error) {
	for _, f := range []struct {
		field string
		v     *string
		max   int
	}{{"name", &l.Name, 200}, {"title", &l.Title, 200}, {"industry", &l.Industry, 100},
		{"region", &l.Region, 100}, {"city", &l.City, 100}, {"campaign", &l.Campaign, 200},
		{"utm.source", &l.UTM.Source, 200}, {"utm.medium", &l.UTM.Medium, 200},
		{"utm.campaign", &l.UTM.Campaign, 200}, {"utm.term", &l.UTM.Term, 200}, {"utm.content", &l.UTM.Content, 200}} {
		if *f.v, err = normalize.Text(f.field, *f.v, f.max); err != nil {
			return nil, err
		}
	}
	if l.Company, err = Company(l.Company); err != nil {
		return nil, err
	}
	// Optional channels: dropped with a warning in partial mode, the error otherwise.
	soft := func(v *string, fn func(string) (string, error)) error {
		if strings.TrimSpace(*v) == "" {
			*v = ""
			return nil
		}
		n, err := fn(*v)
		if err == nil {
			*v = n
			return nil
		}
		var e *crm.Error
		if partial && errors.As(err, &e) {
			warnings = append(warnings, e)
			*v = ""
			return nil
		}
		return err
	}
	if err := soft(&l.Email, func(s string) (string, error) { return normalize.Email("email", s) }); err != nil {
		return nil, err
	}
	if err := soft(&l.Phone, func(s string) (string, error) { return normalize.Phone("phone", s, phoneRegion) }); err != nil {
		return nil, err
	}
	if err := soft(&l.Website, func(s string) (string, error) { return normalize.Domain("website", s) }); err != nil {
		return nil, err
	}
	if err := soft(&l.RegistrationCode, func(s string) (string, error) { return normalize.RegistrationCode("registrationCode", s) }); err != nil {
		return nil, err
	}
	if err := soft(&l.Country, func(s string) (string, error) { return normalize.Country("country", s) }); err != nil {
		return nil, err
	}
	if l.CompanySize != nil && *l.CompanySize < 0 {
		return nil, crm.Invalid("companySize", "The company size is a number of employees, 0 or more.")
	}
	if l.Source == "" {
		return nil, crm.Invalid("source", "Say where the lead came from (source).")
	}
	if !slices.Contains(crm.LeadSources, l.Source) {
		return nil, crm.Invalid("source", "Unknown source %q.", l.Source)
	}
	if l.Name == "" && l.Email == "" && l.Phone == "" {
		if len(warnings) > 0 {
			return warnings, crm.Invalid(warnings[0].Field, "%s A lead needs a valid e-mail, a phone number or a name.", warnings[0].Message)
		}
		return nil, crm.Invalid("name", "A lead needs a name, an e-mail or a phone number.")
	}
	if l.Name == "" {
		l.Name = fallbackName(l)
	}
	return warnings, nil
}

// fallbackName names a lead captured without a name after its e-mail's local part or its phone.
func fallbackName(l *crm.Lead) string {
	if i := strings.IndexByte(l.Email, '@'); i > 0 {
		return l.Email[:i]
	}
	return l.Phone
}

// companyTrim is punctuation pasted around company names that carries no meaning.
const companyTrim = " \t\"'“”‘’「」『』,，;；"

// legalForms end with a dot that belongs to the name.
var legalForms = []string{"inc.", "ltd.", "co.", "corp.", "llc.", "plc.", "gmbh.", "s.a."}

// Company tidies a company name: trimmed and single-spaced like any text, surrounding quotes and
// stray punctuation removed ("“北京某某科技有限公司”。" becomes 北京某某科技有限公司). Legal forms
// such as "Inc." keep their dot.
func Company(s string) (string, error) {
	s, err := normalize.Text("company", s, 200)
	if err != nil {
		return "", err
	}
	for {
		t := strings.Trim(s, companyTrim)
		if strings.HasSuffix(t, "。") {
			t = strings.TrimSuffix(t, "。")
		}
		if strings.HasSuffix(t, ".") && !hasLegalForm(t) {
			t = strings.TrimSuffix(t, ".")
		}
		if t == s {
			return s, nil
		}
		s = t
	}
}

func hasLegalForm(s string) bool {
	lower := strings.ToLower(s)
	for _, f := range legalForms {
		if strings.HasSuffix(lower, " "+f) || lower == f {
			return true
		}
	}
	return false
}
