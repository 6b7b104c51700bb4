// Command rapport is the Rapport CRM server and its operator tools.
//
//	rapport serve [--api-only | --worker-only]   API and workers (embedded PostgreSQL without DATABASE_URL)
//	rapport migrate                              apply database migrations (Rapport's, then River's)
//	rapport seed                                 create the demo organization (idempotent)
//	rapport seed --scale N [--seed S] [--orgs K]  generate N units of realistic data into new organizations
//	rapport token --org demo --user admin@demo.test [--ttl 12h]   print a bearer token
//	rapport bench --url http://127.0.0.1:8080 --token <bearer>   load a running server, report req/s and latency
//	rapport rawserve [--addr 127.0.0.1:8081]     the raw-SQL baseline `rapport bench --target raw` measures
//	rapport version                              print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rapportcrm/rapport/internal/scaleseed"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rapport:", err)
		os.Exit(1)
	}
}

const usage = `usage: rapport <command> [flags]

commands:
  serve     run the API and the workers (flags: --api-only, --worker-only)
  migrate   apply database migrations
  seed      create the demo organization; with --scale N [--seed S] [--orgs K], bulk data at scale
  token     print a bearer token: rapport token --org demo --user admin@demo.test
  bench     load a running server and report throughput and latency (rapport bench --help)
  rawserve  serve the raw-SQL baseline of the read scenarios, for rapport bench (flag: --addr)
  version   print the version`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command")
	}
	cmd, args := args[0], args[1:]
	if cmd == "version" || cmd == "--version" {
		fmt.Fprintln(stdout, "rapport", version)
		return nil
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	if cmd == "serve" || cmd == "rawserve" || cmd == "bench" {
		tuneRuntime(cfg.PprofAddr != "")
	}
	switch cmd {
	case "serve":
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		apiOnly := fs.Bool("api-only", false, "serve the API without working jobs (scale-out)")
		workerOnly := fs.Bool("worker-only", false, "work jobs without serving the API (scale-out)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *apiOnly && *workerOnly {
			return errors.New("--api-only and --worker-only exclude each other")
		}
		return serve(ctx, cfg, log, !*workerOnly, !*apiOnly)
	case "migrate":
		return migrate(ctx, cfg, log)
	case "seed":
		fs := flag.NewFlagSet("seed", flag.ContinueOnError)
		scale := fs.Float64("scale", 0, "generate this many units of data (1 = 20k accounts, 100k leads, ...) instead of the demo organization")
		seedN := fs.Uint64("seed", 1, "random seed of --scale; also names the organizations scale-<seed>-<k>")
		orgs := fs.Int("orgs", 1, "spread --scale over this many organizations")
		anchor := fs.String("anchor", scaleseed.DefaultAnchor.Format(time.DateOnly), "the generated data's \"now\" (YYYY-MM-DD, UTC)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *scale == 0 {
			return seed(ctx, cfg, log, stdout)
		}
		at, err := time.Parse(time.DateOnly, *anchor)
		if err != nil {
			return fmt.Errorf("--anchor: %w", err)
		}
		return seedScale(ctx, cfg, log, stdout, scaleseed.Options{Scale: *scale, Seed: *seedN, Orgs: *orgs, Anchor: at})
	case "token":
		fs := flag.NewFlagSet("token", flag.ContinueOnError)
		org := fs.String("org", "demo", "organization slug")
		user := fs.String("user", "admin@demo.test", "user e-mail")
		ttl := fs.Duration("ttl", 0, "token lifetime (default RAPPORT_TOKEN_TTL)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return token(ctx, cfg, log, stdout, *org, *user, *ttl)
	case "bench":
		return bench(ctx, args, stdout, stderr)
	case "rawserve":
		fs := flag.NewFlagSet("rawserve", flag.ContinueOnError)
		addr := fs.String("addr", "127.0.0.1:8081", "listen address")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return rawServe(ctx, cfg, log, *addr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
