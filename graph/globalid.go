package graph

import (
	"github.com/rapportcrm/rapport/internal/crm"
)

// parseGlobalID decodes any global ID, returning its type and ID.
func parseGlobalID(field, s string) (string, crm.ID, error) {
	if typ, id, ok := crm.ParseGlobalID(s); ok {
		return typ, id, nil
	}
	return "", crm.NilID, crm.Invalid(field, "%q is not an ID this API returned.", truncate(s, 64))
}

// parseID decodes a global ID that must be of type typ.
func parseID(field, typ, s string) (crm.ID, error) {
	got, id, err := parseGlobalID(field, s)
	if err != nil {
		return id, err
	}
	if got != typ {
		return crm.NilID, crm.Invalid(field, "Expected the ID of a %s, got the ID of a %s.", typ, got)
	}
	return id, nil
}

// parseOptionalID decodes a nullable ID argument: nil gives NilID.
func parseOptionalID(field, typ string, s *string) (crm.ID, error) {
	if s == nil {
		return crm.NilID, nil
	}
	return parseID(field, typ, *s)
}

// parseIDs decodes a list of IDs of one type.
func parseIDs(field, typ string, ss []string) ([]crm.ID, error) {
	if ss == nil {
		return nil, nil
	}
	ids := make([]crm.ID, len(ss))
	for i, s := range ss {
		id, err := parseID(field, typ, s)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
