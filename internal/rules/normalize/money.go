package normalize

import (
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/internal/crm"
)

// minorDigits lists the ISO 4217 currencies whose minor unit is not the cent.
var minorDigits = map[string]int32{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0, "RWF": 0,
	"UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorDigits returns how many decimal places amounts in currency have (2 for most).
func MinorDigits(currency string) int32 {
	if d, ok := minorDigits[currency]; ok {
		return d
	}
	return 2
}

// maxAmount bounds amounts to what numeric(20, 4) stores.
var maxAmount = decimal.New(1, 16)

// Amount validates a money amount in currency: not negative, below 10^16, and with no more decimal
// places than the currency has (12.345 CNY is refused rather than rounded). Trailing zeros are
// dropped from the scale check: 12.50 CNY is fine.
func Amount(field string, d decimal.Decimal, currency string) (decimal.Decimal, error) {
	if d.IsNegative() {
		return d, crm.Invalid(field, "The amount cannot be negative.")
	}
	if d.GreaterThanOrEqual(maxAmount) {
		return d, crm.Invalid(field, "The amount is too large (at most 16 digits before the decimal point).")
	}
	digits := MinorDigits(currency)
	if !d.Equal(d.Truncate(digits)) {
		return d, crm.Invalid(field, "%s amounts have at most %d decimal places; %s has more.", currency, digits, d.String())
	}
	return d, nil
}
