package db

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// Read runs fn with an executor whose statements each run confined to orgID as the application
// role, in ONE round trip: the statement that sets the role and the organization and the query
// itself are pipelined, and PostgreSQL runs a pipeline up to its Sync as one implicit transaction,
// so set_config(..., true) applies to that query only. A read in a transaction (InTenant) costs three
// round trips (BEGIN and setup, query, COMMIT); every read uses this instead. Statements in one fn
// do not share a snapshot: use InTenant when they must.
//
// Within a ReadTogether for the same organization, the statements join its rounds instead.
func Read(ctx context.Context, pool *pgxpool.Pool, orgID crm.ID, fn func(query.DBTX) error) error {
	if m, ok := ctx.Value(memberKey{}).(*member); ok && m.g.orgID == orgID {
		return Translate(fn(m))
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return Translate(err)
	}
	defer conn.Release()
	return Translate(fn(&tenantReader{conn: conn, org: orgID.String()}))
}

const tenantSetup = "SELECT set_config('role', '" + appRole + "', true), set_config('app.org_id', $1, true)"

// errReadOnly is returned by the writing methods of a tenant reader.
var errReadOnly = errors.New("db.Read is for reads: use InTenant to write")

// tenantReader implements query.DBTX for single-statement reads.
type tenantReader struct {
	conn *pgxpool.Conn
	org  string
}

// Query sends the tenant setup and the query in one pipeline and returns the query's rows.
func (r *tenantReader) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	b := &pgx.Batch{}
	b.Queue(tenantSetup, r.org)
	b.Queue(sql, args...)
	br := r.conn.SendBatch(ctx, b)
	if _, err := br.Exec(); err != nil {
		_ = br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &pipelinedRows{Rows: rows, batch: br}, nil
}

// QueryRow is Query for one row.
func (r *tenantReader) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := r.Query(ctx, sql, args...)
	return &pipelinedRow{rows: rows, err: err}
}

// Exec is not allowed on a reader.
func (r *tenantReader) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errReadOnly
}

// SendBatch is not allowed on a reader.
func (r *tenantReader) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults {
	return failedBatch{}
}

// pipelinedRows closes the pipeline with the rows and reports its error.
type pipelinedRows struct {
	pgx.Rows
	batch pgx.BatchResults
	err   error
}

func (p *pipelinedRows) Close() {
	if p.batch == nil {
		return
	}
	p.Rows.Close()
	p.err = p.batch.Close()
	p.batch = nil
}

func (p *pipelinedRows) Err() error {
	if err := p.Rows.Err(); err != nil {
		return err
	}
	return p.err
}

type pipelinedRow struct {
	rows pgx.Rows
	err  error
}

func (p *pipelinedRow) Scan(dest ...any) error {
	if p.err != nil {
		return p.err
	}
	defer p.rows.Close()
	if !p.rows.Next() {
		if err := p.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := p.rows.Scan(dest...); err != nil {
		return err
	}
	p.rows.Close()
	return p.rows.Err()
}

// failedBatch answers every call with errReadOnly; the embedded interface is never called.
type failedBatch struct{ pgx.BatchResults }

func (failedBatch) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, errReadOnly }
func (failedBatch) Query() (pgx.Rows, error)         { return nil, errReadOnly }
func (failedBatch) QueryRow() pgx.Row                { return &pipelinedRow{err: errReadOnly} }
func (failedBatch) Close() error                     { return nil }
