package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/internal/crm"
)

// usccAlphabet holds the characters of a Chinese unified social credit code (统一社会信用代码,
// GB 32100-2015) in the order of their values 0 to 30: digits, then the capital letters without
// I, O, S, V and Z.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// usccWeights are the weights of the first 17 characters of a unified social credit code: 3^i mod 31.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// Lengths of a company registration number other than a unified social credit code.
const (
	minRegistrationCode = 2
	maxRegistrationCode = 64
)

// RegistrationCode normalizes a company registration number, which is unique per organization and
// so must have one stored form: it folds full-width characters, removes white space and dashes and
// upper-cases. An 18-character result made only of unified-social-credit-code characters is a
// Chinese unified social credit code, and its check character (the 18th) is verified, which
// catches almost every mistyped character. Anything else is taken as a foreign registration
// number: 2 to 64 characters of A-Z, 0-9, '.' and '/'.
func RegistrationCode(field, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", invalidUTF8(field)
	}
	orig := s
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range foldWidth(s) {
		switch {
		case unicode.IsSpace(r), unicode.Is(unicode.Pd, r), isTrimmable(r):
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '/':
		default:
			return "", crm.Invalid(field, "%s contains %q: send the registration number with letters A-Z, digits, '.' and '/' only, like 91350100M000100Y43.", quote(orig), r)
		}
		b.WriteRune(r)
	}
	code := b.String()
	if isUSCC(code) {
		if usccCheck(code) != code[17] {
			return "", crm.Invalid(field, "The check character (the last one) of the unified social credit code %s does not match the other 17, so one of them is mistyped: copy the code from the business licence again.", code)
		}
		return code, nil
	}
	if n := len(code); n < minRegistrationCode || n > maxRegistrationCode {
		return "", crm.Invalid(field, "The registration number %s has %d characters: send the 18-character unified social credit code, like 91350100M000100Y43, or a foreign registration number of %d to %d characters.", quote(orig), n, minRegistrationCode, maxRegistrationCode)
	}
	return code, nil
}

// isUSCC reports whether s has the shape of a unified social credit code: 18 characters of
// usccAlphabet.
func isUSCC(s string) bool {
	if len(s) != 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(usccAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// usccCheck computes the check character of a unified social credit code from its first 17
// characters, which must be in usccAlphabet (GB 32100-2015: 31 - (Σ value×weight mod 31), where 31
// stands for 0).
func usccCheck(s string) byte {
	sum := 0
	for i, w := range usccWeights {
		sum += strings.IndexByte(usccAlphabet, s[i]) * w
	}
	return usccAlphabet[(31-sum%31)%31]
}
