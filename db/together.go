package db

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rapportcrm/rapport/internal/crm"
)

// ReadTogether runs fns as cooperating functions and sends their reads to PostgreSQL together.
// Each fn gets a context in which Read (for orgID) does not take a connection of its own: the
// statement waits until every fn is waiting on a read or has returned, and then the waiting
// statements go out as one pipeline, behind one tenant setup, in the fns' order, and run as one
// implicit transaction, as Read's single statement does. The fns then read their rows and go on,
// one after the other in their order, each up to its next read (which joins the next round) or its
// return. So independent reads (the accounts, owners and contacts a page refers to) cost one round
// trip and one tenant setup between them, and reads that depend on earlier ones (a page's accounts'
// owners) one more round, whatever the page size.
//
// The fns never run at the same time: each runs only while the others wait, in a fixed order. So
// what each sees of the others' results (a shared cache), and the statements of every round, depend
// only on what the fns do, never on how goroutines are scheduled, and the fns need no locks. A
// ReadTogether inside a fn (for the same organization) adds its fns to the same rounds, in place of
// the fn that called it, which goes on when they have all returned. A fn's reads must be made by
// the fn itself, not by goroutines it starts. ReadTogether returns the first error in the fns'
// order; a failed statement fails the rest of its round, as in any transaction; a panic in a fn
// becomes its error.
func ReadTogether(ctx context.Context, pool *pgxpool.Pool, orgID crm.ID, fns ...func(context.Context) error) error {
	m, nested := ctx.Value(memberKey{}).(*member)
	switch {
	case len(fns) == 0:
		return nil
	case len(fns) == 1:
		return fns[0](ctx)
	case nested && m.g.orgID == orgID:
		return m.spawn(ctx, fns)
	case nested: // another organization's reads: one after the other, each on its own connection
		for _, fn := range fns {
			if err := fn(ctx); err != nil {
				return err
			}
		}
		return nil
	}
	g := &group{pool: pool, orgID: orgID, org: orgID.String(), events: make(chan event)}
	top := g.brood(ctx, nil, fns)
	round := g.start(top, nil)
	for len(round) > 0 {
		g.send(ctx, round)
		var next []*request
		for _, r := range round {
			next = g.advance(r.member, next)
		}
		round = next
	}
	if g.conn != nil {
		g.conn.Release()
	}
	for _, err := range top.errs {
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

// brood is the fns of one ReadTogether call: the fn that called it (nil at the top), how many are
// still running, and their errors.
type brood struct {
	parent  *member
	members []*member
	live    int
	errs    []error
}

// member is one fn; as the executor Read hands that fn, it posts its statements to the group.
type member struct {
	g      *group
	brood  *brood
	index  int
	reply  chan reply
	resume chan struct{} // the group lets the fn run
	open   *memberRows   // the rows the fn last got, closed for it when it returns
}

// event is what a member posts when it stops running: a statement, fns to add, or its return.
type event struct {
	member *member
	req    *request
	spawn  *brood
	err    error // of a return
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

// brood makes the members of fns, each in a goroutine that waits to be started.
func (g *group) brood(ctx context.Context, parent *member, fns []func(context.Context) error) *brood {
	b := &brood{parent: parent, live: len(fns), errs: make([]error, len(fns))}
	for i, fn := range fns {
		m := &member{g: g, brood: b, index: i, reply: make(chan reply), resume: make(chan struct{})}
		b.members = append(b.members, m)
		go m.run(context.WithValue(ctx, memberKey{}, m), fn)
	}
	return b
}

// start runs the members of b one after the other, each up to its first read or its return, and
// appends their reads to round.
func (g *group) start(b *brood, round []*request) []*request {
	for _, m := range b.members {
		round = g.advance(m, round)
	}
	return round
}

// advance lets m run up to its next read, which it appends to round, or its return; when m was
// the last of its brood to return, the fn that spawned it goes on in its place.
func (g *group) advance(m *member, round []*request) []*request {
	m.resume <- struct{}{}
	ev := <-g.events
	switch {
	case ev.req != nil:
		return append(round, ev.req)
	case ev.spawn != nil:
		return g.start(ev.spawn, round)
	}
	b := ev.member.brood
	b.errs[ev.member.index] = ev.err
	if b.live--; b.live == 0 && b.parent != nil {
		return g.advance(b.parent, round)
	}
	return round
}

// send runs one round: the tenant setup and the statements in one pipeline. It hands each fn its
// rows (or error) in order and waits until the fn has closed them before reading on.
func (g *group) send(ctx context.Context, round []*request) {
	if g.conn == nil && g.err == nil {
		g.conn, g.err = g.pool.Acquire(ctx)
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

// run waits to be started, runs fn and posts its return. A panic becomes the fn's error: it must
// not take the process down from a goroutine no handler recovers.
func (m *member) run(ctx context.Context, fn func(context.Context) error) {
	<-m.resume
	var err error
	defer func() {
		if r := recover(); r != nil {
			err = crm.Errorf(crm.EINTERNAL, "read failed: %v", r)
		}
		if m.open != nil {
			m.open.Close()
		}
		m.g.events <- event{member: m, err: err}
	}()
	err = fn(ctx)
}

// spawn adds fns to the group in place of m, and returns when they all have.
func (m *member) spawn(ctx context.Context, fns []func(context.Context) error) error {
	b := m.g.brood(ctx, m, fns)
	m.g.events <- event{member: m, spawn: b}
	<-m.resume
	for _, err := range b.errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Query posts the statement to the group and waits for its rows.
func (m *member) Query(_ context.Context, sql string, args ...any) (pgx.Rows, error) {
	if m.open != nil {
		m.open.Close()
	}
	m.g.events <- event{member: m, req: &request{member: m, sql: sql, args: args}}
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
