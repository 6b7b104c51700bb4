package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits bound the shape of an operation before it runs, so a client cannot make one request
// do unbounded work: nesting depth, aliases (which multiply fields) and root fields. Complexity (page
// sizes times nested cost) is bounded separately by gqlgen's complexity limit.
type Limits struct {
	MaxDepth      int
	MaxAliases    int
	MaxRootFields int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = Limits{}

// ExtensionName implements graphql.HandlerExtension.
func (Limits) ExtensionName() string { return "RapportLimits" }

// Validate implements graphql.HandlerExtension.
func (Limits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext rejects an operation that exceeds a limit.
func (l Limits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := walker{doc: oc.Doc, visiting: map[string]bool{}, fragDepth: map[string]int{}}
	depth := w.depth(oc.Operation.SelectionSet, 0)
	switch {
	case depth > l.MaxDepth:
		return limitError("The query is nested %d levels deep; at most %d are allowed.", depth, l.MaxDepth)
	case w.aliases > l.MaxAliases:
		return limitError("The query uses %d aliases; at most %d are allowed.", w.aliases, l.MaxAliases)
	case w.rootFields(oc.Operation.SelectionSet) > l.MaxRootFields:
		return limitError("The query asks for more than %d root fields; split it.", l.MaxRootFields)
	}
	return nil
}

func limitError(format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	err.Extensions = map[string]any{"code": "BAD_USER_INPUT", "field": "query"}
	return err
}

type walker struct {
	doc      *ast.QueryDocument
	aliases  int
	visiting map[string]bool // fragment cycles are rejected by validation; this guards anyway
	// fragDepth memoises each fragment's own depth, so a fragment spread many times (a "fragment
	// bomb") is walked once, not once per spread.
	fragDepth map[string]int
}

// depth returns the deepest field nesting below set, counting aliases on the way.
func (w *walker) depth(set ast.SelectionSet, level int) int {
	deepest := level
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if s.Alias != "" && s.Alias != s.Name {
				w.aliases++
			}
			deepest = max(deepest, w.depth(s.SelectionSet, level+1))
		case *ast.InlineFragment:
			deepest = max(deepest, w.depth(s.SelectionSet, level))
		case *ast.FragmentSpread:
			d, seen := w.fragDepth[s.Name]
			if !seen && !w.visiting[s.Name] {
				if f := w.doc.Fragments.ForName(s.Name); f != nil {
					w.visiting[s.Name] = true
					d = w.depth(f.SelectionSet, 0)
					delete(w.visiting, s.Name)
					w.fragDepth[s.Name] = d
				}
			}
			deepest = max(deepest, level+d)
		}
	}
	return deepest
}

// rootFields counts the fields at the top of the operation, fragments included.
func (w *walker) rootFields(set ast.SelectionSet) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			n++
		case *ast.InlineFragment:
			n += w.rootFields(s.SelectionSet)
		case *ast.FragmentSpread:
			if f := w.doc.Fragments.ForName(s.Name); f != nil && !w.visiting[s.Name] {
				w.visiting[s.Name] = true
				n += w.rootFields(f.SelectionSet)
				delete(w.visiting, s.Name)
			}
		}
	}
	return n
}
