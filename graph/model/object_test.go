package model

import (
	"bytes"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// TestObjectWritesAsFieldSet pins Object.MarshalGQL to graphql.FieldSet's output: aliases, a
// repeated alias (the first value wins), an alias that JSON must escape, more fields than Object
// holds inline.
func TestObjectWritesAsFieldSet(t *testing.T) {
	for _, aliases := range [][]string{
		{},
		{"id"},
		{"__typename", "id", "name", "n", "name"},
		{"a\"b", "c\\d", "é", "x"},
		{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f0"},
	} {
		fields := make([]graphql.CollectedField, len(aliases))
		for i, a := range aliases {
			fields[i] = graphql.CollectedField{Field: &ast.Field{Alias: a, Name: a}}
		}
		set, obj := graphql.NewFieldSet(fields), NewObject(fields)
		for i := range fields {
			v := graphql.MarshalInt(i)
			if i%2 == 1 {
				v = graphql.MarshalString("v\"" + aliases[i])
			}
			set.Values[i], obj.Values[i] = v, v
		}
		var want, got bytes.Buffer
		set.MarshalGQL(&want)
		obj.MarshalGQL(&got)
		if got.String() != want.String() {
			t.Errorf("fields %q: got %s, want %s", aliases, got.String(), want.String())
		}
	}
}
