package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

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

// gqlgen's own codes, which already carry a code but need a message that says what to fix.
var passThroughCodes = map[string]bool{
	"GRAPHQL_VALIDATION_FAILED": true, "GRAPHQL_PARSE_FAILED": true, "COMPLEXITY_LIMIT_EXCEEDED": true,
	"PERSISTED_QUERY_NOT_FOUND": true, "PERSISTED_QUERY_NOT_SUPPORTED": true, "BAD_USER_INPUT": true,
	"RATE_LIMITED": true,
}

// ErrorPresenter turns every resolver error into a GraphQL error with extensions.code. Application
// errors keep their message (and field, and details); anything else is logged with the request
// and shown only as INTERNAL, so internals never leak.
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
		if code, ok := gqlErr.Extensions["code"].(string); ok && passThroughCodes[code] {
			return gqlErr
		}
		var inputErr *gqlerror.Error
		if errors.As(err, &inputErr) && inputErr.Rule != "" {
			return gqlErr
		}
		log.ErrorContext(ctx, "graphql: internal error", "err", err, "path", gqlErr.Path.String())
		return &gqlerror.Error{Message: "Internal error; it was logged, please report the request ID if it persists.",
			Path: gqlErr.Path, Extensions: map[string]any{"code": "INTERNAL"}}
	}
}

// presentDetail renders error details for clients: record IDs become global IDs.
func presentDetail(details map[string]any, key string, v any) any {
	id, ok := v.(crm.ID)
	if !ok {
		return v
	}
	switch key {
	case "existingId":
		if typ, ok := details["existingType"].(string); ok {
			return globalID(typ, id)
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
