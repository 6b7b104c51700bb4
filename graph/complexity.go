package graph

import (
	"github.com/rapportcrm/rapport/graph/generated"
	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/service"
)

// Complexity makes lists cost what they can return: a page costs its size times the cost of one
// element, so `accounts(first: 100) { contacts(first: 100) { ... } }` is priced at 10,000 elements
// and rejected by the complexity limit before it runs.
func Complexity() generated.ComplexityRoot {
	var c generated.ComplexityRoot
	c.Query.Accounts = func(child int, first *int, _ *string, last *int, _ *string, _ *model.AccountFilter, _ *model.RecordOrder) int {
		return 1 + child*pageSize(first, last)
	}
	c.Query.Contacts = func(child int, first *int, _ *string, last *int, _ *string, _ *model.ContactFilter, _ *model.RecordOrder) int {
		return 1 + child*pageSize(first, last)
	}
	c.Query.Changes = func(child int, _ *string, _ []model.RecordType, first *int) int {
		return 1 + child*pageSize(first, nil)
	}
	c.Query.AuditTrail = func(child int, _ string, first *int, _ *string) int {
		return 1 + child*pageSize(first, nil)
	}
	c.Query.Nodes = func(child int, ids []string) int { return 1 + child*max(len(ids), 1) }
	c.Account.Contacts = func(child int, first *int) int { return 1 + child*pageSize(first, nil) }
	c.Query.Opportunities = func(child int, first *int, _ *string, last *int, _ *string, _ *model.OpportunityFilter, _ *model.OpportunityOrder) int {
		return 1 + child*pageSize(first, last)
	}
	c.Query.Leads = func(child int, first *int, _ *string, last *int, _ *string, _ *model.LeadFilter, _ *model.LeadOrder) int {
		return 1 + child*pageSize(first, last)
	}
	c.Lead.Touches = func(child int, first *int) int { return 1 + child*pageSize(first, nil) }

	importComplexity(&c)
	return c
}

// pageSize is the number of elements a list may return.
func pageSize(first, last *int) int {
	switch {
	case first != nil && *first > 0:
		return *first
	case last != nil && *last > 0:
		return *last
	}
	return service.DefaultPageSize
}
