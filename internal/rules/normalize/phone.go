package normalize

import (
	"strconv"
	"strings"
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
	num, err := parsePhone(s, region)
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		if region == "" || strings.HasPrefix(s, "+") {
			return "", crm.Invalid(field, "%s is not a valid phone number: check the digits and send it in international form like %s.", quote(s), examplePhone(region))
		}
		return "", crm.Invalid(field, "%s is not a valid phone number for region %s: send it in international form like %s.", quote(s), region, examplePhone(region))
	}
	e164, nsn := formatE164(num)
	// Reading the E.164 form back must give the same number, or the stored value would change the
	// next time it is normalized. It does not when the national number starts with the trunk
	// prefix (a Chinese number "+86 0..."), which libphonenumber strips on the second reading;
	// such numbers are not real. Input already in E.164 form read back as itself, and so does a
	// number whose national part cannot start with its country's trunk prefix (most of them: a
	// Chinese mobile number, say), which spares a second parse.
	if e164 == s || !mayStartWithTrunkPrefix(num.GetCountryCode(), nsn) {
		return e164, nil
	}
	if again, err := parsePhone(e164, ""); err == nil {
		if readBack, _ := formatE164(again); readBack == e164 {
			return e164, nil
		}
	}
	return "", crm.Invalid(field, "%s is not a valid phone number: check the digits and send it in international form like %s.", quote(s), examplePhone(region))
}

// formatE164 returns phonenumbers.Format(num, phonenumbers.E164) for a number Parse returned
// (Format differs only for numbers that keep their raw input) without Format's buffers, and num's
// national significant number.
func formatE164(num *phonenumbers.PhoneNumber) (e164, nsn string) {
	nsn = phonenumbers.GetNationalSignificantNumber(num)
	return "+" + strconv.Itoa(int(num.GetCountryCode())) + nsn, nsn
}

// mayStartWithTrunkPrefix says whether reading a number of country calling code cc and national
// significant number nsn back from its E.164 form could strip a trunk prefix from nsn
// (libphonenumber tries only when the national_prefix_for_parsing of the country's main region
// matches there). Countries missing from the tables answer yes, so that the caller reads the
// number back.
func mayStartWithTrunkPrefix(cc int32, nsn string) bool {
	c := phoneTables().codes[cc]
	if c == nil {
		return true
	}
	return c.nationalPrefix != nil && c.nationalPrefix.MatchString(nsn)
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
