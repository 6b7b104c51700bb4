package api

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/httprate"
	"golang.org/x/time/rate"

	"github.com/rapportcrm/rapport/graph"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

type requestIDKey struct{}

// RequestID returns the ID of the request in ctx ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID gives every request an ID (the client's X-Request-ID when it is sane), echoes it in the
// response and puts it in the context for logs.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if len(id) == 0 || len(id) > 64 || strings.ContainsFunc(id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
			id = rand.Text()[:20]
		}
		w.Header().Set("X-Request-ID", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// statusRecorder remembers the status a handler wrote. It passes Flush and Hijack through, which
// SSE and WebSocket need.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack hands the connection to a WebSocket upgrade.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response writer cannot be hijacked")
	}
	if s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	return hj.Hijack()
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logRequests logs each request as one JSON line and records its metrics.
func logRequests(log *slog.Logger, m *metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			elapsed := time.Since(start)
			m.observeHTTP(r, rec.status, elapsed)
			if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" {
				return
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("request_id", RequestID(r.Context())), slog.String("method", r.Method),
				slog.String("path", r.URL.Path), slog.Int("status", rec.status),
				slog.Duration("duration", elapsed), slog.String("remote", r.RemoteAddr))
		})
	}
}

// recoverPanics turns a panic outside GraphQL execution into a 500 with a JSON error body.
func recoverPanics(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					log.ErrorContext(r.Context(), "http: panic", "request_id", RequestID(r.Context()),
						"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					writeGraphQLError(w, http.StatusInternalServerError, "INTERNAL", "Internal error; it was logged.")
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody caps request bodies; a larger one fails to decode with a clear error. Paths in own
// set their own limit (the CSV upload).
func limitBody(n int64, own ...string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if slices.Contains(own, r.URL.Path) {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > n {
				writeGraphQLError(w, http.StatusRequestEntityTooLarge, "BAD_USER_INPUT",
					fmt.Sprintf("The request body is larger than %d bytes.", n))
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, n)
			next.ServeHTTP(w, r)
		})
	}
}

// authenticate turns the bearer credential into the request's actor. A rejected credential does
// not end the request: resolvers that need an actor report why it was rejected, and login works.
func authenticate(svc *service.Service, log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if token, ok := bearer(r.Header.Get("Authorization")); ok {
				a, err := svc.Authenticate(ctx, token)
				if err != nil {
					if crm.ErrorCode(err) == crm.EINTERNAL {
						log.ErrorContext(ctx, "authentication failed", "request_id", RequestID(ctx), "err", err)
					}
					ctx = graph.WithAuthError(ctx, err)
				} else {
					ctx = crm.NewContext(ctx, a)
				}
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// bearer extracts the credential of an "Authorization: Bearer <token>" header.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}

// requireAdmin lets only administrators through (River's UI).
func requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := crm.ActorFrom(r.Context())
		switch {
		case a == nil:
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "Sign in: send an administrator's bearer token.", http.StatusUnauthorized)
		case a.Kind != crm.ActorUser || a.Role != crm.RoleAdmin:
			http.Error(w, "Administrators only.", http.StatusForbidden)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// rateLimits bounds each API key's request rate and, per client IP, requests without credentials
// (which is what password guessing looks like). Users with tokens are not limited here.
func rateLimits(cfg Config) func(http.Handler) http.Handler {
	anonymous := httprate.Limit(cfg.AnonymousPerMinute, time.Minute, httprate.WithKeyFuncs(httprate.KeyByIP),
		httprate.WithLimitHandler(func(w http.ResponseWriter, _ *http.Request) {
			writeGraphQLError(w, http.StatusTooManyRequests, "RATE_LIMITED", "Too many requests without credentials; wait a minute.")
		}))
	keys := newKeyLimiter[crm.ID](10 * time.Minute)
	return func(next http.Handler) http.Handler {
		limitedAnon := anonymous(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := crm.ActorFrom(r.Context())
			switch {
			case a == nil:
				limitedAnon.ServeHTTP(w, r)
			case a.Kind == crm.ActorAPIKey && !keys.allow(a.APIKeyID, rate.Limit(cfg.APIKeyRate), cfg.APIKeyBurst):
				w.Header().Set("Retry-After", "1")
				writeGraphQLError(w, http.StatusTooManyRequests, "RATE_LIMITED",
					fmt.Sprintf("This API key is limited to %g requests per second; slow down.", cfg.APIKeyRate))
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}

// keyLimiter holds one in-process token bucket per key (an API key, a form, a form and client IP),
// forgetting buckets idle for longer than idle. Each process has its own buckets, so N API
// processes let through up to N times the configured rate.
type keyLimiter[K comparable] struct {
	idle     time.Duration
	mu       sync.Mutex
	limiters map[K]*keyEntry
	swept    time.Time
}

type keyEntry struct {
	limiter *rate.Limiter
	seen    time.Time
}

func newKeyLimiter[K comparable](idle time.Duration) *keyLimiter[K] {
	return &keyLimiter[K]{idle: idle, limiters: map[K]*keyEntry{}}
}

// allow takes a token from key's bucket of rate r and size burst, if there is one.
func (k *keyLimiter[K]) allow(key K, r rate.Limit, burst int) bool {
	ok, _ := k.take(key, r, burst)
	return ok
}

// take takes a token from key's bucket of rate r and size burst (a bucket whose rate changed since
// is adjusted), or says how long until one is available. A refused take leaves the bucket as it was.
func (k *keyLimiter[K]) take(key K, r rate.Limit, burst int) (bool, time.Duration) {
	now := time.Now()
	k.mu.Lock()
	e, ok := k.limiters[key]
	if !ok {
		e = &keyEntry{limiter: rate.NewLimiter(r, burst)}
		k.limiters[key] = e
	} else if e.limiter.Limit() != r || e.limiter.Burst() != burst {
		e.limiter.SetLimitAt(now, r)
		e.limiter.SetBurstAt(now, burst)
	}
	e.seen = now
	if now.Sub(k.swept) > time.Minute {
		for id, x := range k.limiters {
			if now.Sub(x.seen) > k.idle {
				delete(k.limiters, id)
			}
		}
		k.swept = now
	}
	k.mu.Unlock()
	res := e.limiter.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Minute
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// writeGraphQLError writes a GraphQL-shaped error response outside GraphQL execution.
func writeGraphQLError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"message": message, "extensions": map[string]any{"code": code}}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
