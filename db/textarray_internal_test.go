package db

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

// The direct plan writes the bytes pgx's own codec writes.
func TestTextArrayEncodesAsPgx(t *testing.T) {
	theirs, ours := pgtype.NewMap(), pgtype.NewMap()
	registerTextArray(ours)
	require.IsType(t, encodeTextArray{}, ours.PlanEncode(pgtype.TextArrayOID, pgtype.BinaryFormatCode, []string{"x"}))
	for _, in := range [][]string{{"王小明", "", "a\"b\\c,{}", "Müller"}, {""}, nil} {
		want, err := theirs.Encode(pgtype.TextArrayOID, pgtype.BinaryFormatCode, in, []byte("prefix"))
		require.NoError(t, err)
		got, err := ours.Encode(pgtype.TextArrayOID, pgtype.BinaryFormatCode, in, []byte("prefix"))
		require.NoError(t, err)
		require.Equal(t, want, got, "%q", in)
	}
}
