package normalize

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/rapportcrm/rapport/internal/crm"
)

// DNS limits, counted on the ASCII (Punycode) form of a name.
const (
	maxLabel  = 63
	maxDomain = 253
	maxURL    = 2048 // what browsers and proxies reliably pass on
)

// Domain normalizes a company's web domain to its bare lower-case host name, so that
// "https://www.Example.com/path?x", "Example.COM" and "www.example.com." are all stored as
// "example.com" and found as duplicates of each other. It strips a scheme, user info, path, query,
// port, trailing dot and leading "www." labels (unless only one label would remain, as in
// "www.com"), then requires at least two labels of letters, digits and inner hyphens, each at most
// 63 octets and the whole at most 253 octets in ASCII (Punycode) form. Unicode labels are kept as
// written, lower-cased: "例子.中国" stays "例子.中国". IP addresses are rejected.
func Domain(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidUTF8(field)
	}
	orig := s
	s = strings.ToLower(strings.TrimFunc(foldWidth(s), isTrimmable))
	if s == "" {
		return "", crm.Invalid(field, "The domain is empty: send the company's web domain, like example.com.")
	}
	if len(s) > maxURL {
		return "", crm.Invalid(field, "The domain is %d bytes long: send the company's web domain alone, like example.com.", len(s))
	}
	s = stripScheme(s)
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && allDigits(s[i+1:]) {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, ".")
	for strings.HasPrefix(s, "www.") && strings.Contains(s[len("www."):], ".") {
		s = s[len("www."):]
	}
	if msg := checkHost(s); msg != "" {
		return "", crm.Invalid(field, "%s is not a valid domain (%s): send the company's web domain, like example.com.", quote(orig), msg)
	}
	return s, nil
}

// URL checks that s is an absolute http or https URL with a host and returns it trimmed. It rejects
// white space inside (send it percent-encoded) and user names or passwords in the URL, which would
// otherwise be stored and shown to everyone who sees the record.
func URL(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidUTF8(field)
	}
	s = strings.TrimFunc(s, isTrimmable)
	const hint = "send an absolute web address like https://example.com/about"
	if s == "" {
		return "", crm.Invalid(field, "The URL is empty: %s.", hint)
	}
	if len(s) > maxURL {
		return "", crm.Invalid(field, "The URL is %d bytes long: send at most %d bytes.", len(s), maxURL)
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return "", crm.Invalid(field, "%s contains white space or control characters: %s, with spaces encoded as %%20.", quote(s), hint)
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", crm.Invalid(field, "%s is not a valid URL: %s.", quote(s), hint)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", crm.Invalid(field, "%s is not an http or https URL: %s.", quote(s), hint)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return "", crm.Invalid(field, "%s has no host name: %s.", quote(s), hint)
	}
	if u.User != nil {
		return "", crm.Invalid(field, "%s contains a user name or password: send it without credentials, like https://example.com/about.", quote(s))
	}
	return s, nil
}

// stripScheme removes "scheme://" or a scheme-relative "//" from the start of s.
func stripScheme(s string) string {
	if strings.HasPrefix(s, "//") {
		return s[2:]
	}
	i := strings.Index(s, "://")
	if i <= 0 {
		return s
	}
	for j, c := range s[:i] {
		isAlpha := c >= 'a' && c <= 'z'
		if !(isAlpha || j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return s
		}
	}
	return s[i+3:]
}

// checkHost validates a lower-case host name of at least two labels and returns what is wrong with
// it, or "" when it is valid.
func checkHost(s string) string {
	if s == "" {
		return "no host name"
	}
	labels := strings.Count(s, ".") + 1
	if labels < 2 {
		return "a domain has at least two labels, like example.com"
	}
	total := labels - 1 // the dots
	var last string
	for label := range strings.SplitSeq(s, ".") {
		n, msg := checkLabel(label)
		if msg != "" {
			return msg
		}
		total += n
		last = label
	}
	if total > maxDomain {
		return "longer than 253 characters"
	}
	if allDigits(last) {
		return "an IP address is not a domain"
	}
	return ""
}

// checkLabel validates one lower-case DNS label and returns its length in ASCII form, or what is
// wrong with it.
func checkLabel(label string) (int, string) {
	if label == "" {
		return 0, "empty label"
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return 0, "a label cannot start or end with a hyphen"
	}
	ascii := true
	for _, r := range label {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
			ascii = false
		default:
			return 0, "only letters, digits and hyphens are allowed"
		}
	}
	if ascii {
		if len(label) > maxLabel {
			return 0, "a label is longer than 63 characters"
		}
		return len(label), ""
	}
	// The limit applies to the Punycode form ("xn--..."), which is never shorter than the rune count;
	// checking that first also keeps the quadratic encoder away from huge inputs.
	if utf8.RuneCountInString(label) > maxLabel {
		return 0, "a label is longer than 63 characters"
	}
	a, err := idna.Punycode.ToASCII(label)
	if err != nil {
		return 0, "a label cannot be encoded for DNS"
	}
	if len(a) > maxLabel {
		return 0, "a label is too long once encoded for DNS"
	}
	return len(a), ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
