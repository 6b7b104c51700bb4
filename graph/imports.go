package graph

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"

	"github.com/rapportcrm/rapport/graph/generated"
	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// columnMappings lists a mapping in the order of the file's columns; skipped columns appear with
// field "" only when all is set.
func columnMappings(headers []string, m map[string]string, all bool) []model.ColumnMapping {
	out := make([]model.ColumnMapping, 0, len(headers))
	for _, h := range headers {
		f, ok := m[h]
		if ok && (f != "" || all) {
			out = append(out, model.ColumnMapping{Column: h, Field: f})
		}
	}
	return out
}

// mappingInput turns the mapping argument into header -> field; nil stays nil (the suggestion).
func mappingInput(in []model.ColumnMappingInput) map[string]string {
	if in == nil {
		return nil
	}
	m := make(map[string]string, len(in))
	for _, c := range in {
		m[c.Column] = c.Field
	}
	return m
}

func leadImportConnection(list []crm.LeadImport, info service.PageInfo) *model.LeadImportConnection {
	c := &model.LeadImportConnection{Nodes: list, Edges: make([]model.LeadImportEdge, len(list)), PageInfo: ptr(model.NewPageInfo(info))}
	for i := range list {
		c.Edges[i] = model.LeadImportEdge{Cursor: service.LeadImportCursor(list[i]), Node: &list[i]}
	}
	return c
}

func importErrorConnection(id crm.ID, errs []crm.ImportError, info service.PageInfo, total int) *model.LeadImportErrorConnection {
	c := &model.LeadImportErrorConnection{Nodes: errs, Edges: make([]model.LeadImportErrorEdge, len(errs)),
		PageInfo: ptr(model.NewPageInfo(info)), TotalCount: total}
	for i := range errs {
		c.Edges[i] = model.LeadImportErrorEdge{Cursor: service.ImportErrorCursor(id, errs[i]), Node: &errs[i]}
	}
	return c
}

// selects reports whether the current field's selection includes the named sub-field.
func selects(ctx context.Context, name string) bool {
	return slices.Contains(graphql.CollectAllFields(ctx), name)
}

// Actor returns the request's authenticated actor, or UNAUTHENTICATED saying why there is none
// (for HTTP endpoints outside GraphQL, such as the CSV upload).
func Actor(ctx context.Context) (*crm.Actor, error) { return actor(ctx) }

// ErrorCode returns the extensions.code GraphQL gives an error (INTERNAL for non-application ones).
func ErrorCode(err error) string { return errorCodes[crm.ErrorCode(err)] }

// importComplexity prices the import lists by their page size, like the other lists.
func importComplexity(c *generated.ComplexityRoot) {
	c.Query.LeadImports = func(child int, first *int, _ *string) int { return 1 + child*pageSize(first, nil) }
	c.LeadImport.Errors = func(child int, first *int, _ *string) int {
		if first == nil {
			return 1 + child*50
		}
		return 1 + child*pageSize(first, nil)
	}
}
