package db_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// IDs travel as raw bytes both ways, alone and in arrays; NULL reads as the zero ID.
func TestUUIDsRoundTrip(t *testing.T) {
	pool, err := db.Open(t.Context(), dbtest.URL(t), db.PoolOptions{})
	require.NoError(t, err)
	defer pool.Close()
	a, b := uuid.MustParse("01a20813-0e5d-72e6-8a9d-ef5eee8343ab"), uuid.New()

	var text string
	var back uuid.UUID
	var list []uuid.UUID
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT $1::uuid::text, $1::uuid, $2::uuid[]", a, []uuid.UUID{a, b}).
		Scan(&text, &back, &list))
	require.Equal(t, a.String(), text, "encoded as the same ID PostgreSQL prints")
	require.Equal(t, a, back)
	require.Equal(t, []uuid.UUID{a, b}, list)

	back = b
	var ptr *uuid.UUID
	require.NoError(t, pool.QueryRow(t.Context(), "SELECT NULL::uuid, NULL::uuid").Scan(&back, &ptr))
	require.Equal(t, uuid.UUID{}, back)
	require.Nil(t, ptr)
}
