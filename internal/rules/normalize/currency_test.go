package normalize

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCurrency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{name: "yuan", in: "CNY", want: "CNY"},
		{name: "lower case and spaces", in: " usd ", want: "USD"},
		{name: "euro", in: "eur", want: "EUR"},
		{name: "yen", in: "JPY", want: "JPY"},
		{name: "Hong Kong dollar", in: "HKD", want: "HKD"},
		{name: "Zimbabwe gold (2024)", in: "ZWG", want: "ZWG"},
		{name: "Caribbean guilder (2025)", in: "XCG", want: "XCG"},
		{name: "RMB points to CNY", in: "rmb", err: "send CNY"},
		{name: "offshore yuan points to CNY", in: "CNH", err: "send CNY"},
		{name: "withdrawn kuna", in: "HRK", err: `"HRK" is not an active ISO 4217 currency code: send a three-letter code like CNY, USD or EUR`},
		{name: "testing code", in: "XTS", err: "not an active ISO 4217"},
		{name: "symbol", in: "¥", err: "not an active ISO 4217"},
		{name: "numeric code", in: "156", err: "not an active ISO 4217"},
		{name: "empty", in: "", err: "not an active ISO 4217"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Currency("defaultCurrency", tt.in)
			if tt.err != "" {
				requireInvalid(t, err, "defaultCurrency", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCurrencyCodesAreWellFormed(t *testing.T) {
	t.Parallel()
	codes := strings.Split(currencyCodes, " ")
	require.True(t, slices.IsSorted(codes))
	require.Len(t, slices.Compact(slices.Clone(codes)), len(codes))
	for _, c := range codes {
		got, err := Currency("currency", c)
		require.NoError(t, err)
		require.Equal(t, c, got)
	}
}

func FuzzCurrency(f *testing.F) {
	for _, s := range []string{"CNY", "usd", "RMB", "", "ＥＵＲ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fuzzNormalizer(t, "currency", func(s string) (string, error) { return Currency("currency", s) }, s)
	})
}
