package followup_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/followup"
)

var now = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := now.Add(d); return &t }

func secs(n int32) *int32 { return &n }

func TestCheckActivity(t *testing.T) {
	cases := []struct {
		name  string
		a     crm.Activity
		field string // "" when valid
	}{
		{"call with direction and duration", crm.Activity{Type: crm.ActivityCall, Direction: followup.Outbound, DurationSeconds: secs(300), OccurredAt: now}, ""},
		{"email inbound", crm.Activity{Type: crm.ActivityEmail, Direction: followup.Inbound, OccurredAt: now.Add(-time.Hour)}, ""},
		{"meeting of zero seconds", crm.Activity{Type: crm.ActivityMeeting, DurationSeconds: secs(0), OccurredAt: now}, ""},
		{"within clock skew", crm.Activity{Type: crm.ActivityNote, OccurredAt: now.Add(followup.ClockSkew)}, ""},
		{"exactly seven days", crm.Activity{Type: crm.ActivityMeeting, DurationSeconds: secs(7 * 24 * 3600), OccurredAt: now}, ""},
		{"unknown type", crm.Activity{Type: "fax", OccurredAt: now}, "type"},
		{"note with direction", crm.Activity{Type: crm.ActivityNote, Direction: followup.Inbound, OccurredAt: now}, "direction"},
		{"meeting with direction", crm.Activity{Type: crm.ActivityMeeting, Direction: followup.Outbound, OccurredAt: now}, "direction"},
		{"unknown direction", crm.Activity{Type: crm.ActivityCall, Direction: "sideways", OccurredAt: now}, "direction"},
		{"negative duration", crm.Activity{Type: crm.ActivityCall, DurationSeconds: secs(-1), OccurredAt: now}, "durationSeconds"},
		{"over seven days", crm.Activity{Type: crm.ActivityMeeting, DurationSeconds: secs(7*24*3600 + 1), OccurredAt: now}, "durationSeconds"},
		{"in the future", crm.Activity{Type: crm.ActivityCall, OccurredAt: now.Add(followup.ClockSkew + time.Second)}, "occurredAt"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := followup.CheckActivity(c.a, now)
			if c.field == "" {
				require.NoError(t, err)
				return
			}
			var e *crm.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, crm.EINVALID, e.Code)
			require.Equal(t, c.field, e.Field)
		})
	}
}

func TestCheckStatusChange(t *testing.T) {
	open, done, cancelled := crm.TaskOpen, crm.TaskDone, crm.TaskCancelled
	allowed := map[[2]crm.TaskStatus]bool{
		{open, open}: true, {open, done}: true, {open, cancelled}: true,
		{done, open}: true, {cancelled, open}: true, {done, done}: true, {cancelled, cancelled}: true,
		{done, cancelled}: false, {cancelled, done}: false,
	}
	for pair, ok := range allowed {
		err := followup.CheckStatusChange(pair[0], pair[1])
		require.Equal(t, ok, err == nil, "%s -> %s: %v", pair[0], pair[1], err)
	}
	require.Error(t, followup.CheckStatusChange(open, "waiting"))
}

func TestCheckReminder(t *testing.T) {
	cases := []struct {
		name         string
		remind, due  *time.Time
		wantAccepted bool
	}{
		{"none", nil, at(time.Hour), true},
		{"before due", at(time.Hour), at(2 * time.Hour), true},
		{"at due", at(time.Hour), at(time.Hour), true},
		{"without due", at(time.Hour), nil, true},
		{"after due", at(3 * time.Hour), at(2 * time.Hour), false},
		{"now", at(0), nil, false},
		{"past", at(-time.Minute), at(time.Hour), false},
	}
	for _, c := range cases {
		err := followup.CheckReminder(c.remind, c.due, now)
		require.Equal(t, c.wantAccepted, err == nil, "%s: %v", c.name, err)
		if err != nil {
			require.Equal(t, "remindAt", err.(*crm.Error).Field)
		}
	}
}

func TestShiftReminder(t *testing.T) {
	cases := []struct {
		name                   string
		remind, oldDue, newDue *time.Time
		want                   *time.Time
	}{
		{"pending moves with due", at(time.Hour), at(2 * time.Hour), at(26 * time.Hour), at(25 * time.Hour)},
		{"pending moves earlier", at(5 * time.Hour), at(6 * time.Hour), at(3 * time.Hour), at(2 * time.Hour)},
		{"fired stays", at(-time.Hour), at(time.Hour), at(48 * time.Hour), at(-time.Hour)},
		{"due newly set", at(time.Hour), nil, at(2 * time.Hour), at(time.Hour)},
		{"due cleared", at(time.Hour), at(2 * time.Hour), nil, at(time.Hour)},
		{"no reminder", nil, at(time.Hour), at(2 * time.Hour), nil},
	}
	for _, c := range cases {
		got := followup.ShiftReminder(c.remind, c.oldDue, c.newDue, now)
		if c.want == nil {
			require.Nil(t, got, c.name)
			continue
		}
		require.NotNil(t, got, c.name)
		require.True(t, c.want.Equal(*got), "%s: got %s, want %s", c.name, got, c.want)
	}
}
