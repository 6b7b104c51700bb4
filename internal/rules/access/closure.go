package access

import (
	"bytes"
	"slices"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Pair says that Viewer sees the records that Owner owns. The set of pairs of an organization, its
// visibility closure, is stored in a table so that SQL filters lists with one join instead of
// walking the team tree on every query.
type Pair struct{ Viewer, Owner crm.ID }

// Closure computes the visibility closure of an organization from its users and teams, to be stored
// whenever either or the organization's visibility setting changes. For every active user u:
//
//   - u sees their own records: (u, u);
//   - with VisibilityTeam, a sales rep also sees the users of their own team;
//   - a user who manages a team (Team.ManagerID) sees every user of that team and of all the teams
//     below it in the ParentID tree, whatever their own role.
//
// Inactive users see nothing, but their records stay visible to their manager and team mates, so
// that the records of someone who left can be found and reassigned. A cycle in the team tree is
// walked once. The result is sorted by viewer, then owner, without duplicates.
func Closure(users []crm.User, teams []crm.Team, v crm.Visibility) []Pair {
	members := make(map[crm.ID][]crm.ID) // team -> its users, inactive ones included
	for _, u := range users {
		if u.TeamID != crm.NilID {
			members[u.TeamID] = append(members[u.TeamID], u.ID)
		}
	}
	children := make(map[crm.ID][]crm.ID) // team -> the teams directly below it
	managed := make(map[crm.ID][]crm.ID)  // user -> the teams they manage
	for _, t := range teams {
		if t.ParentID != crm.NilID && t.ParentID != t.ID {
			children[t.ParentID] = append(children[t.ParentID], t.ID)
		}
		if t.ManagerID != crm.NilID {
			managed[t.ManagerID] = append(managed[t.ManagerID], t.ID)
		}
	}

	pairs := make([]Pair, 0, len(users))
	seen := make(map[crm.ID]bool) // teams already walked for the current viewer
	var stack []crm.ID
	for _, u := range users {
		if !u.Active {
			continue
		}
		pairs = append(pairs, Pair{u.ID, u.ID})
		if v == crm.VisibilityTeam && u.Role == crm.RoleSalesRep && u.TeamID != crm.NilID {
			for _, m := range members[u.TeamID] {
				pairs = append(pairs, Pair{u.ID, m})
			}
		}
		clear(seen)
		stack = append(stack[:0], managed[u.ID]...)
		for len(stack) > 0 {
			t := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[t] {
				continue
			}
			seen[t] = true
			for _, m := range members[t] {
				pairs = append(pairs, Pair{u.ID, m})
			}
			stack = append(stack, children[t]...)
		}
	}
	slices.SortFunc(pairs, comparePairs)
	return slices.Compact(pairs)
}

func comparePairs(a, b Pair) int {
	if c := bytes.Compare(a.Viewer[:], b.Viewer[:]); c != 0 {
		return c
	}
	return bytes.Compare(a.Owner[:], b.Owner[:])
}
