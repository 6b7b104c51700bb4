package graph

import (
	"context"
	"net/http"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// loaderWait is how long a loader collects keys before fetching. gqlgen resolves the elements of a
// list concurrently, so the keys of a whole page arrive within microseconds; dataloadgen's default
// (16 ms) would add that much to every nested level of every request.
const loaderWait = 300 * time.Microsecond

// loaders batch the nested lookups of one request so that a page costs a fixed number of queries,
// whatever its size. They go through the service, so visibility and masking apply, and they return
// results in key order.
type loaders struct {
	accounts       *dataloadgen.Loader[crm.ID, crm.Account]
	contacts       *dataloadgen.Loader[crm.ID, crm.Contact]
	users          *dataloadgen.Loader[crm.ID, crm.User]
	teams          *dataloadgen.Loader[crm.ID, crm.Team]
	contactsOfAcct *dataloadgen.Loader[accountPage, []crm.Contact]
}

// accountPage keys account.contacts(first:): the account and the page size.
type accountPage struct {
	account crm.ID
	first   int
}

func newLoaders(svc *service.Service, a *crm.Actor) *loaders {
	wait := dataloadgen.WithWait(loaderWait)
	return &loaders{
		accounts: dataloadgen.NewLoader(func(ctx context.Context, ids []crm.ID) ([]crm.Account, []error) {
			return results(svc.Accounts(ctx, a, ids))
		}, wait),
		contacts: dataloadgen.NewLoader(func(ctx context.Context, ids []crm.ID) ([]crm.Contact, []error) {
			return results(svc.Contacts(ctx, a, ids))
		}, wait),
		users: dataloadgen.NewLoader(func(ctx context.Context, ids []crm.ID) ([]crm.User, []error) {
			return results(svc.Users(ctx, a, ids))
		}, wait),
		teams: dataloadgen.NewLoader(func(ctx context.Context, ids []crm.ID) ([]crm.Team, []error) {
			return results(svc.Teams(ctx, a, ids))
		}, wait),
		contactsOfAcct: dataloadgen.NewLoader(func(ctx context.Context, keys []accountPage) ([][]crm.Contact, []error) {
			// One query per distinct page size; nearly always one.
			bySize := map[int][]crm.ID{}
			for _, k := range keys {
				bySize[k.first] = append(bySize[k.first], k.account)
			}
			found := map[accountPage][]crm.Contact{}
			for size, ids := range bySize {
				lists, err := svc.ContactsOfAccounts(ctx, a, ids, size)
				if err != nil {
					return nil, []error{err}
				}
				for i, id := range ids {
					found[accountPage{id, size}] = lists[i]
				}
			}
			out := make([][]crm.Contact, len(keys))
			for i, k := range keys {
				out[i] = found[k]
			}
			return out, nil
		}, wait),
	}
}

// results adapts a service batch call to a loader's result shape: one error for all keys.
func results[T any](vals []T, err error) ([]T, []error) {
	if err != nil {
		return nil, []error{err}
	}
	return vals, nil
}

type loadersKey struct{}

// WithLoaders is HTTP middleware that gives each request its own loaders, bound to the request's
// actor (set by authentication before it runs).
func WithLoaders(svc *service.Service) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if a := crm.ActorFrom(ctx); a != nil {
				ctx = context.WithValue(ctx, loadersKey{}, newLoaders(svc, a))
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// loadersFor returns the request's loaders. WebSocket subscriptions authenticate after the
// upgrade, so they get their loaders from the actor in the context on first use.
func (r *Resolver) loadersFor(ctx context.Context) *loaders {
	if l, ok := ctx.Value(loadersKey{}).(*loaders); ok {
		return l
	}
	return newLoaders(r.svc, crm.ActorFrom(ctx)) // nil actor: every load answers UNAUTHENTICATED
}
