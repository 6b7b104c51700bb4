package db_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// batchRecorder records the statements of every pipeline a pool sends, one list per pipeline.
type batchRecorder struct {
	mu      sync.Mutex
	batches [][]string
}

func (r *batchRecorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, []string{d.SQL})
	return ctx
}

func (r *batchRecorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *batchRecorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, nil)
	return ctx
}

func (r *batchRecorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	last := len(r.batches) - 1
	sql := d.SQL
	if strings.Contains(sql, "set_config") {
		sql = "setup"
	}
	r.batches[last] = append(r.batches[last], sql)
}

func (r *batchRecorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (r *batchRecorder) take() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.batches
	r.batches = nil
	return out
}

// value reads one text value with db.Read, as a service call does.
func value(ctx context.Context, pool *pgxpool.Pool, org crm.ID, sql string, out *string) error {
	return db.Read(ctx, pool, org, func(q query.DBTX) error { return q.QueryRow(ctx, sql).Scan(out) })
}

// Reads of cooperating fns go out in rounds: a round holds the next statement of every fn still
// running, in the fns' order, behind one tenant setup, and each fn sees its own rows, confined
// to the organization.
func TestReadTogetherSendsTheFnsReadsInRounds(t *testing.T) {
	rec := &batchRecorder{}
	pool, err := db.Open(t.Context(), dbtest.URL(t), db.PoolOptions{Tracer: rec})
	require.NoError(t, err)
	defer pool.Close()
	org := crm.NewID()
	// The fns' code, reads in sequence: fn i reads i+1 values (fn 2 none), each naming itself.
	reads := []int{1, 2, 0, 3}
	for range 20 { // the order must not depend on scheduling
		got := make([][]string, len(reads))
		fns := make([]func(context.Context) error, len(reads))
		for i, n := range reads {
			fns[i] = func(ctx context.Context) error {
				for j := range n {
					var v string
					sql := fmt.Sprintf("SELECT 'f%d.%d ' || current_setting('app.org_id')", i, j)
					if err := value(ctx, pool, org, sql, &v); err != nil {
						return err
					}
					got[i] = append(got[i], v)
				}
				return nil
			}
		}
		require.NoError(t, db.ReadTogether(t.Context(), pool, org, fns...))
		require.Equal(t, [][]string{{"f0.0 " + org.String()}, {"f1.0 " + org.String(), "f1.1 " + org.String()}, nil,
			{"f3.0 " + org.String(), "f3.1 " + org.String(), "f3.2 " + org.String()}}, got)
		q := func(i, j int) string { return fmt.Sprintf("SELECT 'f%d.%d ' || current_setting('app.org_id')", i, j) }
		require.Equal(t, [][]string{
			{"setup", q(0, 0), q(1, 0), q(3, 0)},
			{"setup", q(1, 1), q(3, 1)},
			{"setup", q(3, 2)},
		}, rec.take())
	}

	// A ReadTogether inside a fn adds its fns to the rounds in place of that fn, which goes on when
	// they have all returned.
	sel := func(name string) string { return "SELECT '" + name + "'" }
	read := func(ctx context.Context, names ...string) error {
		for _, n := range names {
			var v string
			if err := value(ctx, pool, org, sel(n), &v); err != nil {
				return err
			}
			if v != n {
				return fmt.Errorf("read %q for %q", v, n)
			}
		}
		return nil
	}
	require.NoError(t, db.ReadTogether(t.Context(), pool, org,
		func(ctx context.Context) error {
			if err := read(ctx, "a"); err != nil {
				return err
			}
			err := db.ReadTogether(ctx, pool, org,
				func(ctx context.Context) error { return read(ctx, "b", "c") },
				func(ctx context.Context) error { return read(ctx, "d") })
			if err != nil {
				return err
			}
			return read(ctx, "e")
		},
		func(ctx context.Context) error { return read(ctx, "x", "y") }))
	require.Equal(t, [][]string{
		{"setup", sel("a"), sel("x")},
		{"setup", sel("b"), sel("d"), sel("y")},
		{"setup", sel("c")},
		{"setup", sel("e")},
	}, rec.take())

	// Another organization's read inside the group takes a connection of its own.
	other := crm.NewID()
	var mine, theirs string
	require.NoError(t, db.ReadTogether(t.Context(), pool, org,
		func(ctx context.Context) error {
			return value(ctx, pool, org, "SELECT current_setting('app.org_id')", &mine)
		},
		func(ctx context.Context) error {
			return value(ctx, pool, other, "SELECT current_setting('app.org_id')", &theirs)
		}))
	require.Equal(t, org.String(), mine)
	require.Equal(t, other.String(), theirs)
	require.Len(t, rec.take(), 2)
}

// A failing statement fails the statements after it in its round, as in any transaction, but not
// the ones before it; a fn that panics or forgets its rows neither takes the process down nor
// holds up the others; ReadTogether returns the first error in the fns' order.
func TestReadTogetherFailures(t *testing.T) {
	pool, err := db.Open(t.Context(), dbtest.URL(t), db.PoolOptions{})
	require.NoError(t, err)
	defer pool.Close()
	org := crm.NewID()
	var before, after string
	var afterErr error
	err = db.ReadTogether(t.Context(), pool, org,
		func(ctx context.Context) error { return value(ctx, pool, org, "SELECT 'fine'", &before) },
		func(ctx context.Context) error {
			var v string
			return value(ctx, pool, org, "SELECT (1 / (random() * 0)::int)::text", &v)
		},
		func(ctx context.Context) error {
			afterErr = value(ctx, pool, org, "SELECT 'too late'", &after)
			return nil
		})
	require.ErrorContains(t, err, "division by zero")
	require.Equal(t, "fine", before)
	require.Error(t, afterErr)
	require.Empty(t, after)

	var next string
	err = db.ReadTogether(t.Context(), pool, org,
		func(ctx context.Context) error {
			return db.Read(ctx, pool, org, func(q query.DBTX) error {
				_, err := q.Query(ctx, "SELECT generate_series(1, 1000)") // rows never read nor closed
				return err
			})
		},
		func(ctx context.Context) error { panic("a bug") },
		func(ctx context.Context) error {
			var v string
			if err := value(ctx, pool, org, "SELECT 'one'", &v); err != nil {
				return err
			}
			return value(ctx, pool, org, "SELECT 'two'", &next)
		})
	require.Equal(t, crm.EINTERNAL, crm.ErrorCode(err))
	require.ErrorContains(t, err, "a bug")
	require.Equal(t, "two", next)
}
