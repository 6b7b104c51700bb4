package api

import (
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// marshalResponse writes what json.Marshal writes, for every shape of response, except that it
// leaves <, > and & in the data as they are (json.Marshal escapes them for HTML).
func TestMarshalResponseIsJSON(t *testing.T) {
	next := true
	for name, resp := range map[string]*graphql.Response{
		"data":                 {Data: json.RawMessage(`{"contacts":{"edges":[{"node":{"name":"张伟 \"Zhang\" <Wei>"}}]}}`)},
		"no data":              {},
		"errors only":          {Errors: gqlerror.List{{Message: "x", Extensions: map[string]any{"code": "FORBIDDEN", "data": nil}}}},
		"errors and null data": {Errors: gqlerror.List{{Message: "y"}}, Data: json.RawMessage(`null`)},
		"errors, data, rest":   {Errors: gqlerror.List{{Message: "z", Path: ast.Path{ast.PathName("a"), ast.PathIndex(1)}}}, Data: json.RawMessage(`{"a":[1,2]}`), Label: "l", Path: ast.Path{ast.PathName("a")}, HasNext: &next, Extensions: map[string]any{"cost": 3}},
		"data and extensions":  {Data: json.RawMessage(`{}`), Extensions: map[string]any{"k": "v"}},
	} {
		want, err := json.Marshal(resp)
		require.NoError(t, err, name)
		got := marshalResponse(resp)
		require.JSONEq(t, string(want), string(got), name)
		if name != "data" {
			require.Equal(t, string(want), string(got), name)
		}
	}
}
