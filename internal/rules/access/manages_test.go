package access

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

func TestManagesCoversTheTeamsBelow(t *testing.T) {
	t.Parallel()
	boss, lead, other := crm.NewID(), crm.NewID(), crm.NewID()
	sales := crm.Team{ID: crm.NewID(), ManagerID: boss}
	east := crm.Team{ID: crm.NewID(), ParentID: sales.ID, ManagerID: lead}
	shanghai := crm.Team{ID: crm.NewID(), ParentID: east.ID}
	support := crm.Team{ID: crm.NewID(), ManagerID: other}
	loopA := crm.Team{ID: crm.NewID()}
	loopB := crm.Team{ID: crm.NewID(), ParentID: loopA.ID}
	loopA.ParentID = loopB.ID
	teams := []crm.Team{sales, east, shanghai, support, loopA, loopB}
	tests := []struct {
		name       string
		user, team crm.ID
		want       bool
	}{
		{"own team", boss, sales.ID, true},
		{"child team", boss, east.ID, true},
		{"grandchild team", boss, shanghai.ID, true},
		{"middle manager's own", lead, east.ID, true},
		{"middle manager below", lead, shanghai.ID, true},
		{"middle manager above", lead, sales.ID, false},
		{"another tree", boss, support.ID, false},
		{"other manager", other, east.ID, false},
		{"unknown team", boss, crm.NewID(), false},
		{"cycle ends", boss, loopA.ID, false},
		{"no user", crm.NilID, shanghai.ID, false},
		{"no team", boss, crm.NilID, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Manages(teams, tt.user, tt.team), tt.name)
	}
}

func TestManagerOfWalksUpToTheNearestOtherManager(t *testing.T) {
	t.Parallel()
	boss, lead, rep, loner, looper := crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID()
	sales := crm.Team{ID: crm.NewID(), ManagerID: boss}
	east := crm.Team{ID: crm.NewID(), ParentID: sales.ID, ManagerID: lead}
	shanghai := crm.Team{ID: crm.NewID(), ParentID: east.ID}
	loopA := crm.Team{ID: crm.NewID()}
	loopB := crm.Team{ID: crm.NewID(), ParentID: loopA.ID}
	loopA.ParentID = loopB.ID
	users := []crm.User{
		{ID: boss, TeamID: sales.ID}, {ID: lead, TeamID: east.ID}, {ID: rep, TeamID: shanghai.ID},
		{ID: loner}, {ID: looper, TeamID: loopA.ID},
	}
	got := ManagerOf(users, []crm.Team{sales, east, shanghai, loopA, loopB})
	require.Equal(t, map[crm.ID]crm.ID{
		lead: boss, // manages east themselves: the manager above
		rep:  lead, // shanghai has no manager: east's
	}, got, "the top manager, users without a team and a managerless cycle have nobody")
}
