package normalize

import (
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
)

// countryCodes are the officially assigned ISO 3166-1 alpha-2 codes (249). User-assigned codes such
// as XK (Kosovo) and exceptionally reserved ones such as UK and EU are not among them.
const countryCodes = "" +
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ " +
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ " +
	"DE DJ DK DM DO DZ " +
	"EC EE EG EH ER ES ET " +
	"FI FJ FK FM FO FR " +
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY " +
	"HK HM HN HR HT HU " +
	"ID IE IL IM IN IO IQ IR IS IT " +
	"JE JM JO JP " +
	"KE KG KH KI KM KN KP KR KW KY KZ " +
	"LA LB LC LI LK LR LS LT LU LV LY " +
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ " +
	"NA NC NE NF NG NI NL NO NP NR NU NZ " +
	"OM " +
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY " +
	"QA " +
	"RE RO RS RU RW " +
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ " +
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ " +
	"UA UG UM US UY UZ " +
	"VA VC VE VG VI VN VU " +
	"WF WS " +
	"YE YT " +
	"ZA ZM ZW"

// Country normalizes an ISO 3166-1 alpha-2 country code: trimmed and upper-cased, it must be one of
// the 249 officially assigned codes ("cn" gives "CN"). The same codes name phone-number regions.
func Country(field, s string) (string, error) {
	code, ok := upperASCII(s, 2)
	if ok && inList(countryCodes, code) {
		return code, nil
	}
	if code == "UK" {
		return "", crm.Invalid(field, "\"UK\" is not an ISO 3166-1 country code: send GB for the United Kingdom.")
	}
	return "", crm.Invalid(field, "%s is not an ISO 3166-1 country code: send a two-letter code like CN, US or DE.", quote(s))
}

// upperASCII trims s and upper-cases it when it is n ASCII letters long; ok is false otherwise.
func upperASCII(s string, n int) (code string, ok bool) {
	s = strings.TrimFunc(foldWidth(s), isTrimmable)
	if len(s) != n {
		return s, false
	}
	var buf [3]byte
	for i := 0; i < n; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z':
		default:
			return s, false
		}
		buf[i] = c
	}
	if string(buf[:n]) == s { // already upper case: no allocation
		return s, true
	}
	return string(buf[:n]), true
}

// inList reports whether code occurs in list, a string of space-separated codes of code's length.
func inList(list, code string) bool {
	for i := 0; i+len(code) <= len(list); i += len(code) + 1 {
		if list[i:i+len(code)] == code {
			return true
		}
	}
	return false
}
