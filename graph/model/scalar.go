package model

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Date is the GraphQL Date scalar: a calendar date, YYYY-MM-DD.
type Date = crm.Date

// MarshalDate writes a date as "YYYY-MM-DD".
func MarshalDate(d crm.Date) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(d.String())) })
}

// UnmarshalDate reads "YYYY-MM-DD".
func UnmarshalDate(v any) (crm.Date, error) {
	s, ok := v.(string)
	if !ok {
		return crm.Date{}, fmt.Errorf("a Date is a string like \"2026-11-23\"")
	}
	d, err := crm.ParseDate(s)
	if err != nil {
		return crm.Date{}, fmt.Errorf("%q is not a date like 2026-11-23", s)
	}
	return d, nil
}

// Decimal is the GraphQL Decimal scalar: an exact decimal number written as a string.
type Decimal = decimal.Decimal

var decimalPattern = regexp.MustCompile(`^-?[0-9]{1,20}(\.[0-9]{1,12})?$`)

// MarshalDecimal writes a decimal as a string, so no client reads it into a float by accident.
func MarshalDecimal(d decimal.Decimal) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(d.String())) })
}

// UnmarshalDecimal reads a decimal from a string such as "12500.50", or from a JSON number taken
// as written (variables are decoded with UseNumber, so 12500.5 stays exact). At most 12 decimal
// places and no exponent: a float that already lost its cents (0.30000000000000004) is refused,
// never rounded.
func UnmarshalDecimal(v any) (decimal.Decimal, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	case int:
		s = strconv.Itoa(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	default:
		return decimal.Decimal{}, fmt.Errorf("a Decimal is a string like \"12500.50\"")
	}
	if !decimalPattern.MatchString(s) {
		return decimal.Decimal{}, fmt.Errorf("%q is not a decimal number like \"12500.50\" (digits, an optional point, no exponent or thousands separators)", s)
	}
	return decimal.RequireFromString(s), nil
}
