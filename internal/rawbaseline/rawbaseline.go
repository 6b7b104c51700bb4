// Package rawbaseline is the physical ceiling that `rapport bench` measures the GraphQL API
// against: a hand-written net/http handler per read scenario of internal/loadtest that runs the
// very statements the GraphQL path runs for that scenario's document and writes the JSON the
// GraphQL response's "data" holds, with no GraphQL in between (no parsing, validation, field
// execution or lookahead walk).
//
// It runs the statements by calling the same service methods the resolvers and their prefetch
// call, in the same order: the same sqlc queries and list SQL, each through db.Read (tenant setup
// pipelined with the query, as the application role under row-level security), with the same
// authorization and field masking. So the ratio of the two throughputs is what the GraphQL layer
// costs. A test in package api pins that both answer the same data with the same statements.
//
// Each route answers one scenario's document as `rapport bench` sends it; the page sizes are that
// document's literals. The request body is the scenario's GraphQL request; only its variables are
// read.
package rawbaseline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// The literals of the scenarios' documents (internal/loadtest).
const (
	pageSize         = 50 // contacts(first: 50), accounts(first: 50), opportunities(first: 50)
	contactsPerAcct  = 5  // accounts { contacts(first: 5) }
	boardDealsPerCol = 20 // pipelineBoard(dealsPerStage: 20)
)

// Path is the prefix of the baseline's routes: POST Path + scenario name (loadtest.RawPath).
const Path = "/raw/"

// handler serves the baseline's routes.
type handler struct {
	svc *service.Service
	log *slog.Logger
}

// scenario reads one scenario's data for the actor; vars are the request's variables.
type scenario func(ctx context.Context, a *crm.Actor, vars variables) (any, error)

// variables are the variables of the scenarios' documents.
type variables struct {
	ID         string `json:"id"`
	PipelineID string `json:"pipelineId"`
}

// New returns the baseline's handler: POST /raw/<scenario> with the scenario's GraphQL request
// and the same bearer token as the API.
func New(svc *service.Service, log *slog.Logger) http.Handler {
	h := &handler{svc: svc, log: log}
	routes := map[string]scenario{
		"record-by-id":       h.recordByID,
		"contacts-page":      h.contactsPage,
		"accounts-page":      h.accountsPage,
		"opportunities-page": h.opportunitiesPage,
		"pipeline-board":     h.pipelineBoard,
	}
	mux := http.NewServeMux()
	for name, fn := range routes {
		mux.Handle("POST "+Path+name, h.serve(fn))
	}
	return mux
}

// serve authenticates the request as the API does, decodes its variables, runs the scenario and
// writes {"data": ...} or {"errors": [...]}.
func (h *handler) serve(fn scenario) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			h.fail(w, r, crm.Errorf(crm.EUNAUTHENTICATED, "Send a bearer token."))
			return
		}
		a, err := h.svc.Authenticate(ctx, strings.TrimSpace(token))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		var req struct {
			Variables variables `json:"variables"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
			h.fail(w, r, crm.Invalid("body", "The body is not a JSON GraphQL request: %v", err))
			return
		}
		data, err := fn(ctx, a, req.Variables)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(struct {
			Data any `json:"data"`
		}{data})
	})
}

// fail writes an error as a GraphQL-style error: 401 for a missing or rejected credential, 200 for
// the rest (as the API answers errors of a resolver).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := crm.ErrorCode(err)
	status := http.StatusOK
	switch code {
	case crm.EUNAUTHENTICATED:
		status = http.StatusUnauthorized
	case crm.EINTERNAL:
		h.log.ErrorContext(r.Context(), "raw baseline", "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	type gqlError struct {
		Message    string            `json:"message"`
		Extensions map[string]string `json:"extensions"`
	}
	_ = json.NewEncoder(w).Encode(struct {
		Errors []gqlError `json:"errors"`
	}{[]gqlError{{Message: crm.ErrorMessage(err), Extensions: map[string]string{"code": code}}}})
}
