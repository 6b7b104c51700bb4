package normalize

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCountry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "upper case", in: "CN", want: "CN"},
		{name: "lower case and spaces", in: " us ", want: "US"},
		{name: "full-width", in: "ＪＰ", want: "JP"},
		{name: "Hong Kong", in: "hk", want: "HK"},
		{name: "Taiwan", in: "TW", want: "TW"},
		{name: "UK points to GB", in: "uk", err: "send GB"},
		{name: "unassigned", in: "XX", err: `"XX" is not an ISO 3166-1 country code: send a two-letter code like CN`},
		{name: "user-assigned Kosovo", in: "XK", err: "not an ISO 3166-1"},
		{name: "alpha-3", in: "CHN", err: "not an ISO 3166-1"},
		{name: "name", in: "China", err: "not an ISO 3166-1"},
		{name: "empty", in: "", err: "not an ISO 3166-1"},
		{name: "digits", in: "86", err: "not an ISO 3166-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Country("country", tt.in)
			if tt.err != "" {
				requireInvalid(t, err, "country", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCountryCodesAreTheAssignedList(t *testing.T) {
	t.Parallel()
	codes := strings.Split(countryCodes, " ")
	require.Len(t, codes, 249)
	require.True(t, slices.IsSorted(codes))
	require.Len(t, slices.Compact(slices.Clone(codes)), 249)
	for _, c := range codes {
		got, err := Country("country", c)
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
}

func FuzzCountry(f *testing.F) {
	for _, s := range []string{"CN", "us", "ＪＰ", "uk", "", "ß"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzNormalizer(t, "country", func(s string) (string, error) { return Country("country", s) }, s)
	})
}
