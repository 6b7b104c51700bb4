package pool

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestIdleCutoffIsOffWithoutASetting(t *testing.T) {
	t.Parallel()
	_, ok := IdleCutoff(now, nil)
	require.False(t, ok)
	zero := int32(0)
	_, ok = IdleCutoff(now, &zero)
	require.False(t, ok)
	thirty := int32(30)
	c, ok := IdleCutoff(now, &thirty)
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 2, 8, 12, 0, 0, 0, time.UTC), c)
}

func TestNextClaimCountsTheRollingWindow(t *testing.T) {
	t.Parallel()
	h := func(n int) time.Time { return now.Add(-time.Duration(n) * time.Hour) }
	for _, tc := range []struct {
		name   string
		recent []time.Time
		limit  int32
		ok     bool
		next   time.Time
	}{
		{"no claims", nil, 2, true, now},
		{"under the limit", []time.Time{h(3)}, 2, true, now},
		{"at the limit: the oldest claim frees a slot", []time.Time{h(20), h(3)}, 2, false, h(20).Add(Window)},
		{"over the limit after lowering it", []time.Time{h(20), h(10), h(3)}, 2, false, h(10).Add(Window)},
		{"limit of one", []time.Time{h(1)}, 1, false, h(1).Add(Window)},
		{"no limit configured is closed", nil, 0, false, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, next := NextClaim(now, tc.recent, tc.limit)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.next, next)
		})
	}
}
