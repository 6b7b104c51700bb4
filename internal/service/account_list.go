package service

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
)

// AccountFilter narrows an account list. Set conditions combine with AND.
type AccountFilter struct {
	Search           *string // name or domain contains it, or the registration code equals it
	Name             *StringFilter
	Domain           *StringFilter
	RegistrationCode *StringFilter
	Industry         *StringFilter
	Region           *StringFilter
	Country          *StringFilter
	OwnerIDs         []crm.ID
	TeamID           *crm.ID // owned by a member of the team
	Unowned          *bool   // in the shared pool (true) or owned (false)
	Employees        *IntRange
	CreatedAt        *TimeRange
	UpdatedAt        *TimeRange
	Deleted          bool // list deleted accounts (the recycle bin) instead of live ones
}

// Account list orders.
const (
	OrderName      = "NAME"
	OrderCreatedAt = "CREATED_AT"
	OrderUpdatedAt = "UPDATED_AT"
)

// Order sorts a list by a field; ties are broken by ID so pages never skip or repeat rows.
type Order struct {
	Field string
	Desc  bool
}

var recordSortKeys = map[string]sortKey{
	OrderName:      textKey("name"),
	OrderCreatedAt: timeKey("created_at"),
	OrderUpdatedAt: timeKey("updated_at"),
}

const accountColumns = `org_id, id, name, registration_code, domain, industry, employees, region, country, owner_id,
custom, merged_into_id, created_at, updated_at, deleted_at, version, last_activity_at, owner_since`

func (s *Service) accountQuery(a *crm.Actor, f AccountFilter) *listQuery {
	q := &listQuery{table: "accounts", columns: accountColumns}
	q.cond("org_id = %s", a.OrgID)
	q.deleted(f.Deleted)
	q.visibleTo(a.OrgID, viewer(a))
	if f.Search != nil && strings.TrimSpace(*f.Search) != "" {
		term := strings.TrimSpace(*f.Search)
		like := "%" + escapeLike(term) + "%"
		q.cond("(name ILIKE %s OR domain ILIKE %s OR registration_code = %s)", like, like, strings.ToUpper(term))
	}
	q.text("name", f.Name)
	q.text("domain", f.Domain)
	q.text("registration_code", f.RegistrationCode)
	q.text("industry", f.Industry)
	q.text("region", f.Region)
	q.text("country", f.Country)
	ownerFilters(q, a.OrgID, f.OwnerIDs, f.TeamID, f.Unowned)
	q.intRange("employees", f.Employees)
	q.timeRange("created_at", f.CreatedAt)
	q.timeRange("updated_at", f.UpdatedAt)
	return q
}

// ownerFilters adds the owner, team and pool conditions shared by record lists.
func ownerFilters(q *listQuery, orgID crm.ID, owners []crm.ID, team *crm.ID, unowned *bool) {
	if owners != nil {
		q.cond("owner_id = ANY(%s)", owners)
	}
	if team != nil {
		q.cond("owner_id IN (SELECT u.id FROM users u WHERE u.org_id = %s AND u.team_id = %s)", orgID, *team)
	}
	if unowned != nil {
		if *unowned {
			q.where = append(q.where, "owner_id IS NULL")
		} else {
			q.where = append(q.where, "owner_id IS NOT NULL")
		}
	}
}

// ListAccounts returns one page of the accounts the actor may see.
func (s *Service) ListAccounts(ctx context.Context, a *crm.Actor, f AccountFilter, o Order, p Page) ([]crm.Account, PageInfo, error) {
	if err := authorize(a, access.AccountsRead); err != nil {
		return nil, PageInfo{}, err
	}
	return runPage(ctx, s, a, s.accountQuery(a, f), o, p, accountFromRow, func(x crm.Account) string {
		return RecordCursor(o, x.Name, x.CreatedAt, x.UpdatedAt, x.ID)
	})
}

// runPage runs one keyset page of q, sorted by o, maps its rows (R, scanned by position) to records
// and describes the page.
func runPage[R, T any](ctx context.Context, s *Service, a *crm.Actor, q *listQuery, o Order, p Page,
	fromRow func(R) T, cursorOf func(T) string,
) ([]T, PageInfo, error) {
	keys := q.sortKeys
	if keys == nil {
		keys = recordSortKeys
	}
	key, orderName, err := sortFor(keys, o)
	if err != nil {
		return nil, PageInfo{}, err
	}
	sql, limit, backward, err := q.build(p, orderName, key, o.Desc)
	if err != nil {
		return nil, PageInfo{}, err
	}
	var out []T
	err = db.Read(ctx, s.pool, a.OrgID, func(dbtx query.DBTX) error {
		rows, err := dbtx.Query(ctx, sql, q.args...)
		if err != nil {
			return err
		}
		recs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[R])
		out = make([]T, len(recs))
		for i, r := range recs {
			out[i] = fromRow(r)
		}
		return err
	})
	if err != nil {
		return nil, PageInfo{}, err
	}
	out, info := finishPage(out, limit, backward, p, cursorOf)
	return out, info, nil
}

// CountAccounts counts the accounts matching f that the actor may see (for totalCount, computed
// only when a client asks for it).
func (s *Service) CountAccounts(ctx context.Context, a *crm.Actor, f AccountFilter) (int, error) {
	if err := authorize(a, access.AccountsRead); err != nil {
		return 0, err
	}
	return s.count(ctx, a, s.accountQuery(a, f))
}

func (s *Service) count(ctx context.Context, a *crm.Actor, q *listQuery) (n int, err error) {
	err = db.Read(ctx, s.pool, a.OrgID, func(dbtx query.DBTX) error {
		return dbtx.QueryRow(ctx, q.count(), q.args...).Scan(&n)
	})
	return n, err
}

// sortFor resolves an order to its sort key; the zero Order sorts by creation time.
func sortFor(keys map[string]sortKey, o Order) (sortKey, string, error) {
	name := o.Field
	if name == "" {
		name = OrderCreatedAt
	}
	key, ok := keys[name]
	if !ok {
		return sortKey{}, "", crm.Invalid("orderBy", "Unknown order field %q.", o.Field)
	}
	if o.Desc {
		name += "_DESC"
	}
	return key, name, nil
}

func sortValue(order, name string, created, updated time.Time) any {
	switch strings.TrimSuffix(order, "_DESC") {
	case OrderName:
		return name
	case OrderUpdatedAt:
		return updated
	}
	return created
}

// RecordCursor returns the cursor of an account or contact in a list sorted by o.
func RecordCursor(o Order, name string, created, updated time.Time, id crm.ID) string {
	key, orderName, err := sortFor(recordSortKeys, o)
	if err != nil {
		return ""
	}
	return encodeCursor(orderName, key.encode(sortValue(orderName, name, created, updated)), id)
}
