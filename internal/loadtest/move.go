package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
)

// Source makes the requests of a scenario whose bodies depend on earlier responses, such as a
// write that must send the version it last read. The bench asks it for a body before every
// request and hands it every response; Next and Done are called from many goroutines.
type Source interface {
	// Next returns the body of the next request and a slot that identifies it to Done. It may wait
	// until an earlier request is done; it fails when no request can be made any more.
	Next() (slot int, body []byte, err error)
	// Done receives the response to the request of slot: its HTTP status (0 when there was no
	// response) and body.
	Done(slot int, status int, body []byte)
}

// DealState is a deal as the move scenarios track it.
type DealState struct {
	ID      string
	Version int
	Stage   string
}

// MoveDoc moves a deal and reads back what the next move needs (and what a board card shows).
const MoveDoc = `mutation MoveOpportunity($input: MoveOpportunityInput!) { moveOpportunity(input: $input) {
  opportunity { id version stage { id } probability stageEnteredAt } } }`

const moveDealsDoc = `query BenchMoveDeals($pipelineId: ID!, $stageIds: [ID!]!, $search: String!, $after: String) {
  opportunities(first: 100, after: $after, filter: {pipelineId: $pipelineId, stageIds: $stageIds, closed: false, search: $search}) {
    nodes { id name version stage { id } } pageInfo { hasNextPage endCursor } } }`

// LoadMoveDeals reads up to limit deals of the data set that sit in the pipeline's two move stages
// (see Pipeline.MoveStages), with their current versions, and the two stages.
func LoadMoveDeals(ctx context.Context, c *Client, p Pipeline, limit int) ([]DealState, [2]string, error) {
	stages, ok := p.MoveStages()
	if !ok {
		return nil, stages, errors.New("the default pipeline has fewer than two open stages to move deals between")
	}
	var deals []DealState
	errEnough := errors.New("enough")
	vars := map[string]any{"pipelineId": p.ID, "stageIds": stages[:], "search": dealPrefix}
	err := pages(ctx, c, moveDealsDoc, "opportunities", vars, func(raw json.RawMessage) error {
		var nodes []struct {
			ID      string
			Name    string
			Version int
			Stage   struct{ ID string }
		}
		if err := json.Unmarshal(raw, &nodes); err != nil {
			return err
		}
		for _, n := range nodes {
			if _, ok := dealIndex(n.Name); ok {
				deals = append(deals, DealState{ID: n.ID, Version: n.Version, Stage: n.Stage.ID})
			}
			if len(deals) >= limit {
				return errEnough
			}
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, stages, fmt.Errorf("reading the deals to move: %w", err)
	}
	if len(deals) == 0 {
		return nil, stages, errors.New("no deals of the data set to move: prepare them with --deals")
	}
	return deals, stages, nil
}

// MoveSource moves deals back and forth between two stages, each move sending the version the
// previous answer returned. A deal is moved by one request at a time: Next hands out the deals in
// turn and waits when all are in flight. A CONFLICT answer (someone else moved the deal) takes the
// current version from the error, so the deal's next move succeeds; a deal whose move failed
// otherwise is dropped, since its state is unknown.
type MoveSource struct {
	stages  [2]string
	deals   []DealState // deals[i] belongs to whoever holds slot i
	free    chan int
	dead    chan struct{}
	dropped atomic.Int64
	moved   atomic.Int64
}

// NewMoveSource returns a source that moves deals between stages.
func NewMoveSource(deals []DealState, stages [2]string) (*MoveSource, error) {
	if len(deals) == 0 {
		return nil, errors.New("no deals to move")
	}
	m := &MoveSource{stages: stages, deals: deals, free: make(chan int, len(deals)), dead: make(chan struct{})}
	for i := range deals {
		m.free <- i
	}
	return m, nil
}

// Next returns a move of the next deal that is not being moved.
func (m *MoveSource) Next() (int, []byte, error) {
	var i int
	select {
	case i = <-m.free:
	case <-m.dead:
		return 0, nil, errors.New("every deal to move was dropped after a failed move")
	}
	d := m.deals[i]
	to := m.stages[0]
	if d.Stage == m.stages[0] {
		to = m.stages[1]
	}
	body, err := json.Marshal(map[string]any{"query": MoveDoc, "variables": map[string]any{
		"input": map[string]any{"id": d.ID, "toStageId": to, "expectedVersion": d.Version}}})
	return i, body, err
}

// Done updates the deal of slot from the response and frees it.
func (m *MoveSource) Done(slot int, status int, body []byte) {
	if slot < 0 || slot >= len(m.deals) {
		return
	}
	var r struct {
		Data struct {
			MoveOpportunity *struct {
				Opportunity struct {
					ID      string
					Version int
					Stage   struct{ ID string }
				}
			}
		}
		Errors []GraphQLError
	}
	d := &m.deals[slot]
	err := json.Unmarshal(body, &r)
	switch {
	case err == nil && status == http.StatusOK && len(r.Errors) == 0 && r.Data.MoveOpportunity != nil &&
		r.Data.MoveOpportunity.Opportunity.ID == d.ID:
		o := r.Data.MoveOpportunity.Opportunity
		d.Version, d.Stage = o.Version, o.Stage.ID
		m.moved.Add(1)
	case err == nil && len(r.Errors) > 0 && r.Errors[0].Code() == "CONFLICT":
		v, ok := r.Errors[0].Extensions["currentVersion"].(float64)
		if !ok {
			m.drop()
			return
		}
		d.Version = int(v)
	default:
		m.drop()
		return
	}
	m.free <- slot
}

func (m *MoveSource) drop() {
	if int(m.dropped.Add(1)) == len(m.deals) {
		close(m.dead)
	}
}

// Moved returns how many moves succeeded; Dropped how many deals were dropped.
func (m *MoveSource) Moved() int { return int(m.moved.Load()) }

// Dropped returns how many deals were dropped after a failed move.
func (m *MoveSource) Dropped() int { return int(m.dropped.Load()) }
