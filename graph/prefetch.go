package graph

import (
	"context"
	"slices"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// Nested references (contact.account, account.owner, user.team, ...) must not cost a query per
// row. gqlgen resolves the rows of a list concurrently, and time-window dataloaders batch them only
// as well as the goroutines happen to be scheduled; gqlgen's batch resolvers group only siblings of
// one list, one level deep. So list resolvers look ahead instead: they read the query's selection
// and fetch every selected reference of the whole page, level by level, into a per-response cache
// that the field resolvers read. A page costs one query per selected reference field, whatever its
// size, deterministically. A field resolver whose record is not cached (a single record from a
// mutation payload or node(id:)) fetches it itself.

// table caches records of one type by ID; a nil entry records that the ID is missing or invisible.
type table[T any] struct {
	mu sync.Mutex
	m  map[crm.ID]*T
}

// get returns the records with the given IDs, fetching those not yet cached in one call.
func (t *table[T]) get(ctx context.Context, a *crm.Actor, ids []crm.ID,
	fetch func(context.Context, *crm.Actor, []crm.ID) ([]T, error), idOf func(T) crm.ID,
) (map[crm.ID]*T, error) {
	t.mu.Lock()
	if t.m == nil {
		t.m = map[crm.ID]*T{}
	}
	var missing []crm.ID
	pending := map[crm.ID]bool{}
	for _, id := range ids {
		if _, ok := t.m[id]; !ok && id != crm.NilID && !pending[id] {
			pending[id] = true
			missing = append(missing, id)
		}
	}
	t.mu.Unlock()
	if len(missing) > 0 {
		recs, err := fetch(ctx, a, missing)
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		for i, id := range missing {
			if idOf(recs[i]) == crm.NilID {
				t.m[id] = nil
			} else {
				t.m[id] = &recs[i]
			}
		}
		t.mu.Unlock()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[crm.ID]*T, len(ids))
	for _, id := range ids {
		out[id] = t.m[id]
	}
	return out, nil
}

// cached returns the record with the given ID if it is cached (nil when known to be missing or
// invisible), without allocating: the path of every reference field of a prefetched page.
func (t *table[T]) cached(id crm.ID) (rec *T, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok = t.m[id]
	return rec, ok
}

// put caches records already at hand.
func (t *table[T]) put(records []T, idOf func(T) crm.ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[crm.ID]*T{}
	}
	for i := range records {
		t.m[idOf(records[i])] = &records[i]
	}
}

// lists caches, per record ID, a list that belongs to the record (a deal's contacts or history).
type lists[T any] struct {
	mu sync.Mutex
	m  map[crm.ID][]T
}

// get returns the lists of the given records, fetching those not yet cached in one call.
func (l *lists[T]) get(ctx context.Context, a *crm.Actor, ids []crm.ID,
	fetch func(context.Context, *crm.Actor, []crm.ID) ([][]T, error),
) (map[crm.ID][]T, error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[crm.ID][]T{}
	}
	var missing []crm.ID
	for _, id := range ids {
		if _, ok := l.m[id]; !ok && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	l.mu.Unlock()
	if len(missing) > 0 {
		got, err := fetch(ctx, a, missing)
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		for i, id := range missing {
			l.m[id] = got[i]
		}
		l.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[crm.ID][]T, len(ids))
	for _, id := range ids {
		out[id] = l.m[id]
	}
	return out, nil
}

// accountPage keys account.contacts(first:): the account and the page size.
type accountPage struct {
	account crm.ID
	first   int
}

// cache is the per-response record cache.
type cache struct {
	users           table[crm.User]
	teams           table[crm.Team]
	accounts        table[crm.Account]
	contacts        table[crm.Contact]
	apiKeys         table[crm.APIKey]
	pipelines       table[crm.Pipeline]
	stages          table[crm.Stage]
	opportunities   table[crm.Opportunity]
	dealContacts    lists[crm.DealContact]
	primaryContacts table[crm.Contact] // by deal ID
	stageHistory    lists[service.StageChange]
	leads           table[crm.Lead]
	touches         lists[crm.Touch]
	scores          lists[service.ScoreEntry]
	followups       followupCache
	assignmentRules table[service.AssignmentRule]
	mu              sync.Mutex
	contactsOf      map[accountPage][]crm.Contact
}

type cacheKey struct{}

// WithCache gives a response its record cache. The GraphQL server installs it around every
// response, so a subscription gets fresh records for each event.
func WithCache(ctx context.Context) context.Context {
	return context.WithValue(ctx, cacheKey{}, &cache{contactsOf: map[accountPage][]crm.Contact{}})
}

func cacheOf(ctx context.Context) *cache {
	if c, ok := ctx.Value(cacheKey{}).(*cache); ok {
		return c
	}
	return &cache{contactsOf: map[accountPage][]crm.Contact{}} // outside a response: no sharing
}

// contactsOfAccounts returns account.contacts(first:) for accounts, fetching the uncached ones in one call.
func (r *Resolver) contactsOfAccounts(ctx context.Context, a *crm.Actor, ids []crm.ID, first int) (map[crm.ID][]crm.Contact, error) {
	c := cacheOf(ctx)
	c.mu.Lock()
	var missing []crm.ID
	pending := map[crm.ID]bool{}
	for _, id := range ids {
		if _, ok := c.contactsOf[accountPage{id, first}]; !ok && !pending[id] {
			pending[id] = true
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	if len(missing) > 0 {
		lists, err := r.svc.ContactsOfAccounts(ctx, a, missing, first)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		for i, id := range missing {
			c.contactsOf[accountPage{id, first}] = lists[i]
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[crm.ID][]crm.Contact, len(ids))
	for _, id := range ids {
		out[id] = c.contactsOf[accountPage{id, first}]
	}
	return out, nil
}

// prefetch walks a selection alongside the records it applies to.
type prefetch struct {
	r  *Resolver
	a  *crm.Actor
	oc *graphql.OperationContext
	c  *cache
}

func (r *Resolver) prefetcher(ctx context.Context, a *crm.Actor) *prefetch {
	return &prefetch{r: r, a: a, oc: graphql.GetOperationContext(ctx), c: cacheOf(ctx)}
}

// selected groups the fields selected on typ, across several selection sets, by field name.
func (p *prefetch) selected(sets []ast.SelectionSet, typ string) map[string][]graphql.CollectedField {
	out := map[string][]graphql.CollectedField{}
	for _, set := range sets {
		for _, f := range graphql.CollectFields(p.oc, set, []string{typ, "Node"}) {
			out[f.Name] = append(out[f.Name], f)
		}
	}
	return out
}

func subSelections(fields []graphql.CollectedField) []ast.SelectionSet {
	sets := make([]ast.SelectionSet, len(fields))
	for i, f := range fields {
		sets[i] = f.Selections
	}
	return sets
}

// connectionNodes returns the selections applied to the nodes of a connection field: under
// edges { node } and under nodes.
func (p *prefetch) connectionNodes(ctx context.Context, connType, edgeType string) []ast.SelectionSet {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return nil
	}
	conn := p.selected([]ast.SelectionSet{fc.Field.Selections}, connType)
	sets := subSelections(conn["nodes"])
	return append(sets, subSelections(p.selected(subSelections(conn["edges"]), edgeType)["node"])...)
}

func values[T any](m map[crm.ID]*T) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out
}

// siblings are the prefetches of sibling fields. They run together (Service.ReadTogether), so that
// their reads share round trips: one for the fields of a page, one more for what is selected below
// them, and so on, whatever the number of fields.
type siblings []func(context.Context) error

func (s *siblings) add(fn func(context.Context) error) { *s = append(*s, fn) }

func (s siblings) run(ctx context.Context, p *prefetch) error {
	return p.r.svc.ReadTogether(ctx, p.a, s...)
}

func (p *prefetch) accounts(ctx context.Context, accts []crm.Account, sets []ast.SelectionSet) error {
	if len(accts) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "Account")
	var fns siblings
	if f := fields["owner"]; f != nil {
		fns.add(func(ctx context.Context) error {
			return p.users(ctx, crm.RefIDs(accts, func(x crm.Account) crm.ID { return x.OwnerID }), subSelections(f))
		})
	}
	if f := fields["mergedInto"]; f != nil {
		fns.add(func(ctx context.Context) error {
			ids := crm.RefIDs(accts, func(x crm.Account) crm.ID { return x.MergedIntoID })
			return load(ctx, p, &p.c.accounts, ids, p.r.svc.Accounts, accountID, p.accounts, subSelections(f))
		})
	}
	for _, f := range fields["contacts"] {
		first := service.DefaultPageSize
		if n, ok := f.ArgumentMap(p.oc.Variables)["first"].(int64); ok {
			first = int(n)
		} else if n, ok := f.ArgumentMap(p.oc.Variables)["first"].(int); ok {
			first = n
		}
		if first < 0 || first > service.MaxPageSize {
			continue // the field resolver reports the error
		}
		fns.add(func(ctx context.Context) error {
			lists, err := p.r.contactsOfAccounts(ctx, p.a, crm.RefIDs(accts, accountID), first)
			if err != nil {
				return err
			}
			var all []crm.Contact
			for _, l := range lists {
				all = append(all, l...)
			}
			return p.contacts(ctx, all, []ast.SelectionSet{f.Selections})
		})
	}
	return fns.run(ctx, p)
}

func (p *prefetch) contacts(ctx context.Context, cs []crm.Contact, sets []ast.SelectionSet) error {
	if len(cs) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "Contact")
	var fns siblings
	if f := fields["account"]; f != nil {
		fns.add(func(ctx context.Context) error {
			ids := crm.RefIDs(cs, func(x crm.Contact) crm.ID { return x.AccountID })
			return load(ctx, p, &p.c.accounts, ids, p.r.svc.Accounts, accountID, p.accounts, subSelections(f))
		})
	}
	if f := fields["owner"]; f != nil {
		fns.add(func(ctx context.Context) error {
			return p.users(ctx, crm.RefIDs(cs, func(x crm.Contact) crm.ID { return x.OwnerID }), subSelections(f))
		})
	}
	if f := fields["mergedInto"]; f != nil {
		fns.add(func(ctx context.Context) error {
			ids := crm.RefIDs(cs, func(x crm.Contact) crm.ID { return x.MergedIntoID })
			return load(ctx, p, &p.c.contacts, ids, p.r.svc.Contacts, contactID, p.contacts, subSelections(f))
		})
	}
	return fns.run(ctx, p)
}

// users prefetches the users with the given IDs and what is selected below them.
func (p *prefetch) users(ctx context.Context, ids []crm.ID, sets []ast.SelectionSet) error {
	if len(ids) == 0 {
		return nil
	}
	got, err := p.c.users.get(ctx, p.a, ids, p.r.svc.Users, userID)
	if err != nil {
		return err
	}
	return p.userFields(ctx, values(got), sets)
}

func (p *prefetch) userFields(ctx context.Context, us []crm.User, sets []ast.SelectionSet) error {
	if len(us) == 0 || len(sets) == 0 {
		return nil
	}
	if f := p.selected(sets, "User")["team"]; f != nil {
		return p.teams(ctx, crm.RefIDs(us, func(x crm.User) crm.ID { return x.TeamID }), subSelections(f))
	}
	return nil
}

func (p *prefetch) teams(ctx context.Context, ids []crm.ID, sets []ast.SelectionSet) error {
	if len(ids) == 0 {
		return nil
	}
	got, err := p.c.teams.get(ctx, p.a, ids, p.r.svc.Teams, teamID)
	if err != nil {
		return err
	}
	return p.teamFields(ctx, values(got), sets)
}

func (p *prefetch) teamFields(ctx context.Context, ts []crm.Team, sets []ast.SelectionSet) error {
	if len(ts) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "Team")
	var fns siblings
	if f := fields["parent"]; f != nil {
		fns.add(func(ctx context.Context) error {
			return p.teams(ctx, crm.RefIDs(ts, func(x crm.Team) crm.ID { return x.ParentID }), subSelections(f))
		})
	}
	if f := fields["manager"]; f != nil {
		fns.add(func(ctx context.Context) error {
			return p.users(ctx, crm.RefIDs(ts, func(x crm.Team) crm.ID { return x.ManagerID }), subSelections(f))
		})
	}
	return fns.run(ctx, p)
}

// events prefetches the actors of a page of events and the records they are about.
func (p *prefetch) events(ctx context.Context, evs []crm.Event, sets []ast.SelectionSet) error {
	if len(evs) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "Event")
	var r refs
	for _, e := range evs {
		if e.ActorKind == crm.ActorUser {
			r.add(crm.TypeUser, e.ActorID, fields["actor"])
		}
		r.add(e.RecordType, e.RecordID, fields["record"])
	}
	var fns siblings
	p.addRecords(&fns, &r)
	if fields["apiKey"] != nil {
		ids := crm.RefIDs(evs, func(e crm.Event) crm.ID {
			if e.ActorKind == crm.ActorAPIKey {
				return e.ActorID
			}
			return crm.NilID
		})
		if len(ids) > 0 {
			fns.add(func(ctx context.Context) error {
				_, err := p.c.apiKeys.get(ctx, p.a, ids, p.r.svc.APIKeys, apiKeyID)
				return permitted(err)
			})
		}
	}
	return fns.run(ctx, p)
}

// self is the identity, for crm.RefIDs over a list of IDs.
func self(id crm.ID) crm.ID { return id }

// selection returns the selection set of the field being resolved.
func selection(ctx context.Context) []ast.SelectionSet {
	if fc := graphql.GetFieldContext(ctx); fc != nil {
		return []ast.SelectionSet{fc.Field.Selections}
	}
	return nil
}

// refField is a reference field of a list's rows: the field's name, the type of the record it
// points at, and the row's reference.
type refField[T any] struct {
	field, typ string
	ref        func(T) crm.ID
}

// refFields prefetches the references the rows of a list select (sets are the rows' selections, on
// the GraphQL type typ), and what is selected below them: one call per selected field, sent together.
func refFields[T any](ctx context.Context, p *prefetch, rows []T, sets []ast.SelectionSet, typ string, fields ...refField[T]) error {
	var fns siblings
	addRefFields(&fns, p, rows, sets, typ, fields...)
	return fns.run(ctx, p)
}

// addRefFields adds to fns the prefetches of refFields, one per type of record (refs).
func addRefFields[T any](fns *siblings, p *prefetch, rows []T, sets []ast.SelectionSet, typ string, fields ...refField[T]) {
	if len(rows) == 0 || len(sets) == 0 {
		return
	}
	selected := p.selected(sets, typ)
	var r refs
	for _, f := range fields {
		for _, row := range rows {
			r.add(f.typ, f.ref(row), selected[f.field])
		}
	}
	p.addRecords(fns, &r)
}

// prefetchAccountPage fetches ahead what a page of accounts selects below its nodes.
func (r *Resolver) prefetchAccountPage(ctx context.Context, a *crm.Actor, accts []crm.Account) error {
	p := r.prefetcher(ctx, a)
	return p.accounts(ctx, accts, p.connectionNodes(ctx, "AccountConnection", "AccountEdge"))
}

// prefetchContactPage fetches ahead what a page of contacts selects below its nodes.
func (r *Resolver) prefetchContactPage(ctx context.Context, a *crm.Actor, cs []crm.Contact) error {
	p := r.prefetcher(ctx, a)
	return p.contacts(ctx, cs, p.connectionNodes(ctx, "ContactConnection", "ContactEdge"))
}

// prefetchEventPage fetches ahead the actors and records of a page of events.
func (r *Resolver) prefetchEventPage(ctx context.Context, a *crm.Actor, evs []crm.Event) error {
	p := r.prefetcher(ctx, a)
	return p.events(ctx, evs, p.connectionNodes(ctx, "EventConnection", "EventEdge"))
}
