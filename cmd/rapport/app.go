package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/internal/auth"
	"github.com/rapportcrm/rapport/internal/eventlog"
	"github.com/rapportcrm/rapport/internal/service"
)

// app is everything a command needs, wired once: the database (embedded or not), the pool, the
// event relay and hub, and the service.
type app struct {
	cfg      config
	log      *slog.Logger
	embedded bool
	pool     *pgxpool.Pool
	relay    *eventlog.Relay
	hub      *eventlog.Hub
	svc      *service.Service
	stopDB   func()
}

// open connects to the database (starting the embedded one when needed) and, when migrate is
// set, brings its schema up to date first. Commands that issue or check tokens set tokens, which
// requires the JWT secret.
func open(ctx context.Context, cfg config, log *slog.Logger, migrate, tokens bool) (*app, error) {
	url, embedded, stopDB, err := database(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, embedded: embedded, stopDB: stopDB}
	if migrate {
		start := time.Now()
		if err := db.Migrate(ctx, url); err != nil {
			a.close()
			return nil, err
		}
		log.Info("database migrated", "took", time.Since(start).Round(time.Millisecond).String())
	}
	opts := db.PoolOptions{MaxConns: cfg.DBMaxConns, StatementTimeout: cfg.StatementTimeout}
	if tracingEnabled() {
		opts.Tracer = otelpgx.NewTracer()
	}
	a.pool, err = db.Open(ctx, url, opts)
	if err != nil {
		a.close()
		return nil, err
	}
	var signer *auth.Tokens
	if tokens {
		secret, err := jwtSecret(cfg, embedded)
		if err == nil {
			signer, err = auth.NewTokens(secret, cfg.TokenTTL)
		}
		if err != nil {
			a.close()
			return nil, err
		}
	}
	var oidc *auth.OIDC
	if cfg.OIDCIssuer != "" {
		if cfg.OIDCAudience == "" {
			a.close()
			return nil, errors.New("RAPPORT_OIDC_AUDIENCE is required with RAPPORT_OIDC_ISSUER")
		}
		if oidc, err = auth.NewOIDC(ctx, cfg.OIDCIssuer, cfg.OIDCAudience); err != nil {
			a.close()
			return nil, err
		}
	}
	a.relay = eventlog.NewRelay(a.pool, log, time.Now, cfg.EventPollInterval)
	a.hub = eventlog.NewHub(a.pool, log)
	a.svc = service.New(service.Deps{Pool: a.pool, Log: log, Tokens: signer, OIDC: oidc, Relay: a.relay, Hub: a.hub,
		Config: service.Config{TokenTTL: cfg.TokenTTL}})
	return a, nil
}

func (a *app) close() {
	if a.pool != nil {
		a.pool.Close()
	}
	if a.stopDB != nil {
		a.stopDB()
	}
}
