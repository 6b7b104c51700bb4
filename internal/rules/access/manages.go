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

// ManagerOf maps each user in a team to the person who manages them: the manager of their team,
// or, when it has none (or the user manages it themselves), of the nearest team above it that has
// one. Users without a team, or with nobody above them, are absent. A cycle is walked once.
func ManagerOf(users []crm.User, teams []crm.Team) map[crm.ID]crm.ID {
	byID := make(map[crm.ID]crm.Team, len(teams))
	for _, t := range teams {
		byID[t.ID] = t
	}
	out := make(map[crm.ID]crm.ID, len(users))
	for _, u := range users {
		seen := make(map[crm.ID]bool)
		for id := u.TeamID; id != crm.NilID && !seen[id]; {
			seen[id] = true
			t, ok := byID[id]
			if !ok {
				break
			}
			if t.ManagerID != crm.NilID && t.ManagerID != u.ID {
				out[u.ID] = t.ManagerID
				break
			}
			id = t.ParentID
		}
	}
	return out
}
