package normalize

import (
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestAmountAllowsTheCurrencysMinorDigits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, amount, currency, want, err string
	}{
		{name: "cents", amount: "12500.50", currency: "CNY", want: "12500.5"},
		{name: "whole", amount: "12500", currency: "USD", want: "12500"},
		{name: "zero", amount: "0", currency: "EUR", want: "0"},
		{name: "trailing zeros beyond the cents", amount: "1.5000", currency: "USD", want: "1.5"},
		{name: "third digit refused", amount: "12.345", currency: "CNY", err: "CNY amounts have at most 2 decimal places; 12.345 has more"},
		{name: "yen has no minor unit", amount: "1200", currency: "JPY", want: "1200"},
		{name: "yen fraction refused", amount: "1200.5", currency: "JPY", err: "JPY amounts have at most 0 decimal places"},
		{name: "won", amount: "1.1", currency: "KRW", err: "at most 0"},
		{name: "dong", amount: "1.1", currency: "VND", err: "at most 0"},
		{name: "peso chileno", amount: "1.1", currency: "CLP", err: "at most 0"},
		{name: "krona", amount: "1.1", currency: "ISK", err: "at most 0"},
		{name: "shilling", amount: "1.1", currency: "UGX", err: "at most 0"},
		{name: "guarani", amount: "1.1", currency: "PYG", err: "at most 0"},
		{name: "CFA franc BEAC", amount: "1.1", currency: "XAF", err: "at most 0"},
		{name: "CFA franc BCEAO", amount: "1.1", currency: "XOF", err: "at most 0"},
		{name: "dinar has mils", amount: "1.125", currency: "BHD", want: "1.125"},
		{name: "dinar fourth digit", amount: "1.1255", currency: "KWD", err: "KWD amounts have at most 3 decimal places"},
		{name: "rial omani", amount: "0.001", currency: "OMR", want: "0.001"},
		{name: "jordan", amount: "0.001", currency: "JOD", want: "0.001"},
		{name: "iraq", amount: "0.001", currency: "IQD", want: "0.001"},
		{name: "libya", amount: "0.001", currency: "LYD", want: "0.001"},
		{name: "tunisia", amount: "0.001", currency: "TND", want: "0.001"},
		{name: "negative", amount: "-0.01", currency: "USD", err: "cannot be negative"},
		{name: "too large", amount: "10000000000000000", currency: "USD", err: "too large"},
		{name: "largest", amount: "9999999999999999.99", currency: "USD", want: "9999999999999999.99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Amount("amount", decimal.RequireFromString(tt.amount), tt.currency)
			if tt.err != "" {
				requireInvalid(t, err, "amount", tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got.String())
		})
	}
}

func TestMinorDigits(t *testing.T) {
	t.Parallel()
	require.Equal(t, int32(2), MinorDigits("CNY"))
	require.Equal(t, int32(0), MinorDigits("JPY"))
	require.Equal(t, int32(3), MinorDigits("BHD"))
	require.Equal(t, int32(4), MinorDigits("CLF"))
}

func BenchmarkAmount(b *testing.B) {
	b.ReportAllocs()
	d := decimal.RequireFromString("12500.50")
	for b.Loop() {
		if _, err := Amount("amount", d, "CNY"); err != nil {
			b.Fatal(err)
		}
	}
}
