// Package graph is the GraphQL glue: resolvers that map arguments to service calls and results
// back, the error presenter, global IDs and operation limits. No business rule lives here; the
// generated code is in graph/generated and graph/model. Nested references are fetched ahead by the
// list resolvers (prefetch.go) into a per-response cache that the reference fields read.
package graph

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// Resolver is the root of the resolver tree and holds its dependencies.
type Resolver struct {
	svc *service.Service
	log *slog.Logger
}

// NewResolver returns the resolver root.
func NewResolver(svc *service.Service, log *slog.Logger) *Resolver {
	return &Resolver{svc: svc, log: log}
}

type authErrorKey struct{}

// WithAuthError records why the request's credentials were rejected (expired, forged, revoked), so
// that operations needing an actor report exactly that, while login still works.
func WithAuthError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, authErrorKey{}, err)
}

// actor returns the authenticated actor of the request, or UNAUTHENTICATED saying why.
func actor(ctx context.Context) (*crm.Actor, error) {
	if a := crm.ActorFrom(ctx); a != nil {
		return a, nil
	}
	if err, ok := ctx.Value(authErrorKey{}).(error); ok {
		return nil, err
	}
	return nil, crm.Errorf(crm.EUNAUTHENTICATED, "Sign in first: send an Authorization: Bearer token.")
}

type idempotencyKey struct{}

// WithIdempotencyKey is HTTP middleware that makes the Idempotency-Key header available to create
// mutations that do not pass idempotencyKey in their input.
func WithIdempotencyKey(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			r = r.WithContext(context.WithValue(r.Context(), idempotencyKey{}, k))
		}
		next.ServeHTTP(w, r)
	})
}

// idempotencyKeyOf returns the key from the input, else from the header.
func idempotencyKeyOf(ctx context.Context, input *string) string {
	if input != nil {
		return *input
	}
	k, _ := ctx.Value(idempotencyKey{}).(string)
	return k
}

// ptr returns a pointer to a copy of v, for optional fields of generated payloads.
func ptr[T any](v T) *T { return &v }

// forward hands a service stream to gqlgen, which wants pointers, until either side ends.
func forward[T any](ctx context.Context, in <-chan T) <-chan *T {
	out := make(chan *T)
	go func() {
		defer close(out)
		for v := range in {
			select {
			case out <- &v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
