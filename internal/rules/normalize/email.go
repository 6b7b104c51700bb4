package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Limits of RFC 5321 on an address that mail can actually be sent to.
const (
	maxEmail      = 254
	maxEmailLocal = 64
)

// Email normalizes an e-mail address: it folds full-width characters typed in a CJK input method
// ("zhang＠example。com"), trims, lower-cases the whole address so that duplicates are found, and
// validates a bare address: exactly one @, a non-empty local part of at most 64 bytes without
// white space, quotes or the characters ()<>[]\,;: and a domain of at least two valid labels
// (Unicode labels are kept as written, lower-cased). The address is at most 254 bytes. A display
// name or angle brackets ("Wei <wei@example.com>") are rejected rather than guessed away.
//
// Dots anywhere in the local part are accepted: RFC 5322 forbids leading, trailing and double dots,
// but such addresses exist (older Japanese carrier mail, for one) and are stored as given.
func Email(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidUTF8(field)
	}
	orig := s
	s = strings.ToLower(strings.TrimFunc(foldWidth(s), isTrimmable))
	const hint = "send a bare address like zhang.wei@example.com"
	if s == "" {
		return "", crm.Invalid(field, "The e-mail address is empty: %s.", hint)
	}
	if len(s) > maxEmail {
		return "", crm.Invalid(field, "The e-mail address is %d bytes long: send at most %d bytes.", len(s), maxEmail)
	}
	if strings.ContainsAny(s, "<>") {
		return "", crm.Invalid(field, "%s contains a name or angle brackets: %s, without a name or <>.", quote(orig), hint)
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return "", crm.Invalid(field, "%s has no @: %s.", quote(orig), hint)
	}
	if strings.IndexByte(s[at+1:], '@') >= 0 {
		return "", crm.Invalid(field, "%s has more than one @: send one address per entry, like zhang.wei@example.com.", quote(orig))
	}
	local, domain := s[:at], s[at+1:]
	switch {
	case local == "":
		return "", crm.Invalid(field, "%s has nothing before the @: %s.", quote(orig), hint)
	case len(local) > maxEmailLocal:
		return "", crm.Invalid(field, "The part before the @ in %s is longer than %d bytes: %s.", quote(orig), maxEmailLocal, hint)
	case strings.IndexFunc(local, badLocalRune) >= 0:
		return "", crm.Invalid(field, "The part before the @ in %s contains white space, quotes or one of ()<>[]\\,;: — %s.", quote(orig), hint)
	}
	if msg := checkHost(domain); msg != "" {
		return "", crm.Invalid(field, "The domain of %s is not valid (%s): %s.", quote(orig), msg, hint)
	}
	return s, nil
}

func badLocalRune(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune("()<>[]\\,;:\"", r)
}
