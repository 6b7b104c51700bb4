package access

import (
	"strings"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/internal/crm"
)

// MaskEmail hides an e-mail address from actors without the PII permission while keeping it
// recognizable: the first character of the local part and the domain stay ("zhang.wei@example.com"
// gives "z***@example.com"). The number of stars is fixed so the length does not leak. A value
// without @ is starred entirely.
func MaskEmail(s string) string {
	if s == "" {
		return ""
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return "***"
	}
	local, domain := s[:at], s[at:]
	if local == "" {
		return "***" + domain
	}
	_, n := utf8.DecodeRuneInString(local)
	return local[:n] + "***" + domain
}

// MaskPhone hides a phone number from actors without the PII permission: it keeps the first 3
// characters (the country code of a Chinese number) and the last 4, and stars the rest
// ("+8613800138000" gives "+86*******8000"). At least 3 characters are always starred, so an
// input shorter than 10 characters is starred entirely.
func MaskPhone(s string) string {
	const head, tail, minStars = 3, 4, 3
	n := utf8.RuneCountInString(s)
	if n < head+tail+minStars {
		return strings.Repeat("*", n)
	}
	r := []rune(s)
	return string(r[:head]) + strings.Repeat("*", n-head-tail) + string(r[n-tail:])
}

// Sensitive reports whether a field of a record type holds personal data that is masked for actors
// without the PII permission, including in the change feed and the audit trail. Field names are
// those of events (crm.FieldChange.Field).
func Sensitive(recordType, field string) bool {
	switch recordType {
	case crm.TypeContact:
		return field == "emails" || field == "phones"
	case crm.TypeLead:
		return field == "email" || field == "phone"
	}
	return false
}
