// Package workhours does deadline arithmetic in an organization's working time: its working week
// days between a start and an end clock time, minus holidays, in its time zone. Windows are built
// from wall-clock times of each local day, and durations are measured in absolute time, so a
// daylight-saving change never adds or loses working time that was not worked.
package workhours

import (
	"slices"
	"strconv"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

// maxDays bounds the search for working time: a calendar with none (no working days, or every day
// a holiday) counts plain clock time instead of looping for ever.
const maxDays = 800

// Calendar is a parsed working calendar in one location.
type Calendar struct {
	loc        *time.Location
	days       [7]bool
	start, end int   // minutes after local midnight
	holidays   []int // sorted days as yyyymmdd: a search in a few dozen beats a map, and is one allocation
}

// day packs a date as yyyymmdd.
func day(y int, m time.Month, d int) int { return y*10000 + int(m)*100 + d }

// New parses the working hours. Malformed clock times fall back to 09:00-18:00, and no working days
// to Monday-Friday, as organization settings are validated when saved.
func New(wh crm.WorkingHours, loc *time.Location) Calendar {
	if loc == nil {
		loc = time.UTC
	}
	c := Calendar{loc: loc, start: clock(wh.Start, 9*60), end: clock(wh.End, 18*60)}
	if c.start >= c.end {
		c.start, c.end = 9*60, 18*60
	}
	for _, d := range wh.Days {
		if d >= time.Sunday && d <= time.Saturday {
			c.days[d] = true
		}
	}
	if wh.Days == nil {
		for d := time.Monday; d <= time.Friday; d++ {
			c.days[d] = true
		}
	}
	for _, h := range wh.Holidays {
		if t, err := time.Parse(time.DateOnly, h); err == nil {
			if c.holidays == nil {
				c.holidays = make([]int, 0, len(wh.Holidays))
			}
			c.holidays = append(c.holidays, day(t.Year(), t.Month(), t.Day()))
		}
	}
	slices.Sort(c.holidays)
	return c
}

func clock(s string, def int) int {
	if len(s) != 5 || s[2] != ':' {
		return def
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h > 23 || m > 59 || h < 0 || m < 0 {
		return def
	}
	return h*60 + m
}

// window returns the working window of the local day y-m-d, and whether it is a working day.
func (c Calendar) window(y int, m time.Month, d int) (from, to time.Time, ok bool) {
	noon := time.Date(y, m, d, 12, 0, 0, 0, c.loc) // noon exists on every day, whatever DST does
	if _, holiday := slices.BinarySearch(c.holidays, day(y, m, d)); !c.days[noon.Weekday()] || holiday {
		return time.Time{}, time.Time{}, false
	}
	from = time.Date(y, m, d, c.start/60, c.start%60, 0, 0, c.loc)
	to = time.Date(y, m, d, c.end/60, c.end%60, 0, 0, c.loc)
	return from, to, true
}

// Add returns the instant that lies the given number of working minutes after start. Time before
// opening, after closing, on days off and on holidays does not count. Zero or fewer minutes return
// start.
func (c Calendar) Add(start time.Time, minutes int) time.Time {
	if minutes <= 0 {
		return start
	}
	left := time.Duration(minutes) * time.Minute
	local := start.In(c.loc)
	y, m, d := local.Date()
	for range maxDays {
		from, to, ok := c.window(y, m, d)
		if ok && start.Before(to) {
			if start.After(from) {
				from = start
			}
			if avail := to.Sub(from); left <= avail {
				return from.Add(left)
			} else {
				left -= avail
			}
		}
		y, m, d = time.Date(y, m, d+1, 12, 0, 0, 0, c.loc).Date()
	}
	return start.Add(time.Duration(minutes) * time.Minute)
}

// Elapsed returns the whole working minutes between from and to (0 when to is not after from).
func (c Calendar) Elapsed(from, to time.Time) int {
	if !to.After(from) {
		return 0
	}
	var total time.Duration
	local := from.In(c.loc)
	y, m, d := local.Date()
	for range maxDays * 50 {
		open, shut, ok := c.window(y, m, d)
		if !open.IsZero() && !open.Before(to) {
			break
		}
		if ok {
			if open.Before(from) {
				open = from
			}
			if shut.After(to) {
				shut = to
			}
			if shut.After(open) {
				total += shut.Sub(open)
			}
		}
		next := time.Date(y, m, d+1, 0, 0, 0, 0, c.loc)
		if !next.Before(to) {
			break
		}
		y, m, d = time.Date(y, m, d+1, 12, 0, 0, 0, c.loc).Date()
	}
	return int(total / time.Minute)
}

// Add returns the instant minutes working minutes after start in the calendar wh of location loc.
func Add(start time.Time, minutes int, wh crm.WorkingHours, loc *time.Location) time.Time {
	return New(wh, loc).Add(start, minutes)
}

// Elapsed returns the working minutes between from and to in the calendar wh of location loc.
func Elapsed(from, to time.Time, wh crm.WorkingHours, loc *time.Location) int {
	return New(wh, loc).Elapsed(from, to)
}
