package leadform

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Problem is a submitted field that was refused (the submission fails) or dropped (the lead is
// captured without it), and why, in words a web page can show.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Submission is what one accepted form post captures.
type Submission struct {
	Values      map[string]string // accepted lead fields (not custom fields, not message), trimmed and non-empty
	CompanySize *int32
	Custom      map[string]string // accepted custom fields by key
	Message     string
	UTM         crm.UTM
	VisitorID   string
	Spam        bool      // the honeypot was filled
	Warnings    []Problem // fields dropped because their value was unusable (allowPartial forms)
}

// Read applies form f to the submitted values (one per key; the HTTP handler flattens repeated keys
// and JSON objects into "custom.<key>"). Keys the form does not accept are ignored here; the
// caller keeps the whole body as the raw payload. UTM parameters come from the body, else from the
// query of the page URL the body names (pageUrl), else from the referrer's: from the first of these
// that has any, never mixed. A refused submission returns the problems (a required field missing,
// an unusable value when the form does not allow partial data) and must store nothing.
func Read(f crm.LeadForm, values map[string]string, referer string) (Submission, []Problem) {
	sub := Submission{Values: map[string]string{}, Custom: map[string]string{}}
	var problems []Problem
	if f.HoneypotField != "" && strings.TrimSpace(values[f.HoneypotField]) != "" {
		sub.Spam = true
	}
	for _, name := range f.Fields {
		v := strings.TrimSpace(values[name])
		if v == "" {
			if slices.Contains(f.RequiredFields, name) {
				problems = append(problems, Problem{Field: name, Reason: "This field is required."})
			}
			continue
		}
		switch key, custom := strings.CutPrefix(name, CustomPrefix); {
		case custom:
			sub.Custom[key] = v
		case name == "message":
			sub.Message = v
		case name == "companySize":
			n, err := strconv.ParseInt(strings.ReplaceAll(v, ",", ""), 10, 32)
			if err != nil || n < 0 {
				p := Problem{Field: name, Reason: "Send the number of employees as a whole number, e.g. 250."}
				if !f.AllowPartial {
					problems = append(problems, p)
				} else {
					sub.Warnings = append(sub.Warnings, p)
				}
				continue
			}
			size := int32(n)
			sub.CompanySize = &size
		default:
			sub.Values[name] = v
		}
	}
	sub.VisitorID = strings.TrimSpace(first(values, "visitorId", "visitor_id"))
	if len(sub.VisitorID) > 255 {
		sub.VisitorID = ""
	}
	sub.UTM = utmOf(func(k string) string { return values[k] })
	if sub.UTM == (crm.UTM{}) {
		if page := first(values, "pageUrl", "page_url"); page != "" {
			sub.UTM = utmOfURL(page)
		}
	}
	if sub.UTM == (crm.UTM{}) && referer != "" {
		sub.UTM = utmOfURL(referer)
	}
	return sub, problems
}

func first(values map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := values[k]; v != "" {
			return v
		}
	}
	return ""
}

func utmOfURL(s string) crm.UTM {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return crm.UTM{}
	}
	q := u.Query()
	return utmOf(q.Get)
}

func utmOf(get func(string) string) crm.UTM {
	v := func(k string) string {
		s := strings.TrimSpace(get(k))
		for len(s) > 200 {
			_, size := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-size]
		}
		return s
	}
	return crm.UTM{Source: v("utm_source"), Medium: v("utm_medium"), Campaign: v("utm_campaign"),
		Term: v("utm_term"), Content: v("utm_content")}
}
