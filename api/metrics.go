package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the HTTP and GraphQL metrics the API records.
type metrics struct {
	requests   *prometheus.CounterVec
	durations  *prometheus.HistogramVec
	operations *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rapport_http_requests_total", Help: "HTTP requests by path, method and status.",
		}, []string{"path", "method", "status"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "rapport_http_request_duration_seconds", Help: "HTTP request latency by path.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"path"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rapport_graphql_operations_total", Help: "GraphQL operations by type, name and outcome.",
		}, []string{"type", "name", "outcome"}),
	}
	reg.MustRegister(m.requests, m.durations, m.operations)
	return m
}

// knownPaths keeps the path label's cardinality bounded.
var knownPaths = map[string]bool{"/graphql": true, "/healthz": true, "/readyz": true, "/metrics": true, "/": true}

func (m *metrics) observeHTTP(r *http.Request, status int, elapsed time.Duration) {
	path := r.URL.Path
	if strings.HasPrefix(path, "/forms/") {
		path = "/forms/{key}"
	} else if !knownPaths[path] {
		path = "other"
	}
	m.requests.WithLabelValues(path, r.Method, strconv.Itoa(status)).Inc()
	m.durations.WithLabelValues(path).Observe(elapsed.Seconds())
}

func (m *metrics) observeOperation(oc *graphql.OperationContext, resp *graphql.Response) {
	typ, name := "unknown", oc.OperationName
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
	}
	if len(name) > 64 {
		name = name[:64]
	}
	outcome := "ok"
	if resp != nil && len(resp.Errors) > 0 {
		outcome = "error"
	}
	m.operations.WithLabelValues(typ, name, outcome).Inc()
}

// PoolCollector exports connection-pool statistics.
type PoolCollector struct {
	pool                           *pgxpool.Pool
	total, idle, acquired, waiting *prometheus.Desc
}

// NewPoolCollector returns a collector for pool.
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("rapport_db_pool_"+name, help, nil, nil)
	}
	return &PoolCollector{pool: pool, total: d("connections", "Open connections."), idle: d("idle", "Idle connections."),
		acquired: d("acquired", "Connections in use."), waiting: d("acquire_waits_total", "Acquires that had to wait.")}
}

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.total
	ch <- c.idle
	ch <- c.acquired
	ch <- c.waiting
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
}

// RiverCollector exports the number of River jobs per queue and state.
type RiverCollector struct {
	pool *pgxpool.Pool
	jobs *prometheus.Desc
}

// NewRiverCollector returns a collector of River's queues.
func NewRiverCollector(pool *pgxpool.Pool) *RiverCollector {
	return &RiverCollector{pool: pool, jobs: prometheus.NewDesc("rapport_river_jobs", "River jobs by queue and state.", []string{"queue", "state"}, nil)}
}

// Describe implements prometheus.Collector.
func (c *RiverCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.jobs }

// Collect implements prometheus.Collector.
func (c *RiverCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rows, err := c.pool.Query(ctx, "SELECT queue, state::text, count(*) FROM river_job GROUP BY 1, 2")
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
		var queue, state string
		var n int64
		if rows.Scan(&queue, &state, &n) == nil {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), queue, state)
		}
	}
}
