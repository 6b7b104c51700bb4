package model

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalSlice writes the elements of a list one after the other in the caller's goroutine. It
// has graphql.MarshalSliceConcurrently's signature and does what that does for a list of one
// element, for every element: a field context with the element's index, and a panic in an element
// recovered into an error on its path and a null. The generated code calls it instead (graph/gqlgen):
// the list resolvers fetch every reference of a page ahead, so an element only reads the response's
// cache, and a goroutine per element cost more than the element itself. workerLimit is unused.
func MarshalSlice(ctx context.Context, length int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) graphql.Array {
	_ = workerLimit
	ret := make(graphql.Array, length)
	for i := range length {
		index := i
		elementCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &index})
		if omitPanicHandler {
			ret[i] = marshalElement(elementCtx, i)
			continue
		}
		ret[i] = marshalRecovered(elementCtx, i, marshalElement)
	}
	return ret
}

func marshalRecovered(ctx context.Context, i int, marshalElement func(ctx context.Context, i int) graphql.Marshaler) (m graphql.Marshaler) {
	defer func() {
		if r := recover(); r != nil {
			graphql.AddError(ctx, graphql.Recover(ctx, r))
			m = graphql.Null
		}
	}()
	return marshalElement(ctx, i)
}
