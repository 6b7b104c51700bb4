package db

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// growthMinRows is the smallest table worth analyzing for: below it every plan is cheap. Around
// 700 leads the generic plan of capture's dedup lookup turns from a scan into the unique indexes.
const growthMinRows = 500

// TableGrowth keeps the planner statistics of a table in step with its growth, for tables that
// can grow from nothing by tens of thousands of rows a second (leads, during captures and imports).
//
// Rapport's connections plan generically (Open): a connection plans a statement the first time it
// runs it, with the statistics of that moment, and keeps the plan until an ANALYZE of a table it
// reads invalidates it. A plan made while the table had no statistics, or a few hundred rows, scans
// all of the organization's rows; autovacuum analyzes once per naptime, by which time a busy table
// has grown by tens of thousands of rows that every execution of the old plan scans. TableGrowth
// analyzes the table as soon as it has changed by as many rows as it held at its last analysis, so
// a plan never serves a table more than about twice the size it was made for. Past the first
// seconds of a table's life autovacuum's own thresholds come first and TableGrowth has nothing to
// do.
type TableGrowth struct {
	pool  *pgxpool.Pool
	table string // a trusted, constant table name
	log   *slog.Logger

	mu       sync.Mutex
	added    int64 // rows this process added since it last looked at the table
	due      int64 // added rows after which to look again
	checking bool  // a look (and perhaps an ANALYZE) is under way
}

// NewTableGrowth watches table, whose name must be a constant of the program.
func NewTableGrowth(pool *pgxpool.Pool, table string, log *slog.Logger) *TableGrowth {
	return &TableGrowth{pool: pool, table: table, log: log, due: growthMinRows}
}

// Added notes n rows committed into the table. When they amount to the rows the table still
// needed to double since its last analysis, it checks the table in the background and analyzes it
// if it has indeed changed that much (other processes write too).
func (g *TableGrowth) Added(n int) {
	if g == nil || n <= 0 {
		return
	}
	g.mu.Lock()
	g.added += int64(n)
	start := !g.checking && g.added >= g.due
	if start {
		g.checking, g.added = true, 0
	}
	g.mu.Unlock()
	if start {
		go g.check()
	}
}

// check analyzes the table when it has changed by as many rows as it held at its last analysis
// (or was never analyzed), and sets when to look again.
func (g *TableGrowth) check() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	due, err := g.analyzeIfDoubled(ctx)
	if err != nil {
		g.log.Warn("analyze a growing table", "table", g.table, "err", err)
		due = growthMinRows
	}
	g.mu.Lock()
	g.due, g.checking = max(due, growthMinRows), false
	g.mu.Unlock()
}

// analyzeIfDoubled runs the check and returns how many more added rows call for the next one.
func (g *TableGrowth) analyzeIfDoubled(ctx context.Context) (int64, error) {
	const stats = `SELECT c.reltuples::bigint, pg_stat_get_mod_since_analyze(c.oid) FROM pg_class c WHERE c.oid = $1::regclass`
	var rows, changed int64
	if err := g.pool.QueryRow(ctx, stats, g.table).Scan(&rows, &changed); err != nil {
		return 0, err
	}
	if rows >= 0 && changed < max(rows, growthMinRows) {
		return max(rows, growthMinRows) - changed, nil
	}
	// SKIP_LOCKED: when autovacuum is analyzing the table at this moment, its statistics will do.
	if _, err := g.pool.Exec(ctx, "ANALYZE (SKIP_LOCKED) "+g.table); err != nil {
		return 0, err
	}
	if err := g.pool.QueryRow(ctx, stats, g.table).Scan(&rows, &changed); err != nil {
		return 0, err
	}
	g.log.Debug("analyzed a growing table", "table", g.table, "rows", rows)
	return rows, nil
}
