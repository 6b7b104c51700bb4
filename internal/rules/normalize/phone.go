package normalize

import (
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Phone normalizes a phone number to E.164 ("+8613800138000"), the one form Rapport stores, so
// that "138 0013 8000" typed in China and "+86 138-0013-8000" are the same number. Numbers without
// a leading + (or international prefix such as 00) are read as national numbers of defaultRegion,
// an ISO 3166-1 alpha-2 code such as CN; with defaultRegion empty only international numbers are
// accepted.
//
// A number is accepted when it has a possible length for its country (libphonenumber's
// IsPossibleNumber), not only when it matches the known number ranges (IsValidNumber): carriers
// open new ranges faster than the metadata is updated, and a CRM must not refuse a customer's real
// number. The price is that length is all that is checked: a Chinese mobile number missing a digit
// has the length of a landline number and is accepted. An extension ("+1 415 555 2671 ext. 12") is dropped, because E.164 has no place for it;
// put it in a note if it matters.
func Phone(field, s, defaultRegion string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidUTF8(field)
	}
	s = strings.TrimFunc(s, isTrimmable)
	region := strings.ToUpper(strings.TrimSpace(defaultRegion))
	if s == "" {
		return "", crm.Invalid(field, "The phone number is empty: send it in international form like %s.", examplePhone(region))
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		if region == "" || strings.HasPrefix(s, "+") {
			return "", crm.Invalid(field, "%s is not a valid phone number: check the digits and send it in international form like %s.", quote(s), examplePhone(region))
		}
		return "", crm.Invalid(field, "%s is not a valid phone number for region %s: send it in international form like %s.", quote(s), region, examplePhone(region))
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	// Reading the E.164 form back must give the same number, or the stored value would change the
	// next time it is normalized. It does not when the national number starts with the trunk
	// prefix (a Chinese number "+86 0..."), which libphonenumber strips on the second reading;
	// such numbers are not real. Input already in E.164 form read back as itself, and so does a
	// number whose national part cannot start with its country's trunk prefix (most of them: a
	// Chinese mobile number, say), which spares a second parse.
	if e164 == s || !mayStartWithTrunkPrefix(num) {
		return e164, nil
	}
	if again, err := phonenumbers.Parse(e164, ""); err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 {
		return "", crm.Invalid(field, "%s is not a valid phone number: check the digits and send it in international form like %s.", quote(s), examplePhone(region))
	}
	return e164, nil
}

// trunkPrefixes maps a country calling code to the pattern of the national (trunk) prefix that
// libphonenumber strips when it reads a number of that country in international form: the
// national_prefix_for_parsing of the country's main region, anchored as libphonenumber anchors it;
// nil when the country has none.
var trunkPrefixes = sync.OnceValue(func() map[int32]*regexp.Regexp {
	out := map[int32]*regexp.Regexp{}
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return out // every number is read back, as before
	}
	for _, m := range coll.GetMetadata() {
		cc := m.GetCountryCode()
		if m.GetId() != phonenumbers.GetRegionCodeForCountryCode(int(cc)) {
			continue
		}
		var re *regexp.Regexp
		if p := m.GetNationalPrefixForParsing(); p != "" {
			if re, err = regexp.Compile("^(?:" + p + ")"); err != nil {
				continue
			}
		}
		out[cc] = re
	}
	return out
})

// mayStartWithTrunkPrefix says whether reading num back from its E.164 form could strip a trunk
// prefix from its national part (libphonenumber tries only when the prefix pattern matches there).
// Unknown countries answer yes, so that the caller reads the number back.
func mayStartWithTrunkPrefix(num *phonenumbers.PhoneNumber) bool {
	re, ok := trunkPrefixes()[num.GetCountryCode()]
	if !ok {
		return true
	}
	return re != nil && re.MatchString(phonenumbers.GetNationalSignificantNumber(num))
}

// examplePhone returns an example mobile number of region in E.164, for error messages.
func examplePhone(region string) string {
	if region != "" && region != "CN" {
		if n := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE); n != nil {
			return phonenumbers.Format(n, phonenumbers.E164)
		}
	}
	return "+8613800138000"
}
