package access

import "github.com/rapportcrm/rapport/internal/crm"

// Manages reports whether user manages team: as its manager, or as the manager of a team above it
// in the ParentID tree. A cycle in the tree is walked once.
func Manages(teams []crm.Team, user, team crm.ID) bool {
	if user == crm.NilID || team == crm.NilID {
		return false
	}
	byID := make(map[crm.ID]crm.Team, len(teams))
	for _, t := range teams {
		byID[t.ID] = t
	}
	seen := make(map[crm.ID]bool)
	for id := team; id != crm.NilID && !seen[id]; {
		seen[id] = true
		t, ok := byID[id]
		if !ok {
			return false
		}
		if t.ManagerID == user {
			return true
		}
		id = t.ParentID
	}
	return false
}
