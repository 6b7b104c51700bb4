package leadcsv

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// Length limits of imported text fields, in characters.
const (
	maxName   = 200
	maxText   = 200
	maxCustom = 1000
)

// Lead is what one row says about a lead, normalized as capture normalizes it; fields whose value
// was invalid are left empty (and reported as a Problem).
type Lead struct {
	Name, Title, Company, Email, Phone, Website, RegistrationCode, Industry string
	CompanySize                                                             *int32
	Country, Region, City                                                   string
	Source                                                                  crm.LeadSource // empty: the import's source
	Campaign                                                                string         // empty: the import's campaign
	UTM                                                                     crm.UTM
	Custom                                                                  map[string]string
}

// Problem is one reason why (part of) a row was not imported: its line in the file (the first line
// is 1, the header), the field at fault ("" for the whole row) and a reason a person can act on.
type Problem struct {
	Line   int
	Field  string
	Reason string
}

// Blank reports whether a record holds nothing but white space (an empty line, or a line of
// delimiters that spreadsheets leave at the end); blank rows are skipped, not failed.
func Blank(record []string) bool {
	for _, v := range record {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

// Parse turns one record of the file (line is its line number) into a lead, normalizing every
// mapped value with the same rules as capture: an e-mail is lower-cased and checked, a phone is
// read in region (the organization's default phone region) and stored in E.164, and so on. An
// invalid value is dropped and reported; the row still becomes a lead if it keeps a name, an e-mail
// or a phone. ok is false when it keeps none of them: the row fails, with a Problem on field "".
// A record shorter than the header has empty values for the missing columns; extra values are
// ignored.
func (c Columns) Parse(record []string, line int, region string) (l Lead, problems []Problem, ok bool) {
	var first, last string
	report := func(err error) {
		var e *crm.Error
		if errors.As(err, &e) {
			problems = append(problems, Problem{Line: line, Field: e.Field, Reason: e.Message})
		} else {
			problems = append(problems, Problem{Line: line, Reason: err.Error()})
		}
	}
	text := func(field, v string, max int) string {
		s, err := normalize.Text(field, v, max)
		if err != nil {
			report(err)
		}
		return s
	}
	for i, target := range c.Targets {
		if target == Ignore || i >= len(record) {
			continue
		}
		v := strings.TrimSpace(record[i])
		if v == "" {
			continue
		}
		var err error
		switch target {
		case FieldName:
			l.Name = text(target, v, maxName)
		case FieldFirstName:
			first = text(target, v, maxName)
		case FieldLastName:
			last = text(target, v, maxName)
		case FieldTitle:
			l.Title = text(target, v, maxText)
		case FieldCompany:
			l.Company = text(target, v, maxText)
		case FieldIndustry:
			l.Industry = text(target, v, maxText)
		case FieldRegion:
			l.Region = text(target, v, maxText)
		case FieldCity:
			l.City = text(target, v, maxText)
		case FieldCampaign:
			l.Campaign = text(target, v, maxText)
		case FieldUTMSource:
			l.UTM.Source = text(target, v, maxText)
		case FieldUTMMedium:
			l.UTM.Medium = text(target, v, maxText)
		case FieldUTMCampaign:
			l.UTM.Campaign = text(target, v, maxText)
		case FieldUTMTerm:
			l.UTM.Term = text(target, v, maxText)
		case FieldUTMContent:
			l.UTM.Content = text(target, v, maxText)
		case FieldEmail:
			if l.Email, err = normalize.Email(target, v); err != nil {
				report(err)
			}
		case FieldPhone:
			if l.Phone, err = normalize.Phone(target, v, region); err != nil {
				report(err)
			}
		case FieldWebsite:
			if l.Website, err = normalize.Domain(target, v); err != nil {
				report(err)
			}
		case FieldRegistrationCode:
			if l.RegistrationCode, err = normalize.RegistrationCode(target, v); err != nil {
				report(err)
			}
		case FieldCountry:
			if l.Country, err = Country(target, v); err != nil {
				report(err)
			}
		case FieldCompanySize:
			if l.CompanySize, err = CompanySize(target, v); err != nil {
				report(err)
			}
		case FieldSource:
			if l.Source, err = Source(target, v); err != nil {
				report(err)
			}
		default:
			key := strings.TrimPrefix(target, CustomPrefix)
			if s := text(target, v, maxCustom); s != "" {
				if l.Custom == nil {
					l.Custom = map[string]string{}
				}
				l.Custom[key] = s
			}
		}
	}
	if l.Name == "" {
		l.Name = normalize.DisplayName(first, last)
	}
	if l.Name == "" && l.Email == "" && l.Phone == "" {
		reason := "The row has no name, e-mail or phone, so it cannot become a lead."
		if len(problems) > 0 {
			reason = "The row has no name and no valid e-mail or phone left (see the other reasons on this line), so it cannot become a lead."
		}
		problems = append(problems, Problem{Line: line, Reason: reason})
		return l, problems, false
	}
	return l, problems, true
}

// countryNames are country names common in Chinese and English files, by their ISO code.
var countryNames = map[string]string{
	"中国": "CN", "中国大陆": "CN", "中华人民共和国": "CN", "china": "CN", "prc": "CN", "mainlandchina": "CN",
	"香港": "HK", "中国香港": "HK", "hongkong": "HK", "澳门": "MO", "中国澳门": "MO", "macau": "MO", "macao": "MO",
	"台湾": "TW", "中国台湾": "TW", "taiwan": "TW", "新加坡": "SG", "singapore": "SG",
	"美国": "US", "usa": "US", "unitedstates": "US", "unitedstatesofamerica": "US",
	"英国": "GB", "uk": "GB", "unitedkingdom": "GB", "greatbritain": "GB", "德国": "DE", "germany": "DE",
	"法国": "FR", "france": "FR", "日本": "JP", "japan": "JP", "韩国": "KR", "southkorea": "KR", "korea": "KR",
	"加拿大": "CA", "canada": "CA", "澳大利亚": "AU", "australia": "AU", "印度": "IN", "india": "IN",
}

// Country reads a country as an ISO 3166-1 alpha-2 code or as one of the common names of
// countryNames ("中国", "China" and "cn" all give "CN").
func Country(field, v string) (string, error) {
	if code, ok := countryNames[foldHeader(v)]; ok {
		return code, nil
	}
	return normalize.Country(field, v)
}

// CompanySize reads a number of employees: digits with optional thousands separators and a
// trailing "+" or "人" ("1,200", "500+", "300人"); a range "50-200" gives its lower bound.
func CompanySize(field, v string) (*int32, error) {
	s := strings.TrimSpace(v)
	s = strings.TrimSuffix(strings.TrimSuffix(s, "人"), "+")
	if lo, _, ok := strings.Cut(s, "-"); ok {
		s = lo
	} else if lo, _, ok := strings.Cut(s, "~"); ok {
		s = lo
	}
	s = strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), "，", "")
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n < 0 {
		return nil, crm.Invalid(field, "%q is not a number of employees: send a whole number such as 250.", v)
	}
	size := int32(n)
	return &size, nil
}

// Source reads a lead source by its name ("import", "web_form", ...; case and spaces ignored).
func Source(field, v string) (crm.LeadSource, error) {
	s := crm.LeadSource(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(v)), " ", "_"))
	if slices.Contains(crm.LeadSources, s) {
		return s, nil
	}
	names := make([]string, len(crm.LeadSources))
	for i, x := range crm.LeadSources {
		names[i] = string(x)
	}
	return "", crm.Invalid(field, "%q is not a lead source: use one of %s.", v, strings.Join(names, ", "))
}

// Delimiters are the column separators an import recognises.
var Delimiters = []rune{',', ';', '\t'}

// DetectDelimiter picks the column separator from the first lines of the decoded file: the one
// that occurs (outside quotes) as often on the following lines as on the header, and most often
// on the header; a comma when nothing tells.
func DetectDelimiter(sample string) rune {
	lines := splitLines(sample, 20)
	if len(lines) == 0 {
		return ','
	}
	best, bestScore, bestCount := ',', -1, 0
	for _, d := range Delimiters {
		head := countOutsideQuotes(lines[0], d)
		if head == 0 {
			continue
		}
		score := 0
		for _, l := range lines[1:] {
			if countOutsideQuotes(l, d) == head {
				score++
			}
		}
		if score > bestScore || (score == bestScore && head > bestCount) {
			best, bestScore, bestCount = d, score, head
		}
	}
	return best
}

// splitLines returns up to n lines of sample, leaving out a last line that may be cut off.
func splitLines(sample string, n int) []string {
	var lines []string
	for len(lines) < n {
		i := strings.IndexByte(sample, '\n')
		if i < 0 {
			break
		}
		lines = append(lines, strings.TrimSuffix(sample[:i], "\r"))
		sample = sample[i+1:]
	}
	if len(lines) == 0 && sample != "" {
		lines = append(lines, sample) // a header without a line break
	}
	return lines
}

func countOutsideQuotes(line string, d rune) int {
	n, quoted := 0, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == d && !quoted:
			n++
		}
	}
	return n
}
