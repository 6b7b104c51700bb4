// Package model holds the GraphQL-only types: the generated inputs and payloads, the connection
// types, the JSON scalar and the Node interface. Domain records are bound directly to internal/crm
// types (gqlgen.yml), so resolvers return them without copying.
package model

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/99designs/gqlgen/graphql"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// Node is any record with a global ID (crm.Account, crm.Contact, crm.User, ...).
type Node interface{}

// MarshalJSON writes a JSON scalar value as it is stored.
func MarshalJSON(v json.RawMessage) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if len(v) == 0 {
			_, _ = io.WriteString(w, "null")
			return
		}
		_, _ = w.Write(v)
	})
}

// UnmarshalJSON reads a JSON scalar from a query literal or variables.
func UnmarshalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not a JSON value: %w", err)
	}
	return b, nil
}

// AccountConnection is a page of accounts. Count is called only when totalCount is selected.
type AccountConnection struct {
	Nodes    []crm.Account
	Edges    []AccountEdge
	PageInfo PageInfo
	Count    func(ctx context.Context) (int, error)
}

// ContactConnection is a page of contacts. Count is called only when totalCount is selected.
type ContactConnection struct {
	Nodes    []crm.Contact
	Edges    []ContactEdge
	PageInfo PageInfo
	Count    func(ctx context.Context) (int, error)
}

// NewPageInfo converts the service's page description.
func NewPageInfo(p service.PageInfo) PageInfo {
	return PageInfo{HasNextPage: p.HasNextPage, HasPreviousPage: p.HasPreviousPage,
		StartCursor: nonEmpty(p.StartCursor), EndCursor: nonEmpty(p.EndCursor)}
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// OpportunityConnection is a page of deals. Count is called only when totalCount is selected.
type OpportunityConnection struct {
	Nodes    []crm.Opportunity
	Edges    []OpportunityEdge
	PageInfo PageInfo
	Count    func(ctx context.Context) (int, error)
}

// BoardColumn is one stage of a pipeline board.
type BoardColumn struct {
	Stage  crm.Stage
	Count  int
	Totals []service.StageTotal
	Deals  *OpportunityConnection
}

// LeadConnection is a page of leads. Count is called only when totalCount is selected.
type LeadConnection struct {
	Nodes    []crm.Lead
	Edges    []LeadEdge
	PageInfo PageInfo
	Count    func(ctx context.Context) (int, error)
}
