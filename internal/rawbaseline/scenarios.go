package rawbaseline

import (
	"context"

	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// The JSON of the scenarios' selections, field for field and in the documents' order.

type pageInfo struct {
	HasNextPage bool    `json:"hasNextPage"`
	EndCursor   *string `json:"endCursor"`
}

type named struct {
	Name string `json:"name"`
}

type idNamed struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type money struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// recordByID: node(id: $id) { ... on Contact { id name title emails account { name } } }
func (h *handler) recordByID(ctx context.Context, a *crm.Actor, vars variables) (any, error) {
	type contact struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		Title   string   `json:"title"`
		Emails  []string `json:"emails"`
		Account *named   `json:"account"`
	}
	var out struct {
		Node *contact `json:"node"`
	}
	typ, id, ok := crm.ParseGlobalID(vars.ID)
	if !ok {
		return nil, crm.Invalid("id", "%q is not an ID this API returned.", vars.ID)
	}
	if typ != crm.TypeContact {
		return nil, crm.Invalid("id", "The raw baseline looks up contacts only.")
	}
	cs, err := h.svc.Contacts(ctx, a, []crm.ID{id})
	if err != nil || cs[0].ID == crm.NilID {
		return out, err
	}
	c := cs[0]
	accts, err := byID(ctx, a, []crm.ID{c.AccountID}, h.svc.Accounts, accountID)
	if err != nil {
		return nil, err
	}
	out.Node = &contact{ID: c.GlobalID(), Name: c.Name, Title: c.Title, Emails: list(c.Emails)}
	if acct := accts[c.AccountID]; acct != nil {
		out.Node.Account = &named{acct.Name}
	}
	return out, nil
}

// contactsPage: contacts(first: 50) { edges { cursor node { id name title emails phones
// account { id name } owner { id name } } } pageInfo { hasNextPage endCursor } }
func (h *handler) contactsPage(ctx context.Context, a *crm.Actor, _ variables) (any, error) {
	type contact struct {
		ID      string   `json:"id"`
		Name    string   `json:"name"`
		Title   string   `json:"title"`
		Emails  []string `json:"emails"`
		Phones  []string `json:"phones"`
		Account *idNamed `json:"account"`
		Owner   *idNamed `json:"owner"`
	}
	type edge struct {
		Cursor string  `json:"cursor"`
		Node   contact `json:"node"`
	}
	var out struct {
		Contacts struct {
			Edges    []edge   `json:"edges"`
			PageInfo pageInfo `json:"pageInfo"`
		} `json:"contacts"`
	}
	n := pageSize
	cs, info, err := h.svc.ListContacts(ctx, a, service.ContactFilter{}, service.Order{}, service.Page{First: &n})
	if err != nil {
		return nil, err
	}
	// The resolvers' prefetch: accounts and owners, sent together.
	var accts map[crm.ID]*crm.Account
	var users map[crm.ID]*crm.User
	err = h.svc.ReadTogether(ctx, a, func(ctx context.Context) (err error) {
		accts, err = byID(ctx, a, crm.RefIDs(cs, func(c crm.Contact) crm.ID { return c.AccountID }), h.svc.Accounts, accountID)
		return err
	}, func(ctx context.Context) (err error) {
		users, err = byID(ctx, a, crm.RefIDs(cs, func(c crm.Contact) crm.ID { return c.OwnerID }), h.svc.Users, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	out.Contacts.Edges = make([]edge, len(cs))
	for i, c := range cs {
		node := contact{ID: c.GlobalID(), Name: c.Name, Title: c.Title, Emails: list(c.Emails), Phones: list(c.Phones)}
		if acct := accts[c.AccountID]; acct != nil {
			node.Account = &idNamed{acct.GlobalID(), acct.Name}
		}
		if u := users[c.OwnerID]; u != nil {
			node.Owner = &idNamed{u.GlobalID(), u.Name}
		}
		out.Contacts.Edges[i] = edge{Cursor: service.RecordCursor(service.Order{}, c.Name, c.CreatedAt, c.UpdatedAt, c.ID), Node: node}
	}
	out.Contacts.PageInfo = pageInfoOf(info)
	return out, nil
}

// accountsPage: accounts(first: 50) { edges { cursor node { id name domain industry
// owner { id name } contacts(first: 5) { name } } } pageInfo { hasNextPage endCursor } }
func (h *handler) accountsPage(ctx context.Context, a *crm.Actor, _ variables) (any, error) {
	type account struct {
		ID       string   `json:"id"`
		Name     string   `json:"name"`
		Domain   string   `json:"domain"`
		Industry string   `json:"industry"`
		Owner    *idNamed `json:"owner"`
		Contacts []named  `json:"contacts"`
	}
	type edge struct {
		Cursor string  `json:"cursor"`
		Node   account `json:"node"`
	}
	var out struct {
		Accounts struct {
			Edges    []edge   `json:"edges"`
			PageInfo pageInfo `json:"pageInfo"`
		} `json:"accounts"`
	}
	n := pageSize
	accts, info, err := h.svc.ListAccounts(ctx, a, service.AccountFilter{}, service.Order{}, service.Page{First: &n})
	if err != nil {
		return nil, err
	}
	// The resolvers' prefetch: owners and contacts, sent together.
	var users map[crm.ID]*crm.User
	var contacts [][]crm.Contact
	err = h.svc.ReadTogether(ctx, a, func(ctx context.Context) (err error) {
		users, err = byID(ctx, a, crm.RefIDs(accts, func(x crm.Account) crm.ID { return x.OwnerID }), h.svc.Users, userID)
		return err
	}, func(ctx context.Context) (err error) {
		if len(accts) > 0 {
			contacts, err = h.svc.ContactsOfAccounts(ctx, a, crm.RefIDs(accts, accountID), contactsPerAcct)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out.Accounts.Edges = make([]edge, len(accts))
	for i, x := range accts {
		node := account{ID: x.GlobalID(), Name: x.Name, Domain: x.Domain, Industry: x.Industry, Contacts: make([]named, len(contacts[i]))}
		if u := users[x.OwnerID]; u != nil {
			node.Owner = &idNamed{u.GlobalID(), u.Name}
		}
		for j, c := range contacts[i] {
			node.Contacts[j] = named{c.Name}
		}
		out.Accounts.Edges[i] = edge{Cursor: service.RecordCursor(service.Order{}, x.Name, x.CreatedAt, x.UpdatedAt, x.ID), Node: node}
	}
	out.Accounts.PageInfo = pageInfoOf(info)
	return out, nil
}

// opportunitiesPage: opportunities(first: 50) { edges { cursor node { id name amount { amount
// currency } closeDate probability stage { name } account { name } owner { name } primaryContact
// { name } } } pageInfo { hasNextPage endCursor } }
func (h *handler) opportunitiesPage(ctx context.Context, a *crm.Actor, _ variables) (any, error) {
	type deal struct {
		ID             string  `json:"id"`
		Name           string  `json:"name"`
		Amount         *money  `json:"amount"`
		CloseDate      *string `json:"closeDate"`
		Probability    int32   `json:"probability"`
		Stage          named   `json:"stage"`
		Account        *named  `json:"account"`
		Owner          *named  `json:"owner"`
		PrimaryContact *named  `json:"primaryContact"`
	}
	type edge struct {
		Cursor string `json:"cursor"`
		Node   deal   `json:"node"`
	}
	var out struct {
		Opportunities struct {
			Edges    []edge   `json:"edges"`
			PageInfo pageInfo `json:"pageInfo"`
		} `json:"opportunities"`
	}
	n := pageSize
	ds, info, err := h.svc.ListOpportunities(ctx, a, service.OpportunityFilter{}, service.Order{}, service.Page{First: &n})
	if err != nil {
		return nil, err
	}
	// The resolvers' prefetch, sent together: accounts, owners, pipelines (then their stages) and
	// the primary contacts.
	var accts map[crm.ID]*crm.Account
	var users map[crm.ID]*crm.User
	var pipelines map[crm.ID]*crm.Pipeline
	var primary []crm.Contact
	err = h.svc.ReadTogether(ctx, a, func(ctx context.Context) (err error) {
		accts, err = byID(ctx, a, crm.RefIDs(ds, func(d crm.Opportunity) crm.ID { return d.AccountID }), h.svc.Accounts, accountID)
		return err
	}, func(ctx context.Context) (err error) {
		users, err = byID(ctx, a, crm.RefIDs(ds, func(d crm.Opportunity) crm.ID { return d.OwnerID }), h.svc.Users, userID)
		return err
	}, func(ctx context.Context) (err error) {
		pipelines, err = byID(ctx, a, crm.RefIDs(ds, func(d crm.Opportunity) crm.ID { return d.PipelineID }), h.svc.Pipelines, pipelineID)
		return err
	}, func(ctx context.Context) (err error) {
		if len(ds) > 0 {
			primary, err = h.svc.PrimaryContacts(ctx, a, crm.RefIDs(ds, opportunityID))
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	stages := map[crm.ID]crm.Stage{}
	for _, p := range pipelines {
		for _, st := range p.Stages {
			stages[st.ID] = st
		}
	}
	out.Opportunities.Edges = make([]edge, len(ds))
	for i, d := range ds {
		st, ok := stages[d.StageID]
		if !ok {
			return nil, crm.Errorf(crm.EINTERNAL, "deal %s is in a stage that is no longer live", d.ID)
		}
		node := deal{ID: d.GlobalID(), Name: d.Name, Amount: moneyOf(d.Amount, d.Currency), CloseDate: dateOf(d.CloseDate),
			Probability: d.Probability, Stage: named{st.Name}}
		if acct := accts[d.AccountID]; acct != nil {
			node.Account = &named{acct.Name}
		}
		if u := users[d.OwnerID]; u != nil {
			node.Owner = &named{u.Name}
		}
		if c := primary[i]; c.ID != crm.NilID {
			node.PrimaryContact = &named{c.Name}
		}
		out.Opportunities.Edges[i] = edge{Cursor: service.OpportunityCursor(service.Order{}, d), Node: node}
	}
	out.Opportunities.PageInfo = pageInfoOf(info)
	return out, nil
}

// pipelineBoard: pipelineBoard(pipelineId: $pipelineId, dealsPerStage: 20) { pipeline { id name }
// columns { stage { id name probability } count totals { currency amount weighted } deals { nodes
// { id name amount { amount currency } closeDate owner { name } } pageInfo { hasNextPage
// endCursor } } } }
func (h *handler) pipelineBoard(ctx context.Context, a *crm.Actor, vars variables) (any, error) {
	type stage struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Probability int32  `json:"probability"`
	}
	type total struct {
		Currency string `json:"currency"`
		Amount   string `json:"amount"`
		Weighted string `json:"weighted"`
	}
	type deal struct {
		ID        string  `json:"id"`
		Name      string  `json:"name"`
		Amount    *money  `json:"amount"`
		CloseDate *string `json:"closeDate"`
		Owner     *named  `json:"owner"`
	}
	type deals struct {
		Nodes    []deal   `json:"nodes"`
		PageInfo pageInfo `json:"pageInfo"`
	}
	type column struct {
		Stage  stage   `json:"stage"`
		Count  int     `json:"count"`
		Totals []total `json:"totals"`
		Deals  deals   `json:"deals"`
	}
	var out struct {
		PipelineBoard struct {
			Pipeline idNamed  `json:"pipeline"`
			Columns  []column `json:"columns"`
		} `json:"pipelineBoard"`
	}
	typ, id, ok := crm.ParseGlobalID(vars.PipelineID)
	if !ok || typ != crm.TypePipeline {
		return nil, crm.Invalid("pipelineId", "%q is not the ID of a pipeline.", vars.PipelineID)
	}
	p, cols, err := h.svc.PipelineBoard(ctx, a, id, boardDealsPerCol, nil)
	if err != nil {
		return nil, err
	}
	var all []crm.Opportunity
	for _, c := range cols {
		all = append(all, c.Deals...)
	}
	users, err := byID(ctx, a, crm.RefIDs(all, func(d crm.Opportunity) crm.ID { return d.OwnerID }), h.svc.Users, userID)
	if err != nil {
		return nil, err
	}
	board := &out.PipelineBoard
	board.Pipeline = idNamed{p.GlobalID(), p.Name}
	board.Columns = make([]column, len(cols))
	for i, c := range cols {
		col := column{Stage: stage{c.Stage.GlobalID(), c.Stage.Name, c.Stage.Probability}, Count: c.Count,
			Totals: make([]total, len(c.Totals)), Deals: deals{Nodes: make([]deal, len(c.Deals)), PageInfo: pageInfoOf(c.Page)}}
		for j, t := range c.Totals {
			col.Totals[j] = total{t.Currency, t.Amount.String(), t.Weighted.String()}
		}
		for j, d := range c.Deals {
			node := deal{ID: d.GlobalID(), Name: d.Name, Amount: moneyOf(d.Amount, d.Currency), CloseDate: dateOf(d.CloseDate)}
			if u := users[d.OwnerID]; u != nil {
				node.Owner = &named{u.Name}
			}
			col.Deals.Nodes[j] = node
		}
		board.Columns[i] = col
	}
	return out, nil
}

func userID(u crm.User) crm.ID               { return u.ID }
func accountID(x crm.Account) crm.ID         { return x.ID }
func pipelineID(p crm.Pipeline) crm.ID       { return p.ID }
func opportunityID(d crm.Opportunity) crm.ID { return d.ID }

// byID fetches the records with the given IDs in one call, as the resolvers' prefetch does, and
// returns the visible ones by ID. No IDs, no call.
func byID[T any](ctx context.Context, a *crm.Actor, ids []crm.ID,
	fetch func(context.Context, *crm.Actor, []crm.ID) ([]T, error), idOf func(T) crm.ID,
) (map[crm.ID]*T, error) {
	out := make(map[crm.ID]*T, len(ids))
	ids = crm.RefIDs(ids, func(id crm.ID) crm.ID { return id })
	if len(ids) == 0 {
		return out, nil
	}
	recs, err := fetch(ctx, a, ids)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		if id := idOf(recs[i]); id != crm.NilID {
			out[id] = &recs[i]
		}
	}
	return out, nil
}

func pageInfoOf(p service.PageInfo) pageInfo {
	info := pageInfo{HasNextPage: p.HasNextPage}
	if p.EndCursor != "" {
		info.EndCursor = &p.EndCursor
	}
	return info
}

func moneyOf(amount *decimal.Decimal, currency string) *money {
	if amount == nil {
		return nil
	}
	return &money{amount.String(), currency}
}

func dateOf(d *crm.Date) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

// list returns s, or an empty list for nil (a non-null GraphQL list).
func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
