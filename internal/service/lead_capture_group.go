package service

import (
	"context"
	"sync"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Group commit for single captures.
//
// A web site under a campaign sends many captureLead calls at once, each a transaction of its own
// with about ten round trips and a commit. Concurrent single captures of one actor are therefore
// coalesced: the first call of an idle actor starts a batch at once (no added wait when traffic is
// light); calls arriving while that batch runs queue up and go together as the next batch, through
// the same set-based writer as captureLeads. Each capture still has its deduplication, its event
// and its scoring job in the transaction that stores its lead; the transaction is shared with its
// neighbours. An item's own invalid input fails only that item; if the batch's transaction fails
// as a whole, each of its items is retried alone, so a neighbour can never fail a capture.

// captureBatchTimeout bounds a coalesced batch's transaction: it runs detached from the callers'
// contexts, since one caller giving up must not abort its neighbours' captures.
const captureBatchTimeout = 30 * time.Second

// captureGroups holds the queue of single captures per actor.
type captureGroups struct {
	mu     sync.Mutex
	queues map[captureActor]*captureQueue
}

// captureActor identifies whose captures may share a transaction: events record the actor.
type captureActor struct {
	org  crm.ID
	kind crm.ActorKind
	id   crm.ID
	role crm.Role
}

func captureKey(a *crm.Actor) captureActor {
	return captureActor{org: a.OrgID, kind: a.Kind, id: a.ID(), role: a.Role}
}

// captureQueue is one actor's waiting captures and whether a batch of theirs is running.
type captureQueue struct {
	waiting []*captureCall
	running bool
}

// captureCall is one captureLead call waiting for its batch.
type captureCall struct {
	ctx  context.Context
	in   LeadInput
	item CaptureItem
	done chan struct{}
}

// captureGrouped captures one lead in the actor's next batch and waits for its result.
func (s *Service) captureGrouped(ctx context.Context, a *crm.Actor, in LeadInput) (CaptureResult, error) {
	call := &captureCall{ctx: ctx, in: in, done: make(chan struct{})}
	key := captureKey(a)
	g := &s.captures
	g.mu.Lock()
	if g.queues == nil {
		g.queues = map[captureActor]*captureQueue{}
	}
	q := g.queues[key]
	if q == nil {
		q = &captureQueue{}
		g.queues[key] = q
	}
	q.waiting = append(q.waiting, call)
	start := !q.running
	q.running = true
	g.mu.Unlock()
	if start {
		go s.drainCaptures(a, key, q)
	}
	select {
	case <-call.done:
		return call.item.Result, call.item.Err
	case <-ctx.Done():
		// The capture may still be stored by its batch, as when a client hangs up after the commit.
		return CaptureResult{}, ctx.Err()
	}
}

// drainCaptures runs the queue's waiting captures in batches until none is left.
func (s *Service) drainCaptures(a *crm.Actor, key captureActor, q *captureQueue) {
	g := &s.captures
	for {
		g.mu.Lock()
		n := min(len(q.waiting), MaxCaptureBatch)
		if n == 0 {
			q.running = false
			delete(g.queues, key)
			g.mu.Unlock()
			return
		}
		batch := q.waiting[:n:n]
		q.waiting = q.waiting[n:]
		g.mu.Unlock()
		s.captureBatch(a, batch)
	}
}

// captureBatch captures the calls' leads in one transaction; if it fails as a whole, each call is
// captured alone, so that the error reaches only the calls it belongs to.
func (s *Service) captureBatch(a *crm.Actor, calls []*captureCall) {
	answered := 0
	defer func() {
		// A panic here would end the whole server (this goroutine has no caller to recover it):
		// the calls still waiting get an internal error instead.
		if r := recover(); r != nil {
			s.log.Error("capture batch panicked", "panic", r)
			for _, c := range calls[answered:] {
				c.item = CaptureItem{Err: crm.Errorf(crm.EINTERNAL, "The capture failed; retry.")}
				close(c.done)
			}
		}
	}()
	ins := make([]LeadInput, len(calls))
	for i, c := range calls {
		ins[i] = c.in
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(calls[0].ctx), captureBatchTimeout)
	defer cancel()
	var items []CaptureItem
	var err error
	if s.beforeCaptureBatch != nil {
		err = s.beforeCaptureBatch(len(ins))
	}
	if err == nil {
		items, err = s.captureTx(ctx, a, ins)
	}
	for i, c := range calls {
		switch {
		case err == nil:
			c.item = items[i]
		case len(calls) == 1:
			c.item.Err = err
		default:
			c.item = s.captureAlone(c.ctx, a, c.in)
		}
		close(c.done)
		answered++
	}
}

// captureAlone captures one lead in a transaction of its own.
func (s *Service) captureAlone(ctx context.Context, a *crm.Actor, in LeadInput) CaptureItem {
	items, err := s.captureTx(ctx, a, []LeadInput{in})
	if err != nil {
		return CaptureItem{Err: err}
	}
	return items[0]
}
