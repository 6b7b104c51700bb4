package graph

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// followupCache caches the activities, tasks and notifications of a response.
type followupCache struct {
	activities    table[crm.Activity]
	tasks         table[crm.Task]
	notifications table[crm.Notification]
}

func activityID(x crm.Activity) crm.ID         { return x.ID }
func taskID(t crm.Task) crm.ID                 { return t.ID }
func notificationID(n crm.Notification) crm.ID { return n.ID }

func (r *Resolver) activity(ctx context.Context, id crm.ID) (*crm.Activity, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Activity] { return &c.followups.activities }, r.svc.Activities, activityID)
}

func (r *Resolver) task(ctx context.Context, id crm.ID) (*crm.Task, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Task] { return &c.followups.tasks }, r.svc.Tasks, taskID)
}

func (r *Resolver) notification(ctx context.Context, id crm.ID) (*crm.Notification, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Notification] { return &c.followups.notifications }, r.svc.Notifications, notificationID)
}

// refList resolves a list of references through the response's cache, dropping missing and
// invisible records.
func refList[T any](ctx context.Context, ids []crm.ID, t func(*cache) *table[T],
	fetch func(context.Context, *crm.Actor, []crm.ID) ([]T, error), idOf func(T) crm.ID,
) ([]T, error) {
	out := make([]T, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	got, err := t(cacheOf(ctx)).get(ctx, a, ids, fetch, idOf)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if v := got[id]; v != nil {
			out = append(out, *v)
		}
	}
	return out, nil
}

// recordNode resolves the record an activity, task or notification is about; a record the viewer
// may not read (or of a type this server does not serve yet) is null.
func (r *Resolver) recordNode(ctx context.Context, typ string, id crm.ID) (model.Node, error) {
	if id == crm.NilID {
		return nil, nil
	}
	n, err := r.node(ctx, typ, id)
	if crm.ErrorCode(err) == crm.EFORBIDDEN || crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil, nil
	}
	return n, err
}

// recordGlobalID is the global ID of an optional record reference.
func recordGlobalID(typ string, id crm.ID) *string {
	if id == crm.NilID {
		return nil
	}
	return ptr(crm.GlobalID(typ, id))
}

func directionOf(d string) *model.Direction {
	if d == "" {
		return nil
	}
	return ptr(model.Direction(strings.ToUpper(d)))
}

func directionName(d *model.Direction) string {
	if d == nil {
		return ""
	}
	return strings.ToLower(string(*d))
}

func taskKindOf(k string) model.TaskKind { return model.TaskKind(strings.ToUpper(k)) }

func priorityOf(p string) model.TaskPriority { return model.TaskPriority(strings.ToUpper(p)) }

func priorityName(p *model.TaskPriority) string {
	if p == nil {
		return ""
	}
	return strings.ToLower(string(*p))
}

// optPriority maps an optional priority of an update.
func optPriority(p *model.TaskPriority, set bool) service.Opt[string] {
	if !set {
		return service.Opt[string]{}
	}
	return service.Some(priorityName(p))
}

func taskFilter(f *model.TaskFilter) (service.TaskFilter, error) {
	if f == nil {
		return service.TaskFilter{}, nil
	}
	owners, err := parseIDs("filter.ownerIds", crm.TypeUser, f.OwnerIds.Value())
	if err != nil {
		return service.TaskFilter{}, err
	}
	out := service.TaskFilter{OwnerIDs: owners, Statuses: f.Statuses.Value(), DueBefore: f.DueBefore.Value()}
	if id := f.RecordID.Value(); id != nil {
		if out.RecordType, out.RecordID, err = parseGlobalID("filter.recordId", *id); err != nil {
			return out, err
		}
	}
	return out, nil
}

func activityConnection(acts []crm.Activity, info service.PageInfo) *model.ActivityConnection {
	c := &model.ActivityConnection{Nodes: acts, Edges: make([]model.ActivityEdge, len(acts)), PageInfo: ptr(model.NewPageInfo(info))}
	for i := range acts {
		c.Edges[i] = model.ActivityEdge{Cursor: service.ActivityCursor(acts[i]), Node: &acts[i]}
	}
	return c
}

func taskConnection(ts []crm.Task, info service.PageInfo) *model.TaskConnection {
	c := &model.TaskConnection{Nodes: ts, Edges: make([]model.TaskEdge, len(ts)), PageInfo: ptr(model.NewPageInfo(info))}
	for i := range ts {
		c.Edges[i] = model.TaskEdge{Cursor: service.TaskCursor(ts[i]), Node: &ts[i]}
	}
	return c
}

func notificationConnection(ns []crm.Notification, info service.PageInfo) *model.NotificationConnection {
	c := &model.NotificationConnection{Nodes: ns, Edges: make([]model.NotificationEdge, len(ns)), PageInfo: ptr(model.NewPageInfo(info))}
	for i := range ns {
		c.Edges[i] = model.NotificationEdge{Cursor: service.NotificationCursor(ns[i]), Node: &ns[i]}
	}
	return c
}

// prefetchActivityPage fetches ahead what a timeline page selects below its nodes.
func (r *Resolver) prefetchActivityPage(ctx context.Context, a *crm.Actor, acts []crm.Activity) error {
	p := r.prefetcher(ctx, a)
	return p.activities(ctx, acts, p.connectionNodes(ctx, "ActivityConnection", "ActivityEdge"))
}

// prefetchTaskPage fetches ahead what a page of tasks selects below its nodes.
func (r *Resolver) prefetchTaskPage(ctx context.Context, a *crm.Actor, ts []crm.Task) error {
	p := r.prefetcher(ctx, a)
	return p.tasks(ctx, ts, p.connectionNodes(ctx, "TaskConnection", "TaskEdge"))
}

// prefetchNotificationPage fetches ahead the records a page of notifications selects.
func (r *Resolver) prefetchNotificationPage(ctx context.Context, a *crm.Actor, ns []crm.Notification) error {
	p := r.prefetcher(ctx, a)
	sets := p.connectionNodes(ctx, "NotificationConnection", "NotificationEdge")
	if len(ns) == 0 || len(sets) == 0 {
		return nil
	}
	f := p.selected(sets, "Notification")["record"]
	if f == nil {
		return nil
	}
	var rs refs
	for _, n := range ns {
		rs.add(n.RecordType, n.RecordID, f)
	}
	return p.records(ctx, &rs)
}

func (p *prefetch) activities(ctx context.Context, acts []crm.Activity, sets []ast.SelectionSet) error {
	if len(acts) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "Activity")
	var r refs
	for _, x := range acts {
		r.add(crm.TypeUser, x.OwnerID, fields["owner"])
		for _, id := range x.ParticipantUserIDs {
			r.add(crm.TypeUser, id, fields["participantUsers"])
		}
		for _, id := range x.ParticipantContactIDs {
			r.add(crm.TypeContact, id, fields["participantContacts"])
		}
		r.add(x.RecordType, x.RecordID, fields["record"])
	}
	return p.records(ctx, &r)
}

func (p *prefetch) tasks(ctx context.Context, ts []crm.Task, sets []ast.SelectionSet) error {
	if len(ts) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "Task")
	var r refs
	for _, t := range ts {
		r.add(crm.TypeUser, t.OwnerID, fields["owner"])
		r.add(t.RecordType, t.RecordID, fields["record"])
	}
	return p.records(ctx, &r)
}

// refs are the records that the rows of a level of a response refer to, by type, with the fields
// that refer to them: a type costs one read whatever the number of fields (an activity's owner and
// participants are all users), and what is selected below is the union of those fields' selections.
type refs struct {
	ids    map[string][]crm.ID
	fields map[string][][]graphql.CollectedField
}

// add records that field f of a row refers to the record id of type typ (nothing when either is
// missing).
func (r *refs) add(typ string, id crm.ID, f []graphql.CollectedField) {
	if id == crm.NilID || len(f) == 0 {
		return
	}
	if r.ids == nil {
		r.ids, r.fields = map[string][]crm.ID{}, map[string][][]graphql.CollectedField{}
	}
	r.ids[typ] = append(r.ids[typ], id)
	if !slices.ContainsFunc(r.fields[typ], func(g []graphql.CollectedField) bool { return &g[0] == &f[0] }) {
		r.fields[typ] = append(r.fields[typ], f)
	}
}

// records prefetches the records of refs (one call per type, sent together) and what is selected
// below them.
func (p *prefetch) records(ctx context.Context, r *refs) error {
	var fns siblings
	p.addRecords(&fns, r)
	return fns.run(ctx, p)
}

// addRecords adds the prefetch of the records of refs, one call per type in the order of the type
// names. Types this server cannot fetch yet are left to their field resolvers; a type the actor may
// not read is skipped.
func (p *prefetch) addRecords(fns *siblings, r *refs) {
	for _, typ := range slices.Sorted(maps.Keys(r.ids)) {
		var sets []ast.SelectionSet
		for _, f := range r.fields[typ] {
			sets = append(sets, subSelections(f)...)
		}
		ids := crm.RefIDs(r.ids[typ], self)
		fns.add(func(ctx context.Context) error { return permitted(p.record(ctx, typ, ids, sets)) })
	}
}

// record prefetches records of one type and what is selected below them.
func (p *prefetch) record(ctx context.Context, typ string, ids []crm.ID, sets []ast.SelectionSet) error {
	switch typ {
	case crm.TypeAccount:
		return load(ctx, p, &p.c.accounts, ids, p.r.svc.Accounts, accountID, p.accounts, sets)
	case crm.TypeContact:
		return load(ctx, p, &p.c.contacts, ids, p.r.svc.Contacts, contactID, p.contacts, sets)
	case crm.TypeTask:
		return load(ctx, p, &p.c.followups.tasks, ids, p.r.svc.Tasks, taskID, p.tasks, sets)
	case crm.TypeActivity:
		return load(ctx, p, &p.c.followups.activities, ids, p.r.svc.Activities, activityID, p.activities, sets)
	case crm.TypeOpportunity:
		return load(ctx, p, &p.c.opportunities, ids, p.r.svc.Opportunities, opportunityID, p.opportunities, sets)
	case crm.TypeLead:
		return load(ctx, p, &p.c.leads, ids, p.r.svc.Leads, leadID, p.leads, sets)
	case crm.TypeUser:
		return p.users(ctx, ids, sets)
	case crm.TypeTeam:
		return p.teams(ctx, ids, sets)
	}
	return nil
}

// permitted drops a FORBIDDEN error of a prefetch: the actor may not read those records, and their
// field resolvers report it where they are selected.
func permitted(err error) error {
	if crm.ErrorCode(err) == crm.EFORBIDDEN {
		return nil
	}
	return err
}

// load caches the records of table t with the given IDs, then prefetches what sets select below them.
func load[T any](ctx context.Context, p *prefetch, t *table[T], ids []crm.ID,
	fetch func(context.Context, *crm.Actor, []crm.ID) ([]T, error), idOf func(T) crm.ID,
	below func(context.Context, []T, []ast.SelectionSet) error, sets []ast.SelectionSet,
) error {
	got, err := t.get(ctx, p.a, ids, fetch, idOf)
	if err != nil {
		return err
	}
	return below(ctx, values(got), sets)
}
