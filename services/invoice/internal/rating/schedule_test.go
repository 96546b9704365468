package rating

import "time"

// calendar is the schedule of a calendar customer: days from midnight,
// weeks from Monday, months from the 1st, quarters and years from Jan 1.
func calendar() Schedule { return anchored(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), true) }

// anniversary is the schedule of a customer anchored on the day of anchor,
// clamped to the month's end (a Jan 31 anchor gives Feb 28 or 29).
func anniversary(anchor time.Time) Schedule { return anchored(anchor, false) }

// anchored mirrors the subscription service's PeriodAt, which the billing
// run passes in: every boundary is computed from the origin, never by
// repeated addition.
func anchored(anchor time.Time, cal bool) Schedule {
	const daySec = 24 * 60 * 60
	return func(iv Interval, at time.Time) Period {
		switch iv.Unit {
		case Day, Week:
			origin, step := anchor.Unix(), int64(iv.Count)*daySec
			if iv.Unit == Week {
				step *= 7
				if cal {
					origin = 4 * daySec // Monday 1970-01-05
				}
			}
			k := floorDiv(at.Unix()-origin, step)
			return Period{time.Unix(origin+k*step, 0).UTC(), time.Unix(origin+(k+1)*step, 0).UTC()}
		}
		months := int64(iv.Count) * map[IntervalUnit]int64{Month: 1, Quarter: 3, Year: 12}[iv.Unit]
		origin := int64(anchor.Year())*12 + int64(anchor.Month()) - 1
		boundary := func(k int64) time.Time {
			m := origin + k*months
			y, mo := int(m/12), time.Month(m%12+1)
			last := time.Date(y, mo+1, 0, 0, 0, 0, 0, time.UTC).Day()
			return time.Date(y, mo, min(anchor.Day(), last), 0, 0, 0, 0, time.UTC)
		}
		k := floorDiv(int64(at.Year())*12+int64(at.Month())-1-origin, months)
		for boundary(k).After(at) {
			k--
		}
		for !boundary(k + 1).After(at) {
			k++
		}
		return Period{boundary(k), boundary(k + 1)}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
