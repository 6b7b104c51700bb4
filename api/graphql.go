package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/ravilushqa/otelgqlgen"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rapportcrm/rapport/graph"
	"github.com/rapportcrm/rapport/graph/generated"
	"github.com/rapportcrm/rapport/internal/crm"
)

// graphqlHandler assembles the GraphQL server: transports (WebSocket and SSE for subscriptions,
// GET for queries, POST with a JSON body), the operation limits, the error presenter and the panic
// recovery.
func graphqlHandler(cfg Config, d Deps, m *metrics) http.Handler {
	schema := generated.NewExecutableSchema(generated.Config{
		Resolvers:  graph.NewResolver(d.Service, d.Log),
		Complexity: graph.Complexity(),
	})
	srv := handler.New(schema)
	srv.AddTransport(transport.Websocket{
		KeepAlivePingInterval: 15 * time.Second,
		InitTimeout:           10 * time.Second,
		Implementation: transport.CoderWebsocketImplementation{AcceptOptions: websocket.AcceptOptions{
			OriginPatterns: originPatterns(cfg.CORSOrigins),
		}},
		// Browsers cannot set headers on a WebSocket: the token travels in connection_init.
		InitFunc: func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			token, ok := bearer(payload.Authorization())
			if !ok {
				token, _ = payload["authToken"].(string)
			}
			if token == "" {
				if crm.ActorFrom(ctx) != nil { // authenticated by header on the upgrade request
					return ctx, nil, nil
				}
				return rejectWebsocket(ctx, `send {"Authorization": "Bearer <token>"} in connection_init`)
			}
			a, err := d.Service.Authenticate(ctx, token)
			if err != nil {
				return rejectWebsocket(ctx, crm.ErrorMessage(err))
			}
			return crm.NewContext(ctx, a), nil, nil
		},
	})
	srv.AddTransport(transport.SSE{})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(getTransport{})
	srv.AddTransport(postTransport{})
	srv.AddTransport(unsupportedTransport{}) // last: it takes everything

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	srv.Use(graph.Limits{MaxDepth: cfg.MaxDepth, MaxAliases: cfg.MaxAliases, MaxRootFields: cfg.MaxRootFields})
	if cfg.Tracing {
		// A span per resolver or method field. Trivial fields (a struct field or a plain method
		// marshalled as a scalar) never reach field interceptors: graph/gqlgen writes them directly.
		srv.Use(otelgqlgen.Middleware(otelgqlgen.WithCreateSpanFromFields(func(fc *graphql.FieldContext) bool {
			return fc.IsMethod
		})))
	}
	srv.SetErrorPresenter(graph.ErrorPresenter(d.Log))
	srv.SetRecoverFunc(graph.Recover(d.Log))
	srv.AroundFields(graph.MarkResolverErrors) // trivial fields skip it: they return no error
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		resp := next(graph.WithCache(ctx))
		if graphql.HasOperationContext(ctx) {
			m.observeOperation(graphql.GetOperationContext(ctx), resp)
		}
		return resp
	})
	return srv
}

// originPatterns converts CORS origins to WebSocket origin patterns (host names).
func originPatterns(origins []string) []string {
	out := make([]string, 0, len(origins))
	for _, o := range origins {
		if o == "*" {
			return []string{"*"}
		}
		if _, host, ok := strings.Cut(o, "://"); ok {
			o = host
		}
		out = append(out, o)
	}
	return out
}

// rejectWebsocket refuses a WebSocket connection_init with close code 4403 (Forbidden, as
// graphql-transport-ws specifies) and the reason, so that clients of that protocol, to which
// gqlgen sends no connection_error, learn why. Close reasons are limited to 123 bytes.
func rejectWebsocket(ctx context.Context, reason string) (context.Context, *transport.InitPayload, error) {
	if len(reason) > 123 {
		reason = reason[:120] + "..."
	}
	ctx = transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, 4403), reason)
	return ctx, nil, errors.New(reason)
}
