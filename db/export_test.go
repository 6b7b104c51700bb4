package db

import "context"

// AnalyzeIfDoubled runs one check of g in the caller's goroutine, for tests.
func AnalyzeIfDoubled(ctx context.Context, g *TableGrowth) (int64, error) {
	return g.analyzeIfDoubled(ctx)
}
