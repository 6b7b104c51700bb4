package service_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

// BenchmarkRescoreOrganization rescores every lead of an organization as a rules change does:
// SCORING_BENCH_LEADS leads (default 100,000) with 10 behaviour events each (pricing visits, other
// pages, downloads, webinars, e-mail opens and clicks) under the 7 default rules. Each iteration
// starts from empty ledgers and zero scores, so every ledger and score is written: the worst case.
// leads/s is the figure to extrapolate to 1,000,000 leads; the CPU time per lead of this process
// and of PostgreSQL is steadier on a shared machine. SCORING_BENCH_STATEMENTS=1 logs the time spent
// in each statement (summed over the batches in flight, so more than the wall-clock time).
func BenchmarkRescoreOrganization(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("SCORING_BENCH_LEADS")); err == nil && v > 0 {
		n = v
	}
	e := newEnv(b)
	now := time.Now().UTC()
	_, err := e.pool.Exec(e.ctx, `
		INSERT INTO leads (org_id, id, name, title, industry, company_size, email, source, first_touch_at, last_touch_at, created_at, updated_at)
		SELECT $1, (lpad(to_hex((extract(epoch FROM t) * 1000)::bigint), 12, '0') || '7' || substr(md5(i::text), 1, 3)
		            || '8' || substr(md5(i::text), 4, 15))::uuid,
		       'Lead ' || i, (ARRAY['Engineer', 'Sales Director', 'CEO', '经理', '销售总监'])[1 + i % 5],
		       (ARRAY['software', 'retail', 'mining'])[1 + i % 3], i % 400, 'lead' || i || '@bench.test', 'api', t, t, t, t
		FROM generate_series(1, $2::int) AS i,
		     LATERAL (SELECT $3::timestamptz - interval '60 days' + i * interval '1 second') AS created (t)`,
		e.org.ID, n, now)
	require.NoError(b, err)
	_, err = e.pool.Exec(e.ctx, `
		INSERT INTO lead_events (org_id, id, lead_id, type, url, occurred_at, idempotency_key, created_at)
		SELECT l.org_id, gen_random_uuid(), l.id,
		       (ARRAY['page_visit', 'page_visit', 'page_visit', 'download', 'webinar', 'email_open', 'email_open', 'email_click', 'page_visit', 'form_submit'])[1 + k],
		       (ARRAY['https://bench.test/pricing', 'https://bench.test/blog/a', 'https://bench.test/docs', 'https://bench.test/files/case-study.pdf',
		              '', 'newsletter-11', 'newsletter-12', 'https://bench.test/x', 'https://bench.test/pricing?plan=pro', 'https://bench.test/contact'])[1 + k],
		       $2::timestamptz - (k * 7 + 1) * interval '1 day', l.id || '-' || k, $2
		FROM leads l, generate_series(0, 9) AS k
		WHERE l.org_id = $1`, e.org.ID, now)
	require.NoError(b, err)
	_, err = e.pool.Exec(e.ctx, "VACUUM ANALYZE leads, lead_events")
	require.NoError(b, err)

	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		_, err := e.pool.Exec(e.ctx, "TRUNCATE lead_score_ledgers, nurture_enrolments, assignment_decisions, events")
		require.NoError(b, err)
		_, err = e.pool.Exec(e.ctx, "UPDATE leads SET score_total = 0, score_fit = 0, score_engagement = 0, grade = 'C', status = 'new', nurtured_at = NULL, qualified_at = NULL")
		require.NoError(b, err)
		_, err = e.pool.Exec(e.ctx, "VACUUM ANALYZE leads")
		require.NoError(b, err)
		run := crm.NewID()
		_, err = e.pool.Exec(e.ctx, "INSERT INTO scoring_runs (org_id, id, status, total, started_at, updated_at) VALUES ($1, $2, 'running', $3, now(), now())",
			e.org.ID, run, n)
		require.NoError(b, err)
		statementTimes.reset()
		goBefore, pgBefore := cpuTimes(e)
		b.StartTimer()
		start := time.Now()
		require.NoError(b, e.svc.RescoreLeads(e.ctx, e.org.ID, run))
		elapsed := time.Since(start)
		b.StopTimer()
		goAfter, pgAfter := cpuTimes(e)
		statementTimes.report(b)
		require.Equal(b, n, e.count("SELECT done FROM scoring_runs WHERE id = $1", run))
		b.ReportMetric(float64(n)/elapsed.Seconds(), "leads/s")
		if pgAfter > 0 {
			b.ReportMetric(float64((goAfter-goBefore).Microseconds())/float64(n), "go-cpu-µs/lead")
			b.ReportMetric(float64(pgAfter.Microseconds()-pgBefore.Microseconds())/float64(n), "pg-cpu-µs/lead")
		}
		b.ReportMetric(float64(e.count("SELECT sum(json_array_length(entries)) FROM lead_score_ledgers")), "entries")
		b.StartTimer()
	}
}

// cpuTimes returns the CPU time this process and the database's processes have used so far (zero
// where /proc is not there). On a machine shared with other work, CPU time per lead is steadier
// than leads per second, and says what a quiet machine of as many cores could do.
func cpuTimes(e *env) (goCPU, pgCPU time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		goCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	rows, err := e.pool.Query(e.ctx, "SELECT pid FROM pg_stat_activity")
	require.NoError(e.t, err)
	defer rows.Close()
	for rows.Next() {
		var pid int
		require.NoError(e.t, rows.Scan(&pid))
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields 14 and 15 (utime, stime, in clock ticks of 1/100 s) follow the command in parentheses.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		pgCPU += time.Duration(utime+stime) * 10 * time.Millisecond
	}
	require.NoError(e.t, rows.Err())
	return goCPU, pgCPU
}

// statementTimes sums the time spent in each statement (by sqlc name) when SCORING_BENCH_STATEMENTS
// is set; nil otherwise (a nil *statementTracer traces nothing).
var statementTimes = newStatementTracer(os.Getenv("SCORING_BENCH_STATEMENTS") != "")

type statementTracer struct {
	mu    sync.Mutex
	total map[string]time.Duration
	count map[string]int
}

func newStatementTracer(on bool) *statementTracer {
	if !on {
		return nil
	}
	return &statementTracer{total: map[string]time.Duration{}, count: map[string]int{}}
}

type statementStart struct {
	sql string
	at  time.Time
}

type statementKey struct{}

func (t *statementTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, statementKey{}, statementStart{d.SQL, time.Now()})
}

func (t *statementTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if t == nil {
		return
	}
	s, _ := ctx.Value(statementKey{}).(statementStart)
	name := strings.Join(strings.Fields(s.sql), " ")
	if f := strings.Fields(name); len(f) > 2 && f[1] == "name:" {
		name = f[2]
	} else if len(name) > 40 {
		name = name[:40]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total[name] += time.Since(s.at)
	t.count[name]++
}

func (t *statementTracer) reset() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.total)
	clear(t.count)
}

func (t *statementTracer) report(b *testing.B) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	names := slices.SortedFunc(maps.Keys(t.total), func(x, y string) int { return cmp.Compare(t.total[y], t.total[x]) })
	var out strings.Builder
	for _, n := range names {
		fmt.Fprintf(&out, "\n%9.3fs %6d  %s", t.total[n].Seconds(), t.count[n], n)
	}
	fmt.Fprintln(os.Stderr, b.Name()+": time in statements:"+out.String()) // b.Log would cut it short
}
