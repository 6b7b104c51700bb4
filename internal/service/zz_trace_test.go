package service_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

type stmtTracer struct {
	mu    sync.Mutex
	total map[string]time.Duration
	count map[string]int
}

type traceKey struct{}
type traceVal struct {
	sql   string
	start time.Time
}

func (t *stmtTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, traceKey{}, traceVal{d.SQL, time.Now()})
}

func (t *stmtTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	v, _ := ctx.Value(traceKey{}).(traceVal)
	name := v.sql
	if strings.HasPrefix(name, "-- name: ") {
		name = strings.Fields(name)[2]
	} else if len(name) > 60 {
		name = strings.Join(strings.Fields(name), " ")[:60]
	}
	t.mu.Lock()
	if t.total == nil {
		t.total, t.count = map[string]time.Duration{}, map[string]int{}
	}
	t.total[name] += time.Since(v.start)
	t.count[name]++
	t.mu.Unlock()
}

func (t *stmtTracer) report() {
	t.mu.Lock()
	defer t.mu.Unlock()
	var names []string
	for n := range t.total {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return t.total[names[i]] > t.total[names[j]] })
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "%10.3fs %7d  %s\n", t.total[n].Seconds(), t.count[n], n)
	}
}

var benchTracer *stmtTracer

func init() {
	if os.Getenv("TRACE_SQL") != "" {
		benchTracer = &stmtTracer{}
	}
}
