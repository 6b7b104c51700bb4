package db_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
)

// []string parameters of type text[] reach PostgreSQL whole: empty strings, CJK, an empty array
// and NULL included; other parameter types of text[] still work.
func TestTextArraysRoundTrip(t *testing.T) {
	pool, err := db.Open(t.Context(), dbtest.URL(t), db.PoolOptions{})
	require.NoError(t, err)
	defer pool.Close()
	for _, in := range [][]string{{"王小明", "", "a\"b\\c,{}", "Müller"}, {""}, {}, nil} {
		var out []string
		var null bool
		var dims, n int
		require.NoError(t, pool.QueryRow(t.Context(), "SELECT $1::text[], $1::text[] IS NULL, coalesce(array_ndims($1::text[]), 0), coalesce(cardinality($1::text[]), 0)", in).
			Scan(&out, &null, &dims, &n))
		require.Equal(t, in == nil, null, "%q", in)
		require.Equal(t, len(in), n)
		if len(in) > 0 {
			require.Equal(t, in, out)
			require.Equal(t, 1, dims)
		}
	}
	var out []string
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT $1::text[]", pgtype.FlatArray[string]{"x", "y"}).Scan(&out))
	require.Equal(t, []string{"x", "y"}, out, "another Go type goes through pgx's codec")
}
