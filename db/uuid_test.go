package db_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// UUIDs travel as 16 bytes both ways, in every shape the generated queries use: a value, a
// nullable pointer, an array; NULL scans as the zero UUID into a value and as nil into a pointer.
func TestUUIDRoundTrip(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, dbtest.URL(t), db.PoolOptions{MaxConns: 2})
	require.NoError(t, err)
	defer pool.Close()
	id := uuid.MustParse("01a20813-0e5d-72e6-8a9d-ef5eee8343ab")
	other := uuid.MustParse("01a20813-0e60-7510-99dc-5c4a8aa50d45")

	var text string
	var back, null uuid.UUID
	var ptr, nullPtr *uuid.UUID
	var arr []uuid.UUID
	null = other
	require.NoError(t, pool.QueryRow(ctx, `SELECT $1::uuid::text, $1::uuid, NULL::uuid, $2::uuid, NULL::uuid, $3::uuid[]`,
		id, &other, []uuid.UUID{id, other}).Scan(&text, &back, &null, &ptr, &nullPtr, &arr))
	require.Equal(t, id.String(), text, "a parameter is the UUID, not its text")
	require.Equal(t, id, back)
	require.Equal(t, uuid.Nil, null)
	require.Equal(t, &other, ptr)
	require.Nil(t, nullPtr)
	require.Equal(t, []uuid.UUID{id, other}, arr)

	var isNull bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT $1::uuid IS NULL`, (*uuid.UUID)(nil)).Scan(&isNull))
	require.True(t, isNull)
}
