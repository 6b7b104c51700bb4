package service_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// BenchmarkForecast200k computes a 12-month forecast per owner over an organization with 200,000
// deals: 20 owners, close dates spread over 400 days, every category, one deal in ten in USD with
// monthly USD->CNY rates (so those are converted per close date).
func BenchmarkForecast200k(b *testing.B) {
	e := newEnv(b)
	book := newDealBook(e)
	owners := []crm.ID{e.rep1.UserID, e.rep1b.UserID, e.rep2.UserID, e.manager.UserID}
	for i := len(owners); i < 20; i++ {
		owners = append(owners, e.user(fmt.Sprintf("bench%d@acme.test", i), crm.RoleSalesRep, crm.NilID).UserID)
	}
	for m := 1; m <= 12; m++ {
		e.rate("USD", "CNY", fmt.Sprintf("2026-%02d-01", m), fmt.Sprintf("7.%02d", m))
	}
	st := book.stages[book.pipelineA]
	_, err := e.pool.Exec(e.ctx, `
		INSERT INTO opportunities (org_id, id, name, account_id, owner_id, pipeline_id, stage_id, amount, currency, close_date,
		                           probability, forecast_category, stage_entered_at, closed_at, created_at, updated_at)
		SELECT $1, gen_random_uuid(), 'Deal ' || i, $2, ($3::uuid[])[1 + i % 20], $4,
		       (ARRAY[$5, $6, $7, $8, $9]::uuid[])[1 + i % 5],
		       CASE WHEN i % 97 = 0 THEN NULL ELSE (i % 100000) * 1.37 END,
		       CASE WHEN i % 10 = 0 THEN 'USD' ELSE 'CNY' END,
		       date '2026-01-01' + (i % 400),
		       (ARRAY[10, 40, 70, 100, 0])[1 + i % 5],
		       (ARRAY['pipeline', 'best_case', 'commit', 'closed_won', 'omitted'])[1 + i % 5],
		       now(), CASE WHEN i % 5 >= 3 THEN now() END, now(), now()
		FROM generate_series(1, 200000) i`,
		e.org.ID, book.account, owners, book.pipelineA, st[crm.CategoryPipeline], st[crm.CategoryBestCase],
		st[crm.CategoryCommit], st[crm.CategoryClosedWon], st[crm.CategoryOmitted])
	require.NoError(b, err)
	_, err = e.pool.Exec(e.ctx, `ANALYZE opportunities`)
	require.NoError(b, err)

	in := service.ForecastInput{From: day("2026-01-01"), To: day("2027-01-01"), GroupBy: service.GroupOwner}
	for _, who := range []struct {
		name  string
		actor *crm.Actor
	}{{"admin", e.admin}, {"rep", e.rep1}} {
		b.Run(who.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, err := e.svc.Forecast(e.ctx, who.actor, in)
				if err != nil {
					b.Fatal(err)
				}
				if len(f.Rows) == 0 {
					b.Fatal("no rows")
				}
			}
		})
	}
}
