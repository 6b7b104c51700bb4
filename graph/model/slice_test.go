package model

import (
	"context"
	"errors"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// MarshalSlice gives each element its index, and turns a panic in one element into an error on
// that element's path and a null, leaving the others written.
func TestMarshalSlice(t *testing.T) {
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter,
		func(context.Context, any) error { return errors.New("internal") })
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "list"}}})
	ret := MarshalSlice(ctx, 3, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		if i == 1 {
			panic("boom")
		}
		return graphql.MarshalInt(*graphql.GetFieldContext(ctx).Index)
	})
	if ret[0] == graphql.Null || ret[1] != graphql.Null || ret[2] == graphql.Null {
		t.Fatalf("want values, null, value; got %v", ret)
	}
	errs := graphql.GetErrors(ctx)
	if len(errs) != 1 || errs[0].Message != "internal" || errs[0].Path.String() != "list[1]" {
		t.Fatalf("want one error at list[1], got %v", errs)
	}
}
