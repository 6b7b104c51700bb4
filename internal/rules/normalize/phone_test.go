package normalize

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

func TestPhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, region, want, err string
	}{
		{name: "Chinese mobile, national form", in: "138 0013 8000", region: "CN", want: "+8613800138000"},
		{name: "Chinese mobile with dashes", in: "138-0013-8000", region: "CN", want: "+8613800138000"},
		{name: "Chinese mobile, international form", in: "+86 138 0013 8000", region: "CN", want: "+8613800138000"},
		{name: "international prefix 00", in: "0086 13800138000", region: "CN", want: "+8613800138000"},
		{name: "full-width digits from an input method", in: "１３８００１３８０００", region: "CN", want: "+8613800138000"},
		{name: "Beijing landline drops the trunk prefix 0", in: "010-6552-9988", region: "CN", want: "+861065529988"},
		{name: "US number with another default region", in: "+1 (415) 555-2671", region: "CN", want: "+14155552671"},
		{name: "US number, national form", in: "(415) 555-2671", region: "US", want: "+14155552671"},
		{name: "Hong Kong number", in: "+852 2123 4567", region: "CN", want: "+85221234567"},
		{name: "region is case-insensitive", in: "13800138000", region: "cn", want: "+8613800138000"},
		{name: "E.164 without a region", in: "+8613800138000", region: "", want: "+8613800138000"},
		{name: "extension is dropped", in: "+1 415 555 2671 ext. 12", region: "US", want: "+14155552671"},
		{name: "possible but not in a known range is accepted", in: "+86 199 9999 9999", region: "CN", want: "+8619999999999"},
		{name: "trunk prefix written after the country code is dropped", in: "+86 (0)10 6552 9988", region: "CN", want: "+861065529988"},
		{name: "number that changes when read back is refused", in: "0000000000000", region: "CN", err: "check the digits"},
		{name: "empty", in: "  ", region: "CN", err: "empty: send it in international form like +8613800138000"},
		{name: "too short", in: "12", region: "CN", err: `"12" is not a valid phone number for region CN: send it in international form like +8613800138000`},
		{name: "too long", in: "+86 138001380000000", region: "CN", err: "check the digits"},
		{name: "not a number", in: "call me", region: "CN", err: "not a valid phone number for region CN"},
		{name: "national number without a region", in: "13800138000", region: "", err: "international form like +8613800138000"},
		{name: "unknown country code", in: "+999 1234 5678", region: "CN", err: "not a valid phone number"},
		{name: "example matches the region", in: "12", region: "JP", err: "like +81"},
		{name: "invalid UTF-8", in: "138\xff", region: "CN", err: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Phone("phones[0]", tt.in, tt.region)
			if tt.err != "" {
				requireInvalid(t, err, "phones[0]", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func FuzzPhone(f *testing.F) {
	for _, s := range []string{"138 0013 8000", "+1 (415) 555-2671", "010-12345678", "+39 06 1234 5678", "tel:+1-415-555-2671", "1-800-FLOWERS", "+", "00"} {
		f.Add(s, "CN")
	}
	f.Add("0612345678", "IT")
	f.Add("(415) 555-2671", "US")
	f.Add("13800138000", "")
	f.Fuzz(func(t *testing.T, s, region string) {
		out := fuzzNormalizer(t, "phone", func(s string) (string, error) { return Phone("phone", s, region) }, s)
		if out != "" {
			require.Equal(t, byte('+'), out[0])
			// The stored form does not depend on the region it was read with.
			again, err := Phone("phone", out, "")
			require.NoError(t, err)
			require.Equal(t, out, again)
		}
	})
}

// BenchmarkPhone measures the shapes API clients and web forms send (the load tool's captures send
// the national Chinese and the German ones) and one with an extension, which takes the full parse.
func BenchmarkPhone(b *testing.B) {
	for _, bc := range []struct{ name, in, region string }{
		{"E164_CN_mobile", "+8613800138000", "CN"},
		{"national_CN_mobile", "138 0013 8000", "CN"},
		{"international_DE_mobile", "+49 151 12345678", "CN"},
		{"international_US", "+1 (415) 555-2671", "CN"},
		{"national_US_extension", "(415) 555-2671 ext. 12", "US"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Phone("phone", bc.in, bc.region); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPhoneSkipsTheReadBackOnlyWhenItCannotChangeTheNumber compares Phone with reading every
// number back from its E.164 form, over example numbers of many countries and digit strings that
// start with trunk prefixes and carrier codes.
func TestPhoneSkipsTheReadBackOnlyWhenItCannotChangeTheNumber(t *testing.T) {
	t.Parallel()
	readBack := func(s, region string) string {
		num, err := phonenumbers.Parse(strings.TrimFunc(s, isTrimmable), region)
		if err != nil || !phonenumbers.IsPossibleNumber(num) {
			return ""
		}
		e164 := phonenumbers.Format(num, phonenumbers.E164)
		again, err := phonenumbers.Parse(e164, "")
		if err != nil || phonenumbers.Format(again, phonenumbers.E164) != e164 {
			return ""
		}
		return e164
	}
	var inputs [][2]string
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, region := range []string{"CN", "US", "DE", "GB", "IT", "JP", "RU", "BR", "IN", "FR", "HK", "AU", "MX", "AR", "KR", "CO"} {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.MOBILE, phonenumbers.FIXED_LINE, phonenumbers.TOLL_FREE} {
			if n := phonenumbers.GetExampleNumberForType(region, typ); n != nil {
				inputs = append(inputs, [2]string{phonenumbers.Format(n, phonenumbers.NATIONAL), region},
					[2]string{phonenumbers.Format(n, phonenumbers.INTERNATIONAL), ""})
			}
		}
		for _, prefix := range []string{"0", "00", "1", "10", "11", "12", "179", "9", "15", "8", ""} {
			for range 20 {
				digits := prefix
				for range 5 + rnd.IntN(8) {
					digits += string(rune('0' + rnd.IntN(10)))
				}
				cc := phonenumbers.GetCountryCodeForRegion(region)
				inputs = append(inputs, [2]string{digits, region}, [2]string{"+" + strconv.Itoa(cc) + " " + digits, region})
			}
		}
	}
	checked := 0
	for _, in := range inputs {
		got, err := Phone("phone", in[0], in[1])
		want := readBack(in[0], in[1])
		if want == "" {
			require.Error(t, err, "%q in %s", in[0], in[1])
			continue
		}
		require.NoError(t, err, "%q in %s", in[0], in[1])
		require.Equal(t, want, got, "%q in %s", in[0], in[1])
		checked++
	}
	require.Greater(t, checked, len(inputs)/4)
}
