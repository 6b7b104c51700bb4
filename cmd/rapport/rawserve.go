package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rapportcrm/rapport/internal/rawbaseline"
)

// rawServe serves the raw-SQL baseline of `rapport bench` (internal/rawbaseline) on addr until ctx
// ends, with the database, pool settings and token secret `rapport serve` uses, and /metrics with
// the process's memory for the bench's RSS column.
func rawServe(ctx context.Context, cfg config, log *slog.Logger, addr string) error {
	a, err := open(ctx, cfg, log, false, true)
	if err != nil {
		return err
	}
	defer a.close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle(rawbaseline.Path, rawbaseline.New(a.svc, log))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("raw baseline listening", "addr", ln.Addr().String(), "routes", "POST "+rawbaseline.Path+"{scenario}")
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
