package service

import (
	"context"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
)

// StageTotal sums the amounts of a stage's deals in one currency.
type StageTotal struct {
	Currency string
	Amount   decimal.Decimal
	Weighted decimal.Decimal
}

// OpportunityFilter narrows a deal list. Set conditions combine with AND.
type OpportunityFilter struct {
	Search             *string
	PipelineID         *crm.ID
	StageIDs           []crm.ID
	AccountIDs         []crm.ID
	OwnerIDs           []crm.ID
	TeamID             *crm.ID
	AmountMin          *decimal.Decimal
	AmountMax          *decimal.Decimal
	CloseFrom          *crm.Date
	CloseTo            *crm.Date // exclusive
	ForecastCategories []crm.ForecastCategory
	Stale              *bool
	Closed             *bool
	CreatedAt          *TimeRange
	Deleted            bool
}

// Deal list orders besides those of records.
const (
	OrderAmount    = "AMOUNT"
	OrderCloseDate = "CLOSE_DATE"
)

// Unset amounts sort as 0 and unset close dates last, matching the indexes.
const (
	amountSortColumn    = "coalesce(amount, 0)"
	closeDateSortColumn = "coalesce(close_date, 'infinity'::date)"
)

var opportunitySortKeys = map[string]sortKey{
	OrderName:      textKey("name"),
	OrderCreatedAt: timeKey("created_at"),
	OrderUpdatedAt: timeKey("updated_at"),
	OrderAmount:    decimalKey(amountSortColumn),
	OrderCloseDate: dateKey(closeDateSortColumn),
}

const opportunityColumns = `org_id, id, name, account_id, owner_id, team_id, pipeline_id, stage_id, amount, currency,
close_date, probability, forecast_category, source, source_lead_id, campaign, next_step, loss_reason, competitor,
checklist, custom, stage_entered_at, last_activity_at, stale_since, closed_at, created_at, updated_at, deleted_at, version`

func (s *Service) opportunityQuery(a *crm.Actor, f OpportunityFilter) *listQuery {
	q := &listQuery{table: "opportunities", columns: opportunityColumns, sortKeys: opportunitySortKeys}
	q.cond("org_id = %s", a.OrgID)
	q.deleted(f.Deleted)
	q.visibleTo(a.OrgID, viewer(a))
	if f.Search != nil && strings.TrimSpace(*f.Search) != "" {
		q.cond("name ILIKE %s", "%"+escapeLike(strings.TrimSpace(*f.Search))+"%")
	}
	if f.PipelineID != nil {
		q.cond("pipeline_id = %s", *f.PipelineID)
	}
	if f.StageIDs != nil {
		q.cond("stage_id = ANY(%s)", f.StageIDs)
	}
	if f.AccountIDs != nil {
		q.cond("account_id = ANY(%s)", f.AccountIDs)
	}
	ownerFilters(q, a.OrgID, f.OwnerIDs, nil, nil)
	if f.TeamID != nil {
		q.cond("team_id = %s", *f.TeamID)
	}
	if f.AmountMin != nil {
		q.cond("amount >= %s::numeric", f.AmountMin.String())
	}
	if f.AmountMax != nil {
		q.cond("amount <= %s::numeric", f.AmountMax.String())
	}
	if f.CloseFrom != nil {
		q.cond("close_date >= %s::date", f.CloseFrom.String())
	}
	if f.CloseTo != nil {
		q.cond("close_date < %s::date", f.CloseTo.String())
	}
	if f.ForecastCategories != nil {
		q.cond("forecast_category = ANY(%s)", strs(f.ForecastCategories))
	}
	if f.Stale != nil {
		if *f.Stale {
			q.where = append(q.where, "stale_since IS NOT NULL")
		} else {
			q.where = append(q.where, "stale_since IS NULL")
		}
	}
	if f.Closed != nil {
		if *f.Closed {
			q.where = append(q.where, "closed_at IS NOT NULL")
		} else {
			q.where = append(q.where, "closed_at IS NULL")
		}
	}
	q.timeRange("created_at", f.CreatedAt)
	return q
}

// ListOpportunities returns one page of the deals the actor may see.
func (s *Service) ListOpportunities(ctx context.Context, a *crm.Actor, f OpportunityFilter, o Order, p Page) ([]crm.Opportunity, PageInfo, error) {
	if err := authorize(a, access.DealsRead); err != nil {
		return nil, PageInfo{}, err
	}
	return runPage(ctx, s, a, s.opportunityQuery(a, f), o, p, opportunityFromRow, func(d crm.Opportunity) string {
		return OpportunityCursor(o, d)
	})
}

// CountOpportunities counts the deals matching f that the actor may see.
func (s *Service) CountOpportunities(ctx context.Context, a *crm.Actor, f OpportunityFilter) (int, error) {
	if err := authorize(a, access.DealsRead); err != nil {
		return 0, err
	}
	return s.count(ctx, a, s.opportunityQuery(a, f))
}

// OpportunityCursor returns the cursor of a deal in a list sorted by o.
func OpportunityCursor(o Order, d crm.Opportunity) string {
	key, orderName, err := sortFor(opportunitySortKeys, o)
	if err != nil {
		return ""
	}
	var v any
	switch strings.TrimSuffix(orderName, "_DESC") {
	case OrderAmount:
		v = decimal.Zero.String()
		if d.Amount != nil {
			v = d.Amount.String()
		}
	case OrderCloseDate:
		v = "infinity"
		if d.CloseDate != nil {
			v = d.CloseDate.String()
		}
	default:
		v = sortValue(orderName, d.Name, d.CreatedAt, d.UpdatedAt)
	}
	return encodeCursor(orderName, key.encode(v), d.ID)
}

// BoardColumn is one stage of a pipeline board: its count and totals over every deal in it the
// actor may see, and the first deals by close date.
type BoardColumn struct {
	Stage  crm.Stage
	Count  int
	Totals []StageTotal
	Deals  []crm.Opportunity
	Page   PageInfo
}

// MaxBoardDeals caps the deals per board column.
const MaxBoardDeals = MaxPageSize

// PipelineBoard returns the pipeline's stages with counts, per-currency totals and the first
// dealsPerStage deals of each (by close date, then ID): the pipeline, its stages, the totals and
// the deals are four statements in one round trip (ReadTogether), whatever the number of stages.
// Continue a column with ListOpportunities(StageIDs: [stage], CLOSE_DATE, after: EndCursor).
func (s *Service) PipelineBoard(ctx context.Context, a *crm.Actor, pipelineID crm.ID, dealsPerStage int, owners []crm.ID) (crm.Pipeline, []BoardColumn, error) {
	if dealsPerStage < 0 || dealsPerStage > MaxBoardDeals {
		return crm.Pipeline{}, nil, crm.Invalid("dealsPerStage", "dealsPerStage is between 0 and %d.", MaxBoardDeals)
	}
	// The same conditions pick the deals of a column and the rows of stage_totals (kept by a trigger
	// per stage, currency and owner, migration 00010) that add up to its count and totals.
	vis := &listQuery{}
	vis.cond("o.org_id = %s", a.OrgID)
	vis.cond("o.pipeline_id = %s", pipelineID)
	if v := viewer(a); v != nil {
		vis.cond("(o.owner_id IS NULL OR o.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = o.org_id AND v.viewer_id = %s))", *v)
	}
	if owners != nil {
		vis.cond("o.owner_id = ANY(%s)", owners)
	}
	where := strings.Join(vis.where, " AND ")
	totalsSQL := `SELECT o.stage_id, o.currency, sum(o.deals)::int, sum(o.amount), sum(o.weighted)
	FROM stage_totals o WHERE ` + where + `
	GROUP BY o.stage_id, o.currency HAVING sum(o.deals) > 0 ORDER BY o.stage_id, o.currency`
	// The deals of each live stage of the pipeline ($1 is the organization, $2 the pipeline).
	dealsSQL := `SELECT d.* FROM pipeline_stages s
	CROSS JOIN LATERAL (SELECT ` + prefixed("o.", opportunityColumns) + ` FROM opportunities o
	    WHERE ` + where + ` AND o.deleted_at IS NULL AND o.stage_id = s.id
	    ORDER BY ` + closeDateSortColumn + `, o.id LIMIT $` + itoa(len(vis.args)+1) + `) d
	WHERE s.org_id = $1 AND s.pipeline_id = $2 AND s.deleted_at IS NULL`
	dealsArgs := append(append([]any{}, vis.args...), dealsPerStage+1)
	var p crm.Pipeline
	type total struct {
		stage crm.ID
		n     int
		StageTotal
	}
	var totals []total
	var deals []query.Opportunity
	err := s.ReadTogether(ctx, a, func(ctx context.Context) error {
		ps, err := s.Pipelines(ctx, a, []crm.ID{pipelineID})
		if err == nil {
			p = ps[0]
		}
		return err
	}, func(ctx context.Context) error {
		return db.Read(ctx, s.pool, a.OrgID, func(dbtx query.DBTX) error {
			rows, err := dbtx.Query(ctx, totalsSQL, vis.args...)
			if err != nil {
				return err
			}
			var t total
			_, err = pgx.ForEachRow(rows, []any{&t.stage, &t.Currency, &t.n, &t.Amount, &t.Weighted}, func() error {
				totals = append(totals, t)
				return nil
			})
			return err
		})
	}, func(ctx context.Context) error {
		return db.Read(ctx, s.pool, a.OrgID, func(dbtx query.DBTX) error {
			rows, err := dbtx.Query(ctx, dealsSQL, dealsArgs...)
			if err == nil {
				deals, err = pgx.CollectRows(rows, pgx.RowToStructByPos[query.Opportunity])
			}
			return err
		})
	})
	if err != nil {
		return p, nil, err
	}
	if p.ID == crm.NilID {
		return p, nil, crm.NotFound("pipeline", pipelineID)
	}
	cols := make([]BoardColumn, len(p.Stages))
	index := map[crm.ID]int{}
	for i, st := range p.Stages {
		cols[i] = BoardColumn{Stage: st, Totals: []StageTotal{}}
		index[st.ID] = i
	}
	for _, t := range totals {
		if i, ok := index[t.stage]; ok {
			cols[i].Count += t.n
			t.Weighted = t.Weighted.Round(4)
			cols[i].Totals = append(cols[i].Totals, t.StageTotal)
		}
	}
	for _, r := range deals {
		if i, ok := index[r.StageID]; ok {
			cols[i].Deals = append(cols[i].Deals, opportunityFromRow(r))
		}
	}
	order := Order{Field: OrderCloseDate}
	for i := range cols {
		cols[i].Deals, cols[i].Page = finishPage(cols[i].Deals, dealsPerStage, false, Page{First: &dealsPerStage},
			func(d crm.Opportunity) string { return OpportunityCursor(order, d) })
	}
	return p, cols, nil
}

func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func itoa(n int) string { return strconv.Itoa(n) }
