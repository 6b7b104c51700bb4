package service_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
	"github.com/rapportcrm/rapport/internal/rules/routing"
	"github.com/rapportcrm/rapport/internal/service"
)

// BenchmarkAssignLead50Rules200Candidates routes leads end to end (rules, sticky lookup, rule locks,
// candidates with their open-lead counts, decision, assignment, event, notification, SLA job) with
// 50 rules of which the last matches, its team of 200 members. It reports the p99 latency.
func BenchmarkAssignLead50Rules200Candidates(b *testing.B) {
	e := newEnv(b)
	team := e.team("Inbound", crm.NilID, e.manager.UserID)
	_, err := e.pool.Exec(e.ctx, `INSERT INTO users (org_id, id, email, name, role, team_id, created_at, updated_at)
		SELECT $1, gen_random_uuid(), 'member' || i || '@acme.test', 'Member ' || i, 'sales_rep', $2, now(), now()
		FROM generate_series(1, 200) i`, e.org.ID, team.ID)
	require.NoError(b, err)
	capacity := int32(1000)
	for i := range 50 {
		e.rule(service.AssignmentRuleInput{Name: fmt.Sprintf("rule %d", i), Strategy: routing.StrategyLeastLoaded, TargetTeamID: team.ID,
			Capacity: &capacity, Criteria: []criteria.Criterion{crit("region", criteria.In, fmt.Sprintf(`["region %d", "anywhere"]`, i)),
				crit("industry", criteria.Neq, `"retail"`)}})
	}
	ins := make([]service.LeadInput, b.N)
	for i := range ins {
		ins[i] = service.LeadInput{Name: fmt.Sprintf("lead %d", i), Email: fmt.Sprintf("lead%d@bench.cn", i), Region: "region 49",
			Source: crm.SourceWebForm}
	}
	var ids []crm.ID
	for chunk := range slices.Chunk(ins, 500) {
		items, err := e.svc.CaptureLeads(e.ctx, e.admin, chunk)
		require.NoError(b, err)
		for _, it := range items {
			require.NoError(b, it.Err)
			ids = append(ids, it.Result.Lead.ID)
		}
	}
	took := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		d, err := e.svc.AssignLead(e.ctx, e.admin, ids[i])
		took = append(took, time.Since(start))
		if err != nil || d.ChosenID == crm.NilID {
			b.Fatal(err, d.Reason)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds())/1000, "p99-ms")
}
