package normalize

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

// TestParsePlainPhoneIsParse compares the fast path with libphonenumber's Parse, and Phone with
// referencePhone, over example numbers of every region in every format and
// generated numbers: every country calling code after +, 00 and no prefix, trunk prefixes,
// Italian leading zeros, too short and too long digit strings, separators and full-width digits,
// read with the regions "", CN, US, GB, IT, DE, JP and every other region libphonenumber knows.
func TestParsePlainPhoneIsParse(t *testing.T) {
	t.Parallel()
	regions := phoneTestRegions()
	var codes []int
	for code := range phonenumbers.GetSupportedCallingCodes() {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	rnd := rand.New(rand.NewPCG(3, 4))
	type input struct{ s, region string }
	var inputs []input
	for _, region := range regions[7:] {
		for typ := range phonenumbers.UNKNOWN {
			n := phonenumbers.GetExampleNumberForType(region, typ)
			if n == nil {
				continue
			}
			for _, format := range []phonenumbers.PhoneNumberFormat{phonenumbers.E164, phonenumbers.INTERNATIONAL, phonenumbers.NATIONAL, phonenumbers.RFC3966} {
				s := phonenumbers.Format(n, format)
				inputs = append(inputs, input{s, region}, input{s, ""}, input{s, "CN"}, input{s, regions[rnd.IntN(len(regions))]})
			}
		}
	}
	prefixes := []string{"", "", "+", "+", "00", "0", "0", "1", "8", "06", "011", "010", "+0", "+00", "0086", "86", "+39 0", "+39 06", "+39 00", "+44 0", "+49 0", "+7 8", "+1 1"}
	for _, code := range codes {
		cc := strconv.Itoa(code)
		for _, prefix := range []string{"+" + cc, "+" + cc + " 0", "00" + cc, "011" + cc, cc, "+ " + cc, "+(" + cc + ")"} {
			for range 12 {
				inputs = append(inputs, input{spacePhone(rnd, prefix+randomDigits(rnd, rnd.IntN(18))), regions[rnd.IntN(7)]})
			}
		}
	}
	for range 40000 {
		prefix := prefixes[rnd.IntN(len(prefixes))]
		region := regions[rnd.IntN(len(regions))]
		if rnd.IntN(2) == 0 {
			region = regions[rnd.IntN(7)]
		}
		inputs = append(inputs, input{spacePhone(rnd, prefix+randomDigits(rnd, rnd.IntN(20))), region})
	}

	fast := 0
	for _, in := range inputs {
		if comparePhoneParsers(t, in.s, in.region) {
			fast++
		}
	}
	// Most inputs are plain, so the comparison is mostly of the fast path.
	require.Greater(t, fast, len(inputs)*3/4, "%d of %d inputs took the fast path", fast, len(inputs))
}

// FuzzParsePlainPhone compares the fast path with libphonenumber's Parse on the fuzzer's string and
// on a plain number made of it (each byte picks a digit, full-width digit, separator or +), read
// with the region the second argument picks.
func FuzzParsePlainPhone(f *testing.F) {
	for _, s := range []string{"+8613812345678", "138 1234 5678", "0086 138 1234 5678", "010-6552-9988", "+39 06 1234 5678",
		"+1 (415) 555-2671", "+49 151 12345678", "0151 12345678", "020 7946 0958", "03-1234-5678", "12", "+86 138001380000000",
		"+0086 138 1234 5678", "86 138 1234 5678", "１３８００１３８０００", "+1 415 555 2671 ext. 12"} {
		for r := range 8 {
			f.Add(s, uint8(r))
		}
	}
	regions := phoneTestRegions()
	f.Fuzz(func(t *testing.T, s string, r uint8) {
		region := regions[int(r)%len(regions)]
		comparePhoneParsers(t, s, region)
		comparePhoneParsers(t, plainPhoneOf(s), region)
	})
}

// comparePhoneParsers fails t unless parsePlainPhone gives what phonenumbers.Parse gives for s in
// region (when it takes s at all), and Phone gives what referencePhone gives. It reports whether
// the fast path took s.
func comparePhoneParsers(t *testing.T, s, region string) bool {
	t.Helper()
	want, wantErr := phonenumbers.Parse(s, region)
	got, ok, err := parsePlainPhone(s, region)
	if ok {
		require.Equal(t, wantErr, err, "%q in %q", s, region)
		if err == nil {
			require.Equal(t, phoneFields(want), phoneFields(got), "%q in %q", s, region)
		}
	}
	wantPhone, wantErr := referencePhone("phone", s, region)
	gotPhone, err := Phone("phone", s, region)
	require.Equal(t, wantErr, err, "%q in %q", s, region)
	require.Equal(t, wantPhone, gotPhone, "%q in %q", s, region)
	return ok
}

// referencePhone is Phone as it was before the fast path, with libphonenumber's Parse and Format
// and reading every number back (TestPhoneSkipsTheReadBackOnlyWhenItCannotChangeTheNumber pins
// that skipping the read-back changes nothing).
func referencePhone(field, s, defaultRegion string) (string, error) {
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
	if again, err := phonenumbers.Parse(e164, ""); err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 {
		return "", crm.Invalid(field, "%s is not a valid phone number: check the digits and send it in international form like %s.", quote(s), examplePhone(region))
	}
	return e164, nil
}

// phoneFields lists every field of n that Parse sets, with nil fields apart from zero ones.
func phoneFields(n *phonenumbers.PhoneNumber) string {
	return fmt.Sprintf("code %s national %s italian zero %s zeros %s extension %s raw %s source %s carrier %s",
		orNil(n.CountryCode), orNil(n.NationalNumber), orNil(n.ItalianLeadingZero), orNil(n.NumberOfLeadingZeros),
		orNil(n.Extension), orNil(n.RawInput), orNil(n.CountryCodeSource), orNil(n.PreferredDomesticCarrierCode))
}

// orNil formats *p, or "nil".
func orNil[T any](p *T) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

// phoneTestRegions returns the default regions the tests read numbers with: "" and six regions
// where most leads come from first, then every region libphonenumber supports, then codes it does
// not support.
func phoneTestRegions() []string {
	regions := []string{"", "CN", "US", "GB", "IT", "DE", "JP"}
	var rest []string
	for region := range phonenumbers.GetSupportedRegions() {
		rest = append(rest, region)
	}
	slices.Sort(rest)
	return append(append(regions, rest...), "ZZ", "001", "cn", "XX")
}

// randomDigits returns n random ASCII digits.
func randomDigits(rnd *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rnd.IntN(10))
	}
	return string(b)
}

// spacePhone writes s as people do: separators between some characters, brackets around the
// start, now and then a full-width digit or a separator at either end.
func spacePhone(rnd *rand.Rand, s string) string {
	var b strings.Builder
	if rnd.IntN(8) == 0 {
		b.WriteString("(")
	}
	for _, r := range s {
		if r >= '0' && r <= '9' && rnd.IntN(12) == 0 {
			r += '０' - '0'
		}
		b.WriteRune(r)
		if rnd.IntN(4) == 0 {
			b.WriteByte(" -.()/"[rnd.IntN(6)])
		}
	}
	return b.String()
}

// plainPhoneOf maps each byte of s to a character of plain numbers: a digit most often, else a
// full-width digit, a separator or a +; an even first byte puts a + in front.
func plainPhoneOf(s string) string {
	const chars = "0123456789012345678901234567890123456789 -.()/+"
	var b strings.Builder
	if s != "" && s[0]%2 == 0 {
		b.WriteByte('+')
	}
	for i := range len(s) {
		switch c := int(s[i]) % (len(chars) + 3); {
		case c < len(chars):
			b.WriteByte(chars[c])
		default:
			b.WriteRune('０' + rune(c-len(chars)))
		}
	}
	return b.String()
}
