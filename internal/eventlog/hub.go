package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// mailboxLimit bounds the events queued for one slow subscriber. Past it the hub drops the queued
// events and the subscriber reads them back from the log: slow clients cost a query, never memory.
const mailboxLimit = 1000

// pageSize is how many events one catch-up query reads.
const pageSize = 500

// Hub fans published events out to this process's subscribers. It LISTENs on Channel; for each
// published range of an organization that has subscribers it reads the events once and hands the
// same batch to every subscriber of that organization. Each subscriber keeps its own cursor and
// reads from the log whatever it did not get live (events before it subscribed, or dropped while
// it was slow), so delivery has no gap and no duplicate.
type Hub struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	mu   sync.Mutex
	orgs map[crm.ID]map[*subscriber]struct{}
}

// NewHub returns a hub; call Run to start listening.
func NewHub(pool *pgxpool.Pool, log *slog.Logger) *Hub {
	return &Hub{pool: pool, log: log, orgs: map[crm.ID]map[*subscriber]struct{}{}}
}

type subscriber struct {
	orgID  crm.ID
	signal chan struct{}

	mu     sync.Mutex
	queued []crm.Event
	high   int64 // highest sequence number known to be published
}

func (s *subscriber) push(events []crm.Event, high int64) {
	s.mu.Lock()
	if len(s.queued)+len(events) > mailboxLimit {
		s.queued = nil // the subscriber reads them back from the log
	} else {
		s.queued = append(s.queued, events...)
	}
	s.high = max(s.high, high)
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *subscriber) take() ([]crm.Event, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queued
	s.queued = nil
	return q, s.high
}

// Subscribe delivers the organization's published events with a sequence number above after (or,
// when after is nil, those published from now on) on the returned channel, in order, until ctx
// ends. keep decides which events the subscriber receives (visibility, types); the cursor moves
// past the others too.
func (h *Hub) Subscribe(ctx context.Context, orgID crm.ID, after *int64, keep func(crm.Event) bool) (<-chan crm.Event, error) {
	sub := &subscriber{orgID: orgID, signal: make(chan struct{}, 1)}
	h.add(sub) // before reading the log, so nothing published meanwhile is missed
	cursor, err := h.start(ctx, orgID, after)
	if err != nil {
		h.remove(sub)
		return nil, err
	}
	out := make(chan crm.Event, 16)
	go func() {
		defer close(out)
		defer h.remove(sub)
		deliver := func(e crm.Event) bool {
			if e.Seq != cursor+1 {
				return true // duplicate or out of order: the caller fills gaps first
			}
			cursor = e.Seq
			if !keep(e) {
				return true
			}
			select {
			case out <- e:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if !h.fill(ctx, orgID, cursor, math.MaxInt64, deliver) {
			return
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.signal:
			}
			batch, high := sub.take()
			for _, e := range batch {
				if e.Seq <= cursor {
					continue
				}
				if e.Seq > cursor+1 && !h.fill(ctx, orgID, cursor, e.Seq-1, deliver) {
					return
				}
				if !deliver(e) {
					return
				}
			}
			if high > cursor && !h.fill(ctx, orgID, cursor, high, deliver) {
				return
			}
		}
	}()
	return out, nil
}

// start returns the cursor a new subscription starts from.
func (h *Hub) start(ctx context.Context, orgID crm.ID, after *int64) (int64, error) {
	if after != nil {
		return max(*after, 0), nil
	}
	var last int64
	err := db.Read(ctx, h.pool, orgID, func(q query.DBTX) (err error) {
		last, err = query.New(q).LastSeq(ctx, orgID)
		return err
	})
	return last, err
}

// fill reads published events in (from, to] from the log and delivers them. It reports false when
// the subscription should end (its context is done, or the log cannot be read).
func (h *Hub) fill(ctx context.Context, orgID crm.ID, from, to int64, deliver func(crm.Event) bool) bool {
	for from < to {
		events, err := h.read(ctx, orgID, from, to)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Error("event hub: read log", "org", orgID, "err", err)
			}
			return false
		}
		for _, e := range events {
			if !deliver(e) {
				return false
			}
			from = e.Seq
		}
		if len(events) < pageSize {
			return true
		}
	}
	return true
}

func (h *Hub) read(ctx context.Context, orgID crm.ID, from, to int64) ([]crm.Event, error) {
	var events []crm.Event
	err := db.Read(ctx, h.pool, orgID, func(q query.DBTX) error {
		rows, err := query.New(q).EventsAfter(ctx, query.EventsAfterParams{
			OrgID: orgID, AfterSeq: from, UntilSeq: to, RecordTypes: []string{}, MaxEvents: pageSize,
		})
		events = make([]crm.Event, len(rows))
		for i, r := range rows {
			events[i] = FromRow(r.Event, r.Seq)
		}
		return err
	})
	return events, err
}

func (h *Hub) add(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.orgs[s.orgID] == nil {
		h.orgs[s.orgID] = map[*subscriber]struct{}{}
	}
	h.orgs[s.orgID][s] = struct{}{}
}

func (h *Hub) remove(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.orgs[s.orgID], s)
	if len(h.orgs[s.orgID]) == 0 {
		delete(h.orgs, s.orgID)
	}
}

func (h *Hub) subscribers(orgID crm.ID) []*subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := make([]*subscriber, 0, len(h.orgs[orgID]))
	for s := range h.orgs[orgID] {
		subs = append(subs, s)
	}
	return subs
}

// Subscribers returns how many subscriptions this hub serves, for metrics.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, subs := range h.orgs {
		n += len(subs)
	}
	return n
}

// Run listens for published events until ctx ends, reconnecting after connection loss. After a
// reconnect every subscriber re-reads the log up to the current end, so no notification lost while
// disconnected loses an event.
func (h *Hub) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := h.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		h.log.Warn("event hub: listener lost, reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (h *Hub) listen(ctx context.Context) error {
	pooled, err := h.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pooled.Hijack() // LISTEN state must not return to the pool
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return err
	}
	h.resync(ctx)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var batch []Published
		if err := json.Unmarshal([]byte(n.Payload), &batch); err != nil {
			h.log.Error("event hub: bad notification", "payload", n.Payload)
			continue
		}
		for _, p := range batch {
			h.dispatch(ctx, p)
		}
	}
}

// dispatch reads one published range once and queues it for the organization's subscribers.
func (h *Hub) dispatch(ctx context.Context, p Published) {
	subs := h.subscribers(p.OrgID)
	if len(subs) == 0 {
		return
	}
	events, err := h.read(ctx, p.OrgID, p.First-1, p.Last)
	if err != nil {
		events = nil // subscribers read the range themselves
		if !errors.Is(err, context.Canceled) {
			h.log.Error("event hub: read published events", "org", p.OrgID, "err", err)
		}
	}
	if len(events) == pageSize { // a large range: let each subscriber page through it
		events = nil
	}
	for _, s := range subs {
		s.push(events, p.Last)
	}
}

// resync tells every subscriber the current end of its organization's log.
func (h *Hub) resync(ctx context.Context) {
	h.mu.Lock()
	orgs := make([]crm.ID, 0, len(h.orgs))
	for org := range h.orgs {
		orgs = append(orgs, org)
	}
	h.mu.Unlock()
	for _, org := range orgs {
		last, err := h.start(ctx, org, nil)
		if err != nil {
			continue
		}
		for _, s := range h.subscribers(org) {
			s.push(nil, last)
		}
	}
}
