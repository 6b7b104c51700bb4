package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"riverqueue.com/riverui"

	"github.com/rapportcrm/rapport/api"
	"github.com/rapportcrm/rapport/worker"
)

// serve runs the API and/or the workers until ctx ends, then shuts down gracefully: stop accepting,
// drain HTTP requests, soft-stop River (running jobs finish), close the pool, stop the embedded
// PostgreSQL.
func serve(ctx context.Context, cfg config, log *slog.Logger, runAPI, runWorkers bool) error {
	if tracingEnabled() {
		shutdownTracing, err := setupTracing(ctx)
		if err != nil {
			return fmt.Errorf("OpenTelemetry: %w", err)
		}
		defer shutdownTracing(context.WithoutCancel(ctx)) //nolint:errcheck // best effort at exit
		log.Info("exporting traces with OpenTelemetry")
	}
	a, err := open(ctx, cfg, log, cfg.migrateOnStart(), true)
	if err != nil {
		return err
	}
	defer a.close()
	if a.embedded && cfg.development() {
		created, err := a.svc.SeedDemo(ctx)
		if err != nil {
			return fmt.Errorf("seed demo organization: %w", err)
		}
		if created {
			log.Info("seeded the demo organization", "org", "demo", "users", "admin@demo.test, manager@demo.test, rep1@demo.test, rep2@demo.test, support@demo.test, analyst@demo.test")
		}
	}

	if cfg.PprofAddr != "" {
		go servePprof(cfg.PprofAddr, log)
	}
	jobs, err := worker.NewClient(a.pool, a.svc, log, worker.Options{RunWorkers: runWorkers})
	if err != nil {
		return err
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = a.relay.Run(bg) })
	if runWorkers {
		if err := jobs.Start(bg); err != nil {
			stopBG()
			return fmt.Errorf("start River: %w", err)
		}
	}

	var srv *http.Server
	if runAPI {
		wg.Go(func() { _ = a.hub.Run(bg) })
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			api.NewPoolCollector(a.pool), api.NewRiverCollector(a.pool))
		ui, err := riverui.NewHandler(&riverui.HandlerOpts{Endpoints: riverui.NewEndpoints(jobs, nil), Logger: log, Prefix: "/riverui"})
		if err != nil {
			stopBG()
			return fmt.Errorf("river ui: %w", err)
		}
		if err := ui.Start(bg); err != nil {
			stopBG()
			return fmt.Errorf("river ui: %w", err)
		}
		handler := api.New(api.Config{
			Development: cfg.development(), Introspection: cfg.introspection(), CORSOrigins: cfg.CORSOrigins,
			MaxBodyBytes: cfg.MaxBodyBytes, MaxComplexity: cfg.MaxComplexity, MaxDepth: cfg.MaxDepth,
			MaxAliases: cfg.MaxAliases, MaxRootFields: cfg.MaxRootFields, APIKeyRate: cfg.APIKeyRate,
			APIKeyBurst: cfg.APIKeyBurst, AnonymousPerMinute: cfg.AnonymousPerMinute, FormPerMinute: cfg.FormPerMinute, Tracing: tracingEnabled(),
		}, api.Deps{Service: a.svc, Pool: a.pool, Log: log, Registry: reg, RiverUI: ui, Version: version})
		ln, err := net.Listen("tcp", cfg.Addr)
		if err != nil {
			stopBG()
			return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
		srv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second,
			BaseContext: func(net.Listener) context.Context { return bg }}
		wg.Go(func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "err", err)
			}
		})
		base := "http://" + ln.Addr().String()
		log.Info("listening", "addr", ln.Addr().String(), "graphql", base+"/graphql", "version", version)
		announce(log, base, cfg)
	}

	<-ctx.Done()
	log.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if srv != nil {
		if err := srv.Shutdown(shutdown); err != nil {
			log.Error("drain HTTP", "err", err)
		}
	}
	if runWorkers {
		if err := jobs.Stop(shutdown); err != nil {
			log.Error("stop River", "err", err)
		}
	}
	stopBG() // ends subscriptions, the relay and the hub
	wg.Wait()
	log.Info("stopped")
	return nil
}

// announce tells a developer where the API is and how to get a token.
func announce(log *slog.Logger, base string, cfg config) {
	hint := "go run ./cmd/rapport token --org demo --user admin@demo.test"
	if cfg.DataDir != "./.rapport" {
		hint = "RAPPORT_DATA_DIR=" + cfg.DataDir + " " + hint
	}
	log.Info("ready", "graphql", base+"/graphql", "graphiql", base+"/", "get_a_token", hint)
}

// servePprof serves Go's profiler on its own listener (never on the API address), for profiling
// under load: go tool pprof http://<addr>/debug/pprof/profile?seconds=10
func servePprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("pprof listening", "addr", addr)
	if err := http.ListenAndServe(addr, mux); err != nil {
		log.Error("pprof", "err", err)
	}
}
