package access

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

// id returns a deterministic ID; IDs sort in the order of n.
func id(n int) crm.ID { return crm.ID{14: byte(n >> 8), 15: byte(n)} }

func u(n int, role crm.Role, team int) crm.User {
	usr := crm.User{ID: id(n), Role: role, Active: true}
	if team != 0 {
		usr.TeamID = id(team)
	}
	return usr
}

func team(n, parent, manager int) crm.Team {
	t := crm.Team{ID: id(n)}
	if parent != 0 {
		t.ParentID = id(parent)
	}
	if manager != 0 {
		t.ManagerID = id(manager)
	}
	return t
}

// pairs builds the expected closure from viewer/owner numbers.
func pairs(vo ...[2]int) []Pair {
	out := make([]Pair, len(vo))
	for i, p := range vo {
		out[i] = Pair{id(p[0]), id(p[1])}
	}
	return out
}

func inactive(usr crm.User) crm.User { usr.Active = false; return usr }

func TestClosure(t *testing.T) {
	t.Parallel()
	// Teams: 100 (managed by 1) has children 101 (managed by 2) and 102; 103 sits under 101.
	tree := []crm.Team{team(100, 0, 1), team(101, 100, 2), team(102, 100, 0), team(103, 101, 0)}
	tests := []struct {
		name  string
		users []crm.User
		teams []crm.Team
		v     crm.Visibility
		want  []Pair
	}{
		{
			name:  "everyone sees themselves",
			users: []crm.User{u(2, crm.RoleSalesRep, 0), u(1, crm.RoleAdmin, 0)},
			v:     crm.VisibilityOwn,
			want:  pairs([2]int{1, 1}, [2]int{2, 2}),
		},
		{
			name:  "own visibility: reps do not see team mates",
			users: []crm.User{u(10, crm.RoleSalesRep, 102), u(11, crm.RoleSalesRep, 102)},
			teams: tree,
			v:     crm.VisibilityOwn,
			want:  pairs([2]int{10, 10}, [2]int{11, 11}),
		},
		{
			name:  "team visibility: reps see team mates, also departed ones, who see nothing",
			users: []crm.User{u(10, crm.RoleSalesRep, 102), u(11, crm.RoleSalesRep, 102), inactive(u(12, crm.RoleSalesRep, 102)), u(13, crm.RoleSalesRep, 101)},
			teams: tree,
			v:     crm.VisibilityTeam,
			want: pairs([2]int{10, 10}, [2]int{10, 11}, [2]int{10, 12}, [2]int{11, 10}, [2]int{11, 11}, [2]int{11, 12},
				[2]int{13, 13}),
		},
		{
			name:  "team visibility applies to reps only",
			users: []crm.User{u(10, crm.RoleSalesRep, 102), u(11, crm.RoleSupportAgent, 102), u(12, crm.RoleSalesManager, 102)},
			teams: tree,
			v:     crm.VisibilityTeam,
			want:  pairs([2]int{10, 10}, [2]int{10, 11}, [2]int{10, 12}, [2]int{11, 11}, [2]int{12, 12}),
		},
		{
			name:  "reps without a team see only themselves",
			users: []crm.User{u(10, crm.RoleSalesRep, 0), u(11, crm.RoleSalesRep, 0)},
			v:     crm.VisibilityTeam,
			want:  pairs([2]int{10, 10}, [2]int{11, 11}),
		},
		{
			name: "managers see their team and every team below it, departed members included",
			users: []crm.User{
				u(1, crm.RoleSalesManager, 100), u(2, crm.RoleSalesManager, 100),
				u(10, crm.RoleSalesRep, 101), u(11, crm.RoleSalesRep, 102), u(12, crm.RoleSalesRep, 103),
				inactive(u(13, crm.RoleSalesRep, 103)),
			},
			teams: tree,
			v:     crm.VisibilityOwn,
			want: pairs(
				[2]int{1, 1}, [2]int{1, 2}, [2]int{1, 10}, [2]int{1, 11}, [2]int{1, 12}, [2]int{1, 13}, // 100-103
				[2]int{2, 2}, [2]int{2, 10}, [2]int{2, 12}, [2]int{2, 13}, // 101 and 103; not the team 2 is a member of
				[2]int{10, 10}, [2]int{11, 11}, [2]int{12, 12},
			),
		},
		{
			name:  "a manager need not be a member of the team they manage",
			users: []crm.User{u(1, crm.RoleSalesManager, 0), u(10, crm.RoleSalesRep, 102)},
			teams: []crm.Team{team(102, 0, 1)},
			v:     crm.VisibilityOwn,
			want:  pairs([2]int{1, 1}, [2]int{1, 10}, [2]int{10, 10}),
		},
		{
			name:  "inactive managers see nothing",
			users: []crm.User{inactive(u(1, crm.RoleSalesManager, 100)), u(10, crm.RoleSalesRep, 101)},
			teams: tree,
			v:     crm.VisibilityOwn,
			want:  pairs([2]int{10, 10}),
		},
		{
			name:  "team and management overlap without duplicates",
			users: []crm.User{u(1, crm.RoleSalesRep, 102), u(10, crm.RoleSalesRep, 102)},
			teams: []crm.Team{team(102, 0, 1)},
			v:     crm.VisibilityTeam,
			want:  pairs([2]int{1, 1}, [2]int{1, 10}, [2]int{10, 1}, [2]int{10, 10}),
		},
		{
			name:  "a cycle in the team tree is walked once",
			users: []crm.User{u(1, crm.RoleSalesManager, 0), u(10, crm.RoleSalesRep, 200), u(11, crm.RoleSalesRep, 201)},
			teams: []crm.Team{team(200, 201, 1), team(201, 200, 0)},
			v:     crm.VisibilityOwn,
			want:  pairs([2]int{1, 1}, [2]int{1, 10}, [2]int{1, 11}, [2]int{10, 10}, [2]int{11, 11}),
		},
		{
			name:  "a team that is its own parent",
			users: []crm.User{u(1, crm.RoleSalesManager, 0), u(10, crm.RoleSalesRep, 200)},
			teams: []crm.Team{team(200, 200, 1)},
			v:     crm.VisibilityOwn,
			want:  pairs([2]int{1, 1}, [2]int{1, 10}, [2]int{10, 10}),
		},
		{
			name:  "a parent that does not exist is ignored",
			users: []crm.User{u(1, crm.RoleSalesManager, 0), u(10, crm.RoleSalesRep, 200)},
			teams: []crm.Team{team(200, 999, 1)},
			v:     crm.VisibilityOwn,
			want:  pairs([2]int{1, 1}, [2]int{1, 10}, [2]int{10, 10}),
		},
		{
			name: "no users",
			want: []Pair{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Closure(tt.users, tt.teams, tt.v))
		})
	}
}

func TestClosureDoesNotDependOnInputOrder(t *testing.T) {
	t.Parallel()
	users, teams := organization(200, 20)
	want := Closure(users, teams, crm.VisibilityTeam)
	require.True(t, slices.IsSortedFunc(want, comparePairs))
	r := rand.New(rand.NewPCG(1, 2))
	for range 10 {
		r.Shuffle(len(users), func(i, j int) { users[i], users[j] = users[j], users[i] })
		r.Shuffle(len(teams), func(i, j int) { teams[i], teams[j] = teams[j], teams[i] })
		require.Equal(t, want, Closure(users, teams, crm.VisibilityTeam))
	}
}

// organization builds a sales organization of n users in a tree of t teams (each team's parent is
// an earlier team), every team managed by a manager of its parent team.
func organization(n, t int) ([]crm.User, []crm.Team) {
	r := rand.New(rand.NewPCG(7, 7))
	teams := make([]crm.Team, t)
	users := make([]crm.User, n)
	for i := range users {
		role := crm.RoleSalesRep
		if i < t {
			role = crm.RoleSalesManager
		}
		users[i] = u(1000+i, role, 100+r.IntN(t))
		users[i].Active = r.IntN(20) != 0
	}
	for i := range teams {
		parent := 0
		if i > 0 {
			parent = 100 + r.IntN(i)
		}
		teams[i] = team(100+i, parent, 1000+i)
	}
	return users, teams
}

func BenchmarkClosure(b *testing.B) {
	for _, size := range []struct{ users, teams int }{{50, 5}, {500, 40}, {5000, 300}} {
		users, teams := organization(size.users, size.teams)
		b.Run(fmt.Sprintf("users=%d/teams=%d", size.users, size.teams), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Closure(users, teams, crm.VisibilityTeam)
			}
		})
	}
}
