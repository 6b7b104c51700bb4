// Package api is Rapport's HTTP shell: the router, middleware (request IDs, logging, panic
// recovery, CORS, body limits, rate limits, authentication), the GraphQL endpoint with its
// transports (POST, GET, WebSocket, SSE), GraphiQL, health, readiness, metrics and River's UI.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/graph"
	"github.com/rapportcrm/rapport/internal/service"
)

// Config holds the HTTP settings.
type Config struct {
	Development   bool     // GraphiQL at / and introspection on by default
	Introspection bool     // allow schema introspection
	CORSOrigins   []string // allowed browser origins; empty allows none, "*" allows any
	MaxBodyBytes  int64    // request body limit
	MaxComplexity int      // GraphQL complexity limit (page sizes count)
	MaxDepth      int      // GraphQL nesting limit
	MaxAliases    int      // GraphQL alias limit
	MaxRootFields int      // GraphQL root-field limit
	// APIKeyRate and APIKeyBurst limit each API key's requests per second.
	APIKeyRate  float64
	APIKeyBurst int
	// AnonymousPerMinute limits requests without credentials (login attempts) per client IP.
	AnonymousPerMinute int
	// FormPerMinute is the ceiling of submissions per public form per minute, from all clients
	// together (each form also limits each client IP to its own ratePerMinute); 0: 6000.
	FormPerMinute int
	// Tracing wraps HTTP requests and GraphQL operations in OpenTelemetry spans (the process sets
	// up the exporter).
	Tracing bool
}

// Deps are what the HTTP shell serves.
type Deps struct {
	Service  *service.Service
	Pool     *pgxpool.Pool
	Log      *slog.Logger
	Registry *prometheus.Registry
	RiverUI  http.Handler // nil when this process runs no River UI
	Version  string
}

// New returns the HTTP handler of the API.
func New(cfg Config, d Deps) http.Handler {
	m := newMetrics(d.Registry)
	r := chi.NewRouter()
	r.Use(requestID, logRequests(d.Log, m), recoverPanics(d.Log))
	// Public lead forms answer CORS per form and limit bodies and rates themselves.
	r.Handle("/forms/{key}", newFormHandler(d.Service, d.Log, cfg.FormPerMinute))

	r.Group(func(r chi.Router) {
		r.Use(cors.New(cors.Options{
			AllowedOrigins:   cfg.CORSOrigins,
			AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodOptions},
			AllowedHeaders:   []string{"Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"},
			ExposedHeaders:   []string{"X-Request-ID"},
			AllowCredentials: false,
			MaxAge:           600,
		}).Handler)
		r.Use(limitBody(cfg.MaxBodyBytes, importPath))

		r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": d.Version})
		})
		r.Get("/readyz", readiness(d.Pool))
		r.Handle("/metrics", promhttp.HandlerFor(d.Registry, promhttp.HandlerOpts{}))

		auth := authenticate(d.Service, d.Log)
		limits := rateLimits(cfg)
		gql := graphqlHandler(cfg, d, m)
		r.With(auth, limits, graph.WithIdempotencyKey).Handle("/graphql", gql)
		r.With(auth, limits).Post(importPath, uploadLeadImport(d.Service, d.Log))
		if d.RiverUI != nil {
			r.With(auth, requireAdmin).Mount("/riverui", d.RiverUI)
		}
		if cfg.Development {
			r.Get("/", graphiQL("/graphql"))
		}
	})
	if cfg.Tracing {
		return otelhttp.NewHandler(r, "rapport")
	}
	return r
}

// readiness reports whether the database answers and its migrations are current.
func readiness(pool *pgxpool.Pool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := pool.Ping(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "database unreachable"})
			return
		}
		current, err := db.MigrationsCurrent(ctx, pool)
		if err != nil || !current {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "migrations pending: run rapport migrate"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": "ready"})
	}
}
