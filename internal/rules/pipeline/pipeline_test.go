package pipeline

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

func TestDefaultStagesAreValid(t *testing.T) {
	t.Parallel()
	require.NoError(t, ValidateStages(DefaultStages()))
}

func TestUnmetListsEveryMissingPieceInOrder(t *testing.T) {
	t.Parallel()
	criteria := []crm.EntryCriterion{
		{Kind: crm.CriterionField, Value: "amount"},
		{Kind: crm.CriterionField, Value: "custom.budget", Label: "Budget confirmed"},
		{Kind: crm.CriterionContactRole, Value: "economic_buyer"},
		{Kind: crm.CriterionActivity, Value: "meeting"},
		{Kind: crm.CriterionChecklist, Value: "Pain point confirmed"},
	}
	full := Evidence{
		Fields:     map[string]bool{"amount": true, "custom.budget": true},
		Roles:      map[crm.ContactRole]bool{crm.RoleEconomicBuyer: true},
		Activities: map[crm.ActivityType]bool{crm.ActivityMeeting: true},
		Checklist:  map[string]bool{"Pain point confirmed": true},
	}
	tests := []struct {
		name string
		ev   Evidence
		want []string
	}{
		{"everything there", full, nil},
		{"nothing there", Evidence{}, []string{"amount", "custom.budget", "economic_buyer", "meeting", "Pain point confirmed"}},
		{"a call is not a meeting", Evidence{Fields: full.Fields, Roles: full.Roles, Checklist: full.Checklist,
			Activities: map[crm.ActivityType]bool{crm.ActivityCall: true}}, []string{"meeting"}},
		{"a champion is not the economic buyer", Evidence{Fields: full.Fields, Activities: full.Activities, Checklist: full.Checklist,
			Roles: map[crm.ContactRole]bool{crm.RoleChampion: true}}, []string{"economic_buyer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, b := range Unmet(criteria, tt.ev) {
				got = append(got, b.Value)
				require.NotEmpty(t, b.Detail)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestValidateStagesNamesTheFaultyInput(t *testing.T) {
	t.Parallel()
	open := crm.Stage{Name: "Open", Probability: 10, ForecastCategory: crm.CategoryPipeline}
	won := crm.Stage{Name: "Won", Probability: 100, ForecastCategory: crm.CategoryClosedWon, Closed: true, Won: true}
	lost := crm.Stage{Name: "Lost", ForecastCategory: crm.CategoryOmitted, Closed: true}
	days := int32(400)
	tests := []struct {
		name   string
		mod    func(*crm.Stage)
		target int
		field  string
	}{
		{"blank name", func(s *crm.Stage) { s.Name = " " }, 0, "stages[0].name"},
		{"negative probability", func(s *crm.Stage) { s.Probability = -1 }, 0, "stages[0].probability"},
		{"won stage not at 100", func(s *crm.Stage) { s.Probability = 90 }, 1, "stages[1].forecastCategory"},
		{"lost stage counted", func(s *crm.Stage) { s.ForecastCategory = crm.CategoryCommit }, 2, "stages[2].forecastCategory"},
		{"open stage closed won", func(s *crm.Stage) { s.ForecastCategory = crm.CategoryClosedWon }, 0, "stages[0].forecastCategory"},
		{"stale period too long", func(s *crm.Stage) { s.StaleAfterDays = &days }, 0, "stages[0].staleAfterDays"},
		{"unknown activity type", func(s *crm.Stage) {
			s.EntryCriteria = []crm.EntryCriterion{{Kind: crm.CriterionActivity, Value: "fax"}}
		}, 0, "stages[0].entryCriteria"},
		{"unknown kind", func(s *crm.Stage) { s.EntryCriteria = []crm.EntryCriterion{{Kind: "vibe", Value: "x"}} }, 0, "stages[0].entryCriteria"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stages := []crm.Stage{open, won, lost}
			tt.mod(&stages[tt.target])
			err := ValidateStages(stages)
			var e *crm.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, crm.EINVALID, e.Code)
			require.Equal(t, tt.field, e.Field)
		})
	}
}

func TestBlockersAddTheLossReasonOfALostStage(t *testing.T) {
	t.Parallel()
	open := crm.Stage{Name: "Open"}
	lost := crm.Stage{Name: "Lost", Closed: true}
	won := crm.Stage{Name: "Won", Closed: true, Won: true}
	require.Equal(t, []crm.Blocker{}, Blockers(open, Evidence{}), "a possible move is an empty list, not null")
	require.Empty(t, Blockers(won, Evidence{}))
	got := Blockers(lost, Evidence{})
	require.Len(t, got, 1)
	require.Equal(t, "lossReason", got[0].Value)
}

func TestCheckMove(t *testing.T) {
	t.Parallel()
	p1, p2 := crm.NewID(), crm.NewID()
	from := crm.Stage{ID: crm.NewID(), PipelineID: p1, Name: "A"}
	lost := crm.Stage{ID: crm.NewID(), PipelineID: p1, Name: "Lost", Closed: true}
	other := crm.Stage{ID: crm.NewID(), PipelineID: p2, Name: "Elsewhere"}
	require.NoError(t, CheckMove(from, lost, "too expensive"))
	require.ErrorContains(t, CheckMove(from, lost, "  "), "loss reason")
	require.ErrorContains(t, CheckMove(from, other, ""), "another pipeline")
	require.ErrorContains(t, CheckMove(from, from, ""), "already")
}

func BenchmarkUnmet(b *testing.B) {
	criteria := DefaultStages()[2].EntryCriteria
	criteria = append(criteria, DefaultStages()[3].EntryCriteria...)
	ev := Evidence{Fields: map[string]bool{"amount": true}, Roles: map[crm.ContactRole]bool{crm.RoleChampion: true},
		Checklist: map[string]bool{"Pain point confirmed": true}}
	b.ReportAllocs()
	for b.Loop() {
		_ = Unmet(criteria, ev)
	}
}

func BenchmarkValidateStages(b *testing.B) {
	stages := DefaultStages()
	b.ReportAllocs()
	for b.Loop() {
		_ = ValidateStages(stages)
	}
}
