package loadtest

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Comparison is one scenario measured on every target that has an equivalent of it.
type Comparison struct {
	// Scenario is the scenario's name.
	Scenario string
	// Max holds each target's result at maximum throughput, by target; Half its result in an open
	// loop at half of that throughput (absent when not measured).
	Max, Half map[string]Result
}

// Compare runs each scenario on every bench (a target each; Config.Rate must be 0) that has an
// equivalent of it, one target after the other, at maximum throughput; with half set, each
// target is then measured again in an open loop at half the throughput it reached, which is where
// latency is judged. It returns every result in the order measured and one comparison per
// scenario; on an error, what was measured so far.
func Compare(ctx context.Context, benches []*Bench, scenarios []Scenario, f Fixture, half bool) ([]Result, []Comparison, error) {
	var results []Result
	var out []Comparison
	for _, s := range scenarios {
		c := Comparison{Scenario: s.Name, Max: map[string]Result{}, Half: map[string]Result{}}
		for _, b := range benches {
			target := b.target()
			ts, ok := s.ForTarget(target)
			if !ok {
				continue
			}
			r, err := b.Run(ctx, ts, f)
			if err != nil {
				return results, out, fmt.Errorf("%s: %w", target, err)
			}
			results = append(results, r)
			c.Max[target] = r
			rate := int(math.Round(r.Throughput / 2))
			if !half || rate < 1 {
				continue
			}
			open := *b
			open.cfg.Rate = rate
			r, err = open.Run(ctx, ts, f)
			if err != nil {
				return results, out, fmt.Errorf("%s: %w", target, err)
			}
			results = append(results, r)
			c.Half[target] = r
		}
		out = append(out, c)
	}
	return results, out, nil
}

func (b *Bench) target() string {
	if b.cfg.Target == "" {
		return TargetRapport
	}
	return b.cfg.Target
}

// compareColumns are the comparison table's columns: a header and the cell of a comparison.
var compareColumns = []struct {
	header string
	cell   func(Comparison) string
}{
	{"scenario", func(c Comparison) string { return c.Scenario }},
	{"Rapport req/s", func(c Comparison) string { return throughput(c.Max, TargetRapport) }},
	{"raw req/s", func(c Comparison) string { return throughput(c.Max, TargetRaw) }},
	{"PostGraphile req/s", func(c Comparison) string { return throughput(c.Max, TargetPostGraphile) }},
	{"GraphQL/raw", func(c Comparison) string {
		return ratio(c.Max, TargetRapport, TargetRaw, func(x float64) string { return fmt.Sprintf("%.0f%%", 100*x) })
	}},
	{"Rapport/PostGraphile", func(c Comparison) string {
		return ratio(c.Max, TargetRapport, TargetPostGraphile, func(x float64) string { return fmt.Sprintf("%.2f×", x) })
	}},
	{"p99 at ½ max: Rapport / raw / PostGraphile", func(c Comparison) string {
		return perTarget(c.Half, func(r Result) string { return FormatDuration(r.P99) })
	}},
	{"RSS at ½ max: Rapport / raw / PostGraphile", func(c Comparison) string {
		return perTarget(c.Half, func(r Result) string { return FormatBytes(r.ServerRSS) })
	}},
}

// WriteComparison writes the comparisons as an aligned text table: throughput at maximum per
// target, the ratios Rapport/raw (what the GraphQL layer costs over the same SQL) and
// Rapport/PostGraphile, and p99 latency and server memory at half of each target's maximum.
func WriteComparison(w io.Writer, cs []Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, col := range compareColumns {
		fmt.Fprintf(tw, "%s\t", col.header)
	}
	fmt.Fprintln(tw)
	for _, c := range cs {
		for _, col := range compareColumns {
			fmt.Fprintf(tw, "%s\t", col.cell(c))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// WriteComparisonMarkdown writes the comparisons as a Markdown table (the columns of
// WriteComparison).
func WriteComparisonMarkdown(w io.Writer, cs []Comparison) error {
	var b strings.Builder
	row := func(cells []string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	cells := make([]string, len(compareColumns))
	for i, col := range compareColumns {
		cells[i] = col.header
	}
	row(cells)
	for i := range cells {
		cells[i] = "---"
	}
	row(cells)
	for _, c := range cs {
		for i, col := range compareColumns {
			cells[i] = col.cell(c)
		}
		row(cells)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes results as a Markdown table, one run a row.
func WriteMarkdown(w io.Writer, results []Result) error {
	var b strings.Builder
	b.WriteString("| scenario | target | mode | requests | errors | req/s | p50 | p90 | p99 | max | server RSS |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		rps := fmt.Sprintf("%.0f", r.Throughput)
		if r.ItemsPerRequest > 1 {
			rps += fmt.Sprintf(" (%.0f records/s)", r.ItemsPerSecond())
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |\n", r.Scenario, orDefault(r.Target, TargetRapport),
			r.Mode(), r.Requests, r.Errors, rps, FormatDuration(r.P50), FormatDuration(r.P90), FormatDuration(r.P99),
			FormatDuration(r.Max), FormatBytes(r.ServerRSS))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func throughput(m map[string]Result, target string) string {
	r, ok := m[target]
	if !ok {
		return "-"
	}
	s := fmt.Sprintf("%.0f", r.Throughput)
	if r.Errors > 0 {
		s += fmt.Sprintf(" (%d errors)", r.Errors)
	}
	return s
}

func ratio(m map[string]Result, num, den string, format func(float64) string) string {
	a, okA := m[num]
	b, okB := m[den]
	if !okA || !okB || b.Throughput <= 0 {
		return "-"
	}
	return format(a.Throughput / b.Throughput)
}

// perTarget joins a cell per target, Rapport, raw, PostGraphile, "-" for one not measured.
func perTarget(m map[string]Result, cell func(Result) string) string {
	parts := make([]string, 0, 3)
	for _, t := range []string{TargetRapport, TargetRaw, TargetPostGraphile} {
		if r, ok := m[t]; ok {
			parts = append(parts, cell(r))
		} else {
			parts = append(parts, "-")
		}
	}
	return strings.Join(parts, " / ")
}
