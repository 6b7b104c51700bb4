package crm

import (
	"errors"
	"fmt"
)

// Error codes. They are created deep in the application and mapped to a transport (GraphQL
// extensions.code, HTTP status) only at the edge.
const (
	ECONFLICT        = "conflict"        // the state changed under the caller, or the record already exists
	EFORBIDDEN       = "forbidden"       // authenticated, but not allowed to do this
	EINTERNAL        = "internal"        // a bug or an outage; details are logged, never shown
	EINVALID         = "invalid"         // the input is wrong; Field names the offending input
	ENOTFOUND        = "not_found"       // no such record, or not one the caller may see
	ERATELIMITED     = "rate_limited"    // too many requests; try again later
	EUNAUTHENTICATED = "unauthenticated" // no credentials, or credentials that are expired, forged or revoked
)

// Error is an application error: a code, a message a person can act on, and optionally the input
// field at fault and machine-readable details (such as the ID of an existing duplicate).
type Error struct {
	Code    string
	Message string
	Field   string
	Details map[string]any
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("rapport error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("rapport error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the input field at fault.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound returns an ENOTFOUND error for a record of the given kind.
func NotFound(kind string, id ID) *Error {
	return &Error{Code: ENOTFOUND, Message: fmt.Sprintf("%s %s not found", kind, id)}
}

// With returns a copy of e carrying one more detail.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// ErrorCode returns the code of an application error, or EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of an application error, or a generic message for any
// other error so that internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
