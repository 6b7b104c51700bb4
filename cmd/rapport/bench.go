package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rapportcrm/rapport/internal/loadtest"
)

// bench drives a running server with the load-test scenarios and reports throughput, latency and
// the server's memory (internal/loadtest does the work).
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "fanout" {
		return benchFanout(ctx, args[1:], stdout, stderr)
	}
	table := loadtest.Scenarios()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serverURL := fs.String("url", "http://127.0.0.1:8080", "base URL of the running server")
	token := fs.String("token", "", "a user's bearer token (default $RAPPORT_TOKEN); API keys are rate limited")
	scenarios := fs.String("scenarios", "", "comma-separated scenarios to run (default all)")
	rate := fs.Int("rate", 0, "requests/s, open loop; 0: maximum throughput with --connections in flight")
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario is measured")
	warmup := fs.Duration("warmup", time.Second, "unmeasured run before each scenario")
	connections := fs.Int("connections", 32, "TCP connections (closed loop: requests in flight)")
	jsonOut := fs.String("json", "", "also write the results as a JSON array to this file")
	prepare := fs.Int("prepare", 200, "ensure at least this many contacts at accounts exist (0: skip)")
	rawURL := fs.String("raw-url", "", "also run each scenario against the raw-SQL baseline (rapport rawserve) at this URL, and compare")
	peerURL := fs.String("postgraphile-url", "", "also run each scenario against PostGraphile (tools/postgraphile) at this URL, and compare")
	half := fs.Bool("half", false, "after each maximum-throughput run, measure the same target in an open loop at half the throughput it reached")
	markdown := fs.String("markdown", "", "also write the results (and the comparison) as Markdown tables to this file")
	deals := fs.Int("deals", 0, "ensure the default pipeline holds at least this many open deals of the data set, e.g. 20000 (0: skip; the deal scenarios run by default only with it)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: rapport bench --url http://127.0.0.1:8080 --token <bearer> [flags]\n"+
			"       rapport bench --url <rapport> --raw-url <rawserve> --postgraphile-url <postgraphile> --half --token <bearer> [flags]\n"+
			"       rapport bench fanout --url <A> --url <B> --token <bearer> [flags]   (rapport bench fanout --help)\n\nscenarios:")
		for _, s := range table {
			goal := ""
			if s.GoalRPS > 0 {
				goal = fmt.Sprintf(" (goal ≥%.0f req/s)", s.GoalRPS)
			}
			needs := ""
			if s.Deals {
				needs = " [--deals]"
			}
			fmt.Fprintf(stderr, "  %-18s %s%s%s\n", s.Name, s.Description, goal, needs)
		}
		fmt.Fprintln(stderr, "\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}
	if *token == "" {
		*token = os.Getenv("RAPPORT_TOKEN") // not the flag's default, which --help would print
	}
	if *scenarios == "" && *deals == 0 {
		table = loadtest.WithoutDeals(table)
	}
	selected, err := loadtest.Select(table, *scenarios)
	if err != nil {
		return err
	}
	cfg := loadtest.Config{URL: *serverURL, Token: *token, Rate: *rate, Duration: *duration, Warmup: *warmup,
		Connections: *connections, Prepare: *prepare, Deals: *deals, Progress: stderr, Target: loadtest.TargetRapport}
	b, err := loadtest.New(cfg)
	if err != nil {
		return err
	}
	comparing := *rawURL != "" || *peerURL != "" || *half
	if comparing && *rate != 0 {
		return errors.New("bench: --raw-url, --postgraphile-url and --half measure maximum throughput first: leave --rate out")
	}
	var results []loadtest.Result
	var comparisons []loadtest.Comparison
	var runErr error
	if comparing {
		benches := []*loadtest.Bench{b}
		for _, t := range []struct{ url, target string }{{*rawURL, loadtest.TargetRaw}, {*peerURL, loadtest.TargetPostGraphile}} {
			if t.url == "" {
				continue
			}
			c := cfg
			c.URL, c.Target, c.Prepare, c.Deals = t.url, t.target, 0, 0
			peer, err := loadtest.New(c)
			if err != nil {
				return fmt.Errorf("%s: %w", t.target, err)
			}
			benches = append(benches, peer)
		}
		f, err := b.Setup(ctx)
		if err != nil {
			return err
		}
		results, comparisons, runErr = loadtest.Compare(ctx, benches, selected, f, *half)
	} else {
		results, runErr = b.RunAll(ctx, selected)
	}
	if len(results) > 0 {
		if err := loadtest.WriteTable(stdout, results); err != nil {
			return err
		}
	}
	if len(comparisons) > 0 {
		fmt.Fprintln(stdout)
		if err := loadtest.WriteComparison(stdout, comparisons); err != nil {
			return err
		}
	}
	if *jsonOut != "" && len(results) > 0 {
		if err := writeFile(*jsonOut, func(w io.Writer) error { return loadtest.WriteJSON(w, results) }); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if *markdown != "" && len(results) > 0 {
		err := writeFile(*markdown, func(w io.Writer) error {
			if len(comparisons) > 0 {
				if err := loadtest.WriteComparisonMarkdown(w, comparisons); err != nil {
					return err
				}
				fmt.Fprintln(w)
			}
			return loadtest.WriteMarkdown(w, results)
		})
		if err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
