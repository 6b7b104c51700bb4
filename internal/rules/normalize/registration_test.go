package normalize

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRegistrationCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "valid unified social credit code", in: "91350100M000100Y43", want: "91350100M000100Y43"},
		{name: "real code ending in a digit", in: "914403001922038216", want: "914403001922038216"},
		{name: "real code ending in a letter", in: "91330100799655058B", want: "91330100799655058B"},
		{name: "real code ending in T", in: "91440300708461136T", want: "91440300708461136T"},
		{name: "lower case, spaces and hyphens", in: " 9135 0100-m000 100y43 ", want: "91350100M000100Y43"},
		{name: "full-width characters from an input method", in: "９１３５０１００Ｍ０００１００Ｙ４３", want: "91350100M000100Y43"},
		{name: "wrong check character", in: "91350100M000100Y44", err: "check character"},
		{name: "one mistyped digit", in: "91350100M000200Y43", err: "mistyped"},
		{name: "swapped neighbours", in: "91351000M000100Y43", err: "check character"},
		{name: "18 characters with O is not a credit code", in: "91350100MO00100Y43", want: "91350100MO00100Y43"},
		{name: "old 15-digit registration number", in: "110108012345678", want: "110108012345678"},
		{name: "foreign number with dots and slashes", in: "HRB 12345/B.", want: "HRB12345/B."},
		{name: "Japanese corporate number", in: "7010001008844", want: "7010001008844"},
		{name: "empty", in: " - ", err: "has 0 characters"},
		{name: "one character", in: "A", err: "has 1 characters"},
		{name: "too long", in: "A123456789012345678901234567890123456789012345678901234567890123456789", err: "has 70 characters"},
		{name: "underscore", in: "AB_12", err: `contains '_'`},
		{name: "Chinese characters", in: "注册号123", err: `contains '注'`},
		{name: "invalid UTF-8", in: "AB\xff", err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := RegistrationCode("registrationCode", tt.in)
			if tt.err != "" {
				requireInvalid(t, err, "registrationCode", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

// TestUSCCCheckCatchesEverySingleSubstitution pins the point of the check character: any one
// character of a valid code replaced by another valid character makes the code invalid.
func TestUSCCCheckCatchesEverySingleSubstitution(t *testing.T) {
	t.Parallel()
	const valid = "91350100M000100Y43"
	require.Equal(t, valid[17], usccCheck(valid))
	for i := range 18 {
		for j := range len(usccAlphabet) {
			c := usccAlphabet[j]
			if c == valid[i] {
				continue
			}
			code := valid[:i] + string(c) + valid[i+1:]
			_, err := RegistrationCode("registrationCode", code)
			requireInvalid(t, err, "registrationCode", "check character")
		}
	}
}

func FuzzRegistrationCode(f *testing.F) {
	for _, s := range []string{"91350100M000100Y43", "9135 0100-m000 100y43", "91350100M000100Y44", "HRB 12345/B.", "x", "９１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzNormalizer(t, "registrationCode", func(s string) (string, error) { return RegistrationCode("registrationCode", s) }, s)
	})
}
