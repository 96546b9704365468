// Package periods computes billing periods: half-open UTC spans aligned to
// a customer's anchor (calendar or anniversary) and an interval, every
// boundary computed from the origin, never by repeated addition. The
// subscription service answers billing periods with it and the invoice
// service rates fees by it.
package periods

import (
	"strconv"
	"time"

	"github.com/meterplane/meterplane/platform/textcheck"
)

// IntervalUnit is the unit of a billing interval.
type IntervalUnit int

// The billing interval units. The zero value is not a valid unit.
const (
	Day IntervalUnit = iota + 1
	Week
	Month
	Quarter
	Year
)

var intervalUnitNames = [...]string{
	Day:     "day",
	Week:    "week",
	Month:   "month",
	Quarter: "quarter",
	Year:    "year",
}

// String returns the unit's lowercase name ("day", "week", "month",
// "quarter", "year"), or "IntervalUnit(n)" for an unknown value.
func (u IntervalUnit) String() string {
	if u.Known() {
		return intervalUnitNames[u]
	}
	return "IntervalUnit(" + strconv.Itoa(int(u)) + ")"
}

// ParseIntervalUnit returns the unit named s, which must be exactly one of
// the names String returns for a known unit.
func ParseIntervalUnit(s string) (IntervalUnit, bool) {
	for u := Day; u <= Year; u++ {
		if intervalUnitNames[u] == s {
			return u, true
		}
	}
	return 0, false
}

// Known reports whether u is one of the units above.
func (u IntervalUnit) Known() bool { return u >= Day && u <= Year }

// Bounds of a valid Interval: Count is 1 to MaxIntervalCount units, and the
// interval is at most MaxIntervalYears long. The catalog enforces the same
// bounds on plans; within them and within [MinTime, MaxTime) every period
// computation stays far inside what time.Time and the API's timestamps
// hold.
const (
	MaxIntervalCount = 100
	MaxIntervalYears = 10
)

// The range of times the service accepts and computes periods for: that of
// every timestamp a client may send.
var (
	MinTime = textcheck.MinTime
	MaxTime = textcheck.MaxTime
)

// Interval is how often a plan bills: Count units.
type Interval struct {
	Unit  IntervalUnit
	Count int
}

// Valid reports whether iv has a known unit, 1 <= Count <= MaxIntervalCount
// and is at most MaxIntervalYears long.
func (iv Interval) Valid() bool {
	return iv.Unit.Known() && iv.Count >= 1 && iv.Count <= MaxIntervalCount &&
		iv.months() <= 12*MaxIntervalYears
}

// months returns the length of iv in months for the month-based units
// (Month, Quarter, Year), and 0 for the others.
func (iv Interval) months() int64 {
	switch iv.Unit {
	case Month:
		return int64(iv.Count)
	case Quarter:
		return 3 * int64(iv.Count)
	case Year:
		return 12 * int64(iv.Count)
	}
	return 0
}

// seconds returns the length of iv in seconds for the fixed-length units
// (Day, Week), and 0 for the others.
func (iv Interval) seconds() int64 {
	switch iv.Unit {
	case Day:
		return secondsPerDay * int64(iv.Count)
	case Week:
		return 7 * secondsPerDay * int64(iv.Count)
	}
	return 0
}

// AnchorKind says how a customer's periods are aligned.
type AnchorKind int

// The anchor kinds. The zero value is not a valid kind.
const (
	// Calendar periods start on the calendar boundary: midnight UTC for
	// days, Monday for weeks, the 1st of the month for months, Jan/Apr/Jul/Oct 1
	// for quarters, Jan 1 for years. Multi-unit periods (Count > 1) are
	// counted from 1970-01-01 (Monday 1970-01-05 for weeks).
	Calendar AnchorKind = iota + 1
	// Anniversary periods start on the anchor's day: the day the first
	// subscription started, clamped to the month's end.
	Anniversary
)

var anchorKindNames = [...]string{
	Calendar:    "calendar",
	Anniversary: "anniversary",
}

// String returns the kind's lowercase name ("calendar", "anniversary"), or
// "AnchorKind(n)" for an unknown value.
func (k AnchorKind) String() string {
	if k.Known() {
		return anchorKindNames[k]
	}
	return "AnchorKind(" + strconv.Itoa(int(k)) + ")"
}

// ParseAnchorKind returns the kind named s, which must be exactly one of the
// names String returns for a known kind.
func ParseAnchorKind(s string) (AnchorKind, bool) {
	for k := Calendar; k <= Anniversary; k++ {
		if anchorKindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// Known reports whether k is Calendar or Anniversary.
func (k AnchorKind) Known() bool { return k == Calendar || k == Anniversary }

// Anchor aligns a customer's billing periods. For Anniversary, Date is the
// anchor day: only its UTC year, month and day matter, and periods start at
// 00:00 UTC. For Calendar, Date is ignored.
type Anchor struct {
	Kind AnchorKind
	Date time.Time
}

// Period is a half-open billing period [Start, End) in UTC.
type Period struct {
	Start, End time.Time
}

// Contains reports whether Start <= t < End. The zero Period contains nothing.
func (p Period) Contains(t time.Time) bool {
	return !t.Before(p.Start) && t.Before(p.End)
}

// Seconds returns the length of p in whole seconds. Period boundaries are
// always at whole seconds (midnight UTC). It is an int64 rather than a
// time.Duration because a valid interval can be up to 10 years long, more
// than a Duration can hold.
func (p Period) Seconds() int64 {
	return p.End.Unix() - p.Start.Unix()
}

const secondsPerDay = 24 * 60 * 60

var (
	// calendarMonthOrigin is the month index (year*12 + month-1) of January
	// 1970, the origin of calendar month, quarter and year periods.
	calendarMonthOrigin = int64(1970) * 12
	// calendarDayOrigin is 1970-01-01 in Unix seconds.
	calendarDayOrigin int64 = 0
	// calendarWeekOrigin is Monday 1970-01-05 in Unix seconds.
	calendarWeekOrigin int64 = 4 * secondsPerDay
)

// schedule is the sequence of boundaries of one anchor and interval:
// boundary(k) for every integer k, strictly increasing, with period k being
// [boundary(k), boundary(k+1)). Every boundary is computed directly from the
// origin, so there is no drift.
type schedule struct {
	// Month-based units: the origin's month index (year*12 + month-1), the
	// step in months and the anchor day that each boundary is clamped from.
	originMonth int64
	stepMonths  int64
	anchorDay   int
	// Day and week units: the origin and the step in Unix seconds.
	originSec int64
	stepSec   int64
}

// newSchedule returns the schedule of a and iv, and false if either is invalid.
func newSchedule(a Anchor, iv Interval) (schedule, bool) {
	if !iv.Valid() || !a.Kind.Known() {
		return schedule{}, false
	}
	s := schedule{stepMonths: iv.months(), stepSec: iv.seconds()}
	switch a.Kind {
	case Calendar:
		s.originMonth = calendarMonthOrigin
		s.anchorDay = 1
		s.originSec = calendarDayOrigin
		if iv.Unit == Week {
			s.originSec = calendarWeekOrigin
		}
	case Anniversary:
		d := a.Date.UTC()
		y, m, day := d.Date()
		s.originMonth = monthIndex(y, m)
		s.anchorDay = day
		s.originSec = time.Date(y, m, day, 0, 0, 0, 0, time.UTC).Unix()
	}
	return s, true
}

// boundary returns the start of period k.
func (s schedule) boundary(k int64) time.Time {
	if s.stepMonths == 0 {
		return time.Unix(s.originSec+k*s.stepSec, 0).UTC()
	}
	idx := s.originMonth + k*s.stepMonths
	y := floorDiv(idx, 12)
	m := time.Month(idx-12*y) + 1
	day := min(s.anchorDay, daysIn(int(y), m))
	return time.Date(int(y), m, day, 0, 0, 0, 0, time.UTC)
}

// index returns the k with boundary(k) <= t < boundary(k+1).
func (s schedule) index(t time.Time) int64 {
	t = t.UTC()
	if s.stepMonths == 0 {
		// Unix floors to the second; boundaries are whole seconds, so that
		// does not change which period t falls in.
		return floorDiv(t.Unix()-s.originSec, s.stepSec)
	}
	// boundary(k) lies in month originMonth + k*stepMonths, so this k has its
	// boundary in t's month or earlier and boundary(k+1) in a later month
	// (hence after t). Only if boundary(k) is in t's own month but on a later
	// day (t is before the clamped anchor day) is t in the previous period.
	k := floorDiv(monthIndex(t.Year(), t.Month())-s.originMonth, s.stepMonths)
	if t.Before(s.boundary(k)) {
		k--
	}
	return k
}

// PeriodAt returns the period of anchor a and interval iv that contains at,
// so that Start <= at < End. The result is in UTC whatever at's location.
//
// Callers validate iv with iv.Valid() and a.Kind beforehand: for an invalid
// interval or an unknown anchor kind PeriodAt returns the zero Period (which
// contains nothing) rather than panicking.
func PeriodAt(a Anchor, iv Interval, at time.Time) Period {
	s, ok := newSchedule(a, iv)
	if !ok {
		return Period{}
	}
	k := s.index(at)
	return Period{Start: s.boundary(k), End: s.boundary(k + 1)}
}

// PeriodsEnding returns, in order, the periods of anchor a and interval iv
// whose End is in (after, upTo]. The periods are contiguous: each one's End is
// the next one's Start. It returns nil when after >= upTo, when no period ends
// in the range, and for an invalid interval or unknown anchor kind.
//
// Its cost is proportional to the number of periods returned, not to the
// distance from the anchor.
func PeriodsEnding(a Anchor, iv Interval, after, upTo time.Time) []Period {
	if !after.Before(upTo) {
		return nil
	}
	s, ok := newSchedule(a, iv)
	if !ok {
		return nil
	}
	// Period k ends at boundary(k+1). The first with End > after is the one
	// containing after; the last with End <= upTo is the one before the one
	// containing upTo.
	first, last := s.index(after), s.index(upTo)-1
	if last < first {
		return nil
	}
	out := make([]Period, 0, last-first+1)
	start := s.boundary(first)
	for k := first; k <= last; k++ {
		end := s.boundary(k + 1)
		out = append(out, Period{Start: start, End: end})
		start = end
	}
	return out
}

// monthIndex returns year*12 + month-1.
func monthIndex(y int, m time.Month) int64 {
	return int64(y)*12 + int64(m) - 1
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// floorDiv returns a/b rounded towards negative infinity; b must be positive.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
