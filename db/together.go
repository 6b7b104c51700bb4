package db

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rapportcrm/rapport/internal/crm"
)

// ReadTogether runs fns concurrently and sends their reads to PostgreSQL together. Each fn gets a
// context in which Read (for orgID) does not take a connection of its own: the statement waits
// until every fn is either waiting on a read or has returned, and then the waiting statements go
// out as one pipeline, behind one tenant setup, in the fns' order, and run as one implicit
// transaction, as Read's single statement does. Each fn reads its rows in turn; then the fns go on
// one at a time, in their order, each up to its next read (which joins the next round) or its
// return. So independent reads (the accounts, owners and contacts a page refers to) cost one round
// trip and one tenant setup between them, and reads that depend on earlier ones (a page's accounts'
// owners) cost one more round, whatever the page size.
//
// Because the fns go on one at a time, what each one sees of the others' results (a shared cache)
// and so the statements of every round depend only on what the fns do, never on how goroutines
// are scheduled. A fn's reads must be sequential. Inside a fn, a nested ReadTogether runs its fns
// one after the other within the enclosing rounds. ReadTogether returns the first error in the
// fns' order; a failed statement fails the rest of its round, as in any transaction.
func ReadTogether(ctx context.Context, pool *pgxpool.Pool, orgID crm.ID, fns ...func(context.Context) error) error {
	if _, nested := ctx.Value(memberKey{}).(*member); nested || len(fns) == 1 {
		for _, fn := range fns {
			if err := fn(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	g := &group{pool: pool, orgID: orgID, org: orgID.String(), events: make(chan event)}
	for i, fn := range fns {
		m := &member{g: g, index: i, reply: make(chan reply), resume: make(chan struct{})}
		go m.run(context.WithValue(ctx, memberKey{}, m), fn)
	}
	errs := make([]error, len(fns))
	// The first round: every fn runs up to its first read or its return.
	var round []*request
	for range fns {
		if req := g.take(<-g.events, errs); req != nil {
			round = append(round, req)
		}
	}
	slices.SortFunc(round, func(a, b *request) int { return a.member.index - b.member.index })
	for len(round) > 0 {
		g.send(ctx, round)
		// The fns go on one at a time, in order, so the next round is in order too.
		var next []*request
		for _, r := range round {
			r.member.resume <- struct{}{}
			if req := g.take(<-g.events, errs); req != nil {
				next = append(next, req)
			}
		}
		round = next
	}
	if g.conn != nil {
		g.conn.Release()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return Translate(g.err)
}

type memberKey struct{}

// group is the state of one ReadTogether: its connection, taken at the first round, and the
// events its fns post.
type group struct {
	pool   *pgxpool.Pool
	orgID  crm.ID
	org    string // orgID as the tenant setup's argument
	conn   *pgxpool.Conn
	err    error // the connection could not be taken, or a round could not be closed
	events chan event
}

// event is a fn's statement, or its return (req nil) with its error.
type event struct {
	index int
	req   *request
	err   error
}

// take returns the statement of an event, or records the error of a fn's return.
func (g *group) take(ev event, errs []error) *request {
	if ev.req == nil {
		errs[ev.index] = ev.err
	}
	return ev.req
}

type request struct {
	member *member
	sql    string
	args   []any
}

type reply struct {
	rows *memberRows
	err  error
}

// send runs one round: the tenant setup and the statements in one pipeline. It hands each fn its
// rows (or error) in order and waits until the fn has closed them before reading on; the fns then
// wait to be resumed.
func (g *group) send(ctx context.Context, round []*request) {
	if g.conn == nil && g.err == nil {
		conn, err := g.pool.Acquire(ctx)
		g.conn, g.err = conn, err
	}
	if g.err != nil {
		for _, r := range round {
			r.member.reply <- reply{err: g.err}
		}
		return
	}
	b := &pgx.Batch{}
	b.Queue(tenantSetup, g.org)
	for _, r := range round {
		b.Queue(r.sql, r.args...)
	}
	br := g.conn.SendBatch(ctx, b)
	_, err := br.Exec()
	for _, r := range round {
		if err != nil {
			r.member.reply <- reply{err: err}
			continue
		}
		rows, qerr := br.Query()
		if qerr != nil {
			err = qerr
			r.member.reply <- reply{err: qerr}
			continue
		}
		done := make(chan struct{})
		r.member.reply <- reply{rows: &memberRows{Rows: rows, done: done, resume: r.member.resume}}
		<-done
	}
	if cerr := br.Close(); cerr != nil && err == nil {
		g.err = cerr
	}
}

// member is one fn of a ReadTogether; as the executor Read hands that fn, it posts its statements
// to the group.
type member struct {
	g      *group
	index  int
	reply  chan reply
	resume chan struct{} // the group lets the fn go on after a round
	open   *memberRows   // the rows the fn last got, closed for it when it returns
}

// run runs fn and posts its return. A panic becomes the fn's error: it must not take the process
// down from a goroutine no handler recovers.
func (m *member) run(ctx context.Context, fn func(context.Context) error) {
	var err error
	defer func() {
		if r := recover(); r != nil {
			err = crm.Errorf(crm.EINTERNAL, "read failed: %v", r)
		}
		if m.open != nil {
			m.open.Close()
		}
		m.g.events <- event{index: m.index, err: err}
	}()
	err = fn(ctx)
}

// Query posts the statement to the group and waits for its rows.
func (m *member) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	if m.open != nil {
		m.open.Close()
	}
	m.g.events <- event{index: m.index, req: &request{member: m, sql: sql, args: args}}
	r := <-m.reply
	if r.err != nil {
		<-m.resume
		return nil, r.err
	}
	m.open = r.rows
	return r.rows, nil
}

// QueryRow is Query for one row.
func (m *member) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := m.Query(ctx, sql, args...)
	return &pipelinedRow{rows: rows, err: err}
}

// Exec is not allowed in a read.
func (m *member) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errReadOnly
}

// SendBatch is not allowed in a read.
func (m *member) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults {
	return failedBatch{}
}

// memberRows tells the group when the fn is done with its rows, so the next fn may read, and then
// waits for the group to let the fn go on.
type memberRows struct {
	pgx.Rows
	done   chan struct{}
	resume chan struct{}
}

func (r *memberRows) Close() {
	if r.done == nil {
		return
	}
	r.Rows.Close()
	close(r.done)
	r.done = nil
	<-r.resume
}
