package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/rapportcrm/rapport/internal/crm"
)

// GraphQL error codes (extensions.code), one per application error code.
var errorCodes = map[string]string{
	crm.ECONFLICT:        "CONFLICT",
	crm.EFORBIDDEN:       "FORBIDDEN",
	crm.EINTERNAL:        "INTERNAL",
	crm.EINVALID:         "BAD_USER_INPUT",
	crm.ENOTFOUND:        "NOT_FOUND",
	crm.ERATELIMITED:     "RATE_LIMITED",
	crm.EUNAUTHENTICATED: "UNAUTHENTICATED",
}

// resolverError marks an error returned by a resolver, as opposed to one gqlgen raised while
// decoding, parsing, validating or coercing the request before any resolver ran.
type resolverError struct{ err error }

func (e resolverError) Error() string { return e.err.Error() }
func (e resolverError) Unwrap() error { return e.err }

// MarkResolverErrors is field middleware that marks the errors resolvers return, so the error
// presenter can tell a failure of ours (INTERNAL) from a malformed request (BAD_USER_INPUT).
func MarkResolverErrors(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil {
		err = resolverError{err}
	}
	return res, err
}

// ErrorPresenter gives every error an extensions.code. Application errors keep their message (and
// field, and details). Errors gqlgen raised before any resolver ran are the request's fault:
// BAD_USER_INPUT, unless gqlgen already gave a code (GRAPHQL_PARSE_FAILED, ...). Any other error
// from a resolver is ours: it is logged with the request and shown only as INTERNAL, so internals
// never leak.
func ErrorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		var appErr *crm.Error
		if errors.As(err, &appErr) {
			gqlErr.Message = appErr.Message
			ext := map[string]any{"code": errorCodes[appErr.Code]}
			if appErr.Field != "" {
				ext["field"] = appErr.Field
			}
			for k, v := range appErr.Details {
				ext[k] = presentDetail(appErr.Details, k, v)
			}
			gqlErr.Extensions = ext
			return gqlErr
		}
		var fromResolver resolverError
		if !errors.As(err, &fromResolver) {
			if _, ok := gqlErr.Extensions["code"]; !ok {
				if gqlErr.Extensions == nil {
					gqlErr.Extensions = map[string]any{}
				}
				gqlErr.Extensions["code"] = "BAD_USER_INPUT"
			}
			return gqlErr
		}
		log.ErrorContext(ctx, "graphql: internal error", "err", err, "path", gqlErr.Path.String())
		return &gqlerror.Error{Message: "Internal error; it was logged, please report the request ID if it persists.",
			Path: gqlErr.Path, Extensions: map[string]any{"code": "INTERNAL"}}
	}
}

// presentDetail renders error details for clients: record IDs become global IDs, and unmet entry
// criteria are spelled like the Blocker type (kind as the CriterionKind enum).
func presentDetail(details map[string]any, key string, v any) any {
	if blockers, ok := v.([]crm.Blocker); ok {
		out := make([]map[string]string, len(blockers))
		for i, b := range blockers {
			out[i] = map[string]string{"kind": strings.ToUpper(string(b.Kind)), "value": b.Value, "detail": b.Detail}
		}
		return out
	}
	id, ok := v.(crm.ID)
	if !ok {
		return v
	}
	switch key {
	case "existingId":
		if typ, ok := details["existingType"].(string); ok {
			return crm.GlobalID(typ, id)
		}
	case "mergedIntoId":
		return id.String()
	}
	return id.String()
}

// Recover turns a panic in a resolver into an INTERNAL error, logging the stack.
func Recover(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "graphql: panic", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return crm.Errorf(crm.EINTERNAL, "Internal error; it was logged, please report the request ID if it persists.")
	}
}
