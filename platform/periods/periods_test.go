package periods

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// periodDate returns y-m-d 00:00 UTC.
func periodDate(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// mkPeriod returns [start, end).
func mkPeriod(start, end time.Time) Period { return Period{Start: start, End: end} }

// anniversaryOn returns an Anniversary anchor on y-m-d.
func anniversaryOn(y int, m time.Month, d int) Anchor {
	return Anchor{Kind: Anniversary, Date: periodDate(y, m, d)}
}

var calendarAnchor = Anchor{Kind: Calendar}

func every(n int, u IntervalUnit) Interval { return Interval{Unit: u, Count: n} }

// samePeriod reports whether got is the same period as want, in UTC.
func samePeriod(got, want Period) bool {
	return got.Start.Equal(want.Start) && got.End.Equal(want.End) &&
		got.Start.Location() == time.UTC && got.End.Location() == time.UTC
}

func fmtPeriod(p Period) string {
	return "[" + p.Start.Format(time.RFC3339Nano) + ", " + p.End.Format(time.RFC3339Nano) + ")"
}

func fmtPeriods(ps []Period) string {
	if ps == nil {
		return "nil"
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmtPeriod(p)
	}
	return "{" + strings.Join(s, " ") + "}"
}

func TestPeriodAt(t *testing.T) {
	t.Parallel()
	plus2 := time.FixedZone("UTC+2", 2*60*60)
	minus5 := time.FixedZone("UTC-5", -5*60*60)
	plus3 := time.FixedZone("UTC+3", 3*60*60)

	tests := []struct {
		name   string
		anchor Anchor
		iv     Interval
		at     time.Time
		want   Period
	}{
		// Calendar months and the half-open boundaries.
		{
			name:   "a calendar month period contains a mid-month time",
			anchor: calendarAnchor, iv: every(1, Month),
			at:   time.Date(2026, time.March, 15, 12, 34, 56, 0, time.UTC),
			want: mkPeriod(periodDate(2026, time.March, 1), periodDate(2026, time.April, 1)),
		},
		{
			name:   "a calendar month period includes its exact start",
			anchor: calendarAnchor, iv: every(1, Month),
			at:   periodDate(2026, time.March, 1),
			want: mkPeriod(periodDate(2026, time.March, 1), periodDate(2026, time.April, 1)),
		},
		{
			name:   "the last nanosecond before a calendar month ends is still in that month",
			anchor: calendarAnchor, iv: every(1, Month),
			at:   time.Date(2026, time.March, 31, 23, 59, 59, 999_999_999, time.UTC),
			want: mkPeriod(periodDate(2026, time.March, 1), periodDate(2026, time.April, 1)),
		},
		{
			name:   "the exact end of a calendar month belongs to the next period",
			anchor: calendarAnchor, iv: every(1, Month),
			at:   periodDate(2026, time.April, 1),
			want: mkPeriod(periodDate(2026, time.April, 1), periodDate(2026, time.May, 1)),
		},
		{
			name:   "a calendar anchor ignores its date",
			anchor: Anchor{Kind: Calendar, Date: periodDate(2025, time.January, 17)}, iv: every(1, Month),
			at:   periodDate(2026, time.March, 20),
			want: mkPeriod(periodDate(2026, time.March, 1), periodDate(2026, time.April, 1)),
		},

		// Anniversaries at the end of the month.
		{
			name:   "a Jan 31 anniversary ends its January period on Feb 28 in 2025",
			anchor: anniversaryOn(2025, time.January, 31), iv: every(1, Month),
			at:   periodDate(2025, time.February, 10),
			want: mkPeriod(periodDate(2025, time.January, 31), periodDate(2025, time.February, 28)),
		},
		{
			name:   "a Jan 31 anniversary goes from Feb 28 back to Mar 31 in 2025",
			anchor: anniversaryOn(2025, time.January, 31), iv: every(1, Month),
			at:   periodDate(2025, time.March, 1),
			want: mkPeriod(periodDate(2025, time.February, 28), periodDate(2025, time.March, 31)),
		},
		{
			name:   "a Jan 31 anniversary ends its January period on Feb 29 in leap year 2024",
			anchor: anniversaryOn(2024, time.January, 31), iv: every(1, Month),
			at:   periodDate(2024, time.February, 15),
			want: mkPeriod(periodDate(2024, time.January, 31), periodDate(2024, time.February, 29)),
		},
		{
			name:   "a Jan 31 anniversary goes from Feb 29 back to Mar 31 in leap year 2024",
			anchor: anniversaryOn(2024, time.January, 31), iv: every(1, Month),
			at:   periodDate(2024, time.February, 29),
			want: mkPeriod(periodDate(2024, time.February, 29), periodDate(2024, time.March, 31)),
		},
		{
			name:   "a Jan 31 anniversary clamps to Apr 30 and returns to May 31",
			anchor: anniversaryOn(2025, time.January, 31), iv: every(1, Month),
			at:   periodDate(2025, time.May, 10),
			want: mkPeriod(periodDate(2025, time.April, 30), periodDate(2025, time.May, 31)),
		},
		{
			name:   "a Jan 31 anniversary far from its anchor does not drift to the 28th",
			anchor: anniversaryOn(2025, time.January, 31), iv: every(1, Month),
			at:   periodDate(2035, time.August, 31),
			want: mkPeriod(periodDate(2035, time.August, 31), periodDate(2035, time.September, 30)),
		},
		{
			name:   "an anniversary on the 30th ends its January period on Feb 28",
			anchor: anniversaryOn(2025, time.January, 30), iv: every(1, Month),
			at:   periodDate(2025, time.February, 27),
			want: mkPeriod(periodDate(2025, time.January, 30), periodDate(2025, time.February, 28)),
		},
		{
			name:   "an anniversary on the 30th goes from Feb 28 back to Mar 30",
			anchor: anniversaryOn(2025, time.January, 30), iv: every(1, Month),
			at:   periodDate(2025, time.March, 29),
			want: mkPeriod(periodDate(2025, time.February, 28), periodDate(2025, time.March, 30)),
		},
		{
			name:   "a 30th anniversary starts a period exactly on Mar 30",
			anchor: anniversaryOn(2025, time.January, 30), iv: every(1, Month),
			at:   periodDate(2025, time.March, 30),
			want: mkPeriod(periodDate(2025, time.March, 30), periodDate(2025, time.April, 30)),
		},

		// Leap-year yearly anchor.
		{
			name:   "a yearly Feb 29 2024 anchor renews on Feb 28 2025",
			anchor: anniversaryOn(2024, time.February, 29), iv: every(1, Year),
			at:   periodDate(2024, time.December, 25),
			want: mkPeriod(periodDate(2024, time.February, 29), periodDate(2025, time.February, 28)),
		},
		{
			name:   "a yearly Feb 29 2024 anchor runs from Feb 28 2025 to Feb 28 2026",
			anchor: anniversaryOn(2024, time.February, 29), iv: every(1, Year),
			at:   periodDate(2025, time.June, 1),
			want: mkPeriod(periodDate(2025, time.February, 28), periodDate(2026, time.February, 28)),
		},
		{
			name:   "a yearly Feb 29 2024 anchor runs from Feb 28 2027 to Feb 29 2028",
			anchor: anniversaryOn(2024, time.February, 29), iv: every(1, Year),
			at:   periodDate(2028, time.February, 28),
			want: mkPeriod(periodDate(2027, time.February, 28), periodDate(2028, time.February, 29)),
		},
		{
			name:   "a yearly Feb 29 2024 anchor is back on Feb 29 in 2028",
			anchor: anniversaryOn(2024, time.February, 29), iv: every(1, Year),
			at:   periodDate(2028, time.February, 29),
			want: mkPeriod(periodDate(2028, time.February, 29), periodDate(2029, time.February, 28)),
		},

		// Quarters.
		{
			name:   "a calendar quarter containing May 17 runs from Apr 1 to Jul 1",
			anchor: calendarAnchor, iv: every(1, Quarter),
			at:   time.Date(2026, time.May, 17, 8, 0, 0, 0, time.UTC),
			want: mkPeriod(periodDate(2026, time.April, 1), periodDate(2026, time.July, 1)),
		},
		{
			name:   "the last calendar quarter of the year ends on Jan 1 of the next",
			anchor: calendarAnchor, iv: every(1, Quarter),
			at:   periodDate(2026, time.December, 31),
			want: mkPeriod(periodDate(2026, time.October, 1), periodDate(2027, time.January, 1)),
		},
		{
			name:   "a quarterly Nov 30 anniversary ends its first quarter on Feb 28",
			anchor: anniversaryOn(2024, time.November, 30), iv: every(1, Quarter),
			at:   periodDate(2025, time.January, 15),
			want: mkPeriod(periodDate(2024, time.November, 30), periodDate(2025, time.February, 28)),
		},
		{
			name:   "a quarterly Nov 30 anniversary goes from Feb 28 back to May 30",
			anchor: anniversaryOn(2024, time.November, 30), iv: every(1, Quarter),
			at:   periodDate(2025, time.March, 1),
			want: mkPeriod(periodDate(2025, time.February, 28), periodDate(2025, time.May, 30)),
		},
		{
			name:   "a quarterly Nov 30 anniversary goes from Feb 29 to May 30 in a leap year",
			anchor: anniversaryOn(2023, time.November, 30), iv: every(1, Quarter),
			at:   periodDate(2024, time.May, 29),
			want: mkPeriod(periodDate(2024, time.February, 29), periodDate(2024, time.May, 30)),
		},

		// Years.
		{
			name:   "a calendar year runs from Jan 1 to Jan 1",
			anchor: calendarAnchor, iv: every(1, Year),
			at:   periodDate(2026, time.July, 4),
			want: mkPeriod(periodDate(2026, time.January, 1), periodDate(2027, time.January, 1)),
		},
		{
			name:   "a calendar year includes its exact start on Jan 1",
			anchor: calendarAnchor, iv: every(1, Year),
			at:   periodDate(2026, time.January, 1),
			want: mkPeriod(periodDate(2026, time.January, 1), periodDate(2027, time.January, 1)),
		},
		{
			name:   "a yearly anniversary runs from the anchor's day to the same day next year",
			anchor: anniversaryOn(2023, time.August, 15), iv: every(1, Year),
			at:   periodDate(2026, time.March, 1),
			want: mkPeriod(periodDate(2025, time.August, 15), periodDate(2026, time.August, 15)),
		},

		// Weeks.
		{
			name:   "a calendar week containing a Wednesday starts on the Monday before",
			anchor: calendarAnchor, iv: every(1, Week),
			at:   time.Date(2026, time.March, 18, 15, 0, 0, 0, time.UTC),
			want: mkPeriod(periodDate(2026, time.March, 16), periodDate(2026, time.March, 23)),
		},
		{
			name:   "a Sunday is in the calendar week that started six days earlier",
			anchor: calendarAnchor, iv: every(1, Week),
			at:   time.Date(2026, time.March, 15, 23, 59, 0, 0, time.UTC),
			want: mkPeriod(periodDate(2026, time.March, 9), periodDate(2026, time.March, 16)),
		},
		{
			name:   "a calendar week before 1970 still starts on a Monday",
			anchor: calendarAnchor, iv: every(1, Week),
			at:   periodDate(1969, time.December, 31),
			want: mkPeriod(periodDate(1969, time.December, 29), periodDate(1970, time.January, 5)),
		},
		{
			name:   "a weekly anniversary starts on the anchor's weekday",
			anchor: anniversaryOn(2025, time.January, 9), iv: every(1, Week), // a Thursday
			at:   periodDate(2026, time.March, 18),
			want: mkPeriod(periodDate(2026, time.March, 12), periodDate(2026, time.March, 19)),
		},

		// Days.
		{
			name:   "a calendar day runs from midnight to midnight UTC",
			anchor: calendarAnchor, iv: every(1, Day),
			at:   time.Date(2026, time.March, 15, 13, 0, 0, 0, time.UTC),
			want: mkPeriod(periodDate(2026, time.March, 15), periodDate(2026, time.March, 16)),
		},
		{
			name:   "a daily anniversary also runs from midnight to midnight UTC",
			anchor: anniversaryOn(2025, time.January, 9), iv: every(1, Day),
			at:   time.Date(2026, time.March, 15, 0, 0, 0, 1, time.UTC),
			want: mkPeriod(periodDate(2026, time.March, 15), periodDate(2026, time.March, 16)),
		},

		// Interval counts.
		{
			name:   "two-month calendar periods start in odd months such as March",
			anchor: calendarAnchor, iv: every(2, Month),
			at:   periodDate(2026, time.April, 10),
			want: mkPeriod(periodDate(2026, time.March, 1), periodDate(2026, time.May, 1)),
		},
		{
			name:   "six-month calendar periods start on Jan 1 and Jul 1",
			anchor: calendarAnchor, iv: every(6, Month),
			at:   periodDate(2026, time.September, 1),
			want: mkPeriod(periodDate(2026, time.July, 1), periodDate(2027, time.January, 1)),
		},
		{
			name:   "a two-month Dec 31 anniversary clamps to Feb 28 and then Apr 30",
			anchor: anniversaryOn(2025, time.December, 31), iv: every(2, Month),
			at:   periodDate(2026, time.March, 1),
			want: mkPeriod(periodDate(2026, time.February, 28), periodDate(2026, time.April, 30)),
		},
		{
			name:   "two-year calendar periods start in even years counted from 1970",
			anchor: calendarAnchor, iv: every(2, Year),
			at:   periodDate(2025, time.June, 1),
			want: mkPeriod(periodDate(2024, time.January, 1), periodDate(2026, time.January, 1)),
		},
		{
			name:   "two-week calendar periods are counted from Monday Jan 5 1970",
			anchor: calendarAnchor, iv: every(2, Week),
			at:   periodDate(2026, time.March, 18),
			want: mkPeriod(periodDate(2026, time.March, 16), periodDate(2026, time.March, 30)),
		},
		{
			name:   "the day before a two-week calendar period is in the previous one",
			anchor: calendarAnchor, iv: every(2, Week),
			at:   periodDate(2026, time.March, 15),
			want: mkPeriod(periodDate(2026, time.March, 2), periodDate(2026, time.March, 16)),
		},
		{
			name:   "two-week anniversary periods are counted from the anchor",
			anchor: anniversaryOn(2025, time.January, 9), iv: every(2, Week),
			at:   periodDate(2026, time.March, 18),
			want: mkPeriod(periodDate(2026, time.March, 5), periodDate(2026, time.March, 19)),
		},
		{
			name:   "three-day calendar periods are counted from Jan 1 1970",
			anchor: calendarAnchor, iv: every(3, Day),
			at:   periodDate(2026, time.March, 18),
			want: mkPeriod(periodDate(2026, time.March, 17), periodDate(2026, time.March, 20)),
		},
		{
			name:   "three-day anniversary periods are counted from the anchor",
			anchor: anniversaryOn(2025, time.January, 10), iv: every(3, Day),
			at:   time.Date(2026, time.March, 18, 9, 0, 0, 0, time.UTC),
			want: mkPeriod(periodDate(2026, time.March, 18), periodDate(2026, time.March, 21)),
		},

		// Times before the anchor (negative k) and before 1970.
		{
			name:   "a time before a Jan 31 monthly anchor falls in a clamped earlier period",
			anchor: anniversaryOn(2025, time.January, 31), iv: every(1, Month),
			at:   periodDate(2024, time.December, 15),
			want: mkPeriod(periodDate(2024, time.November, 30), periodDate(2024, time.December, 31)),
		},
		{
			name:   "the day before a monthly anchor ends the period before it",
			anchor: anniversaryOn(2025, time.January, 31), iv: every(1, Month),
			at:   time.Date(2025, time.January, 30, 23, 59, 59, 0, time.UTC),
			want: mkPeriod(periodDate(2024, time.December, 31), periodDate(2025, time.January, 31)),
		},
		{
			name:   "a time years before a yearly Feb 29 anchor lands on an earlier Feb 29",
			anchor: anniversaryOn(2024, time.February, 29), iv: every(1, Year),
			at:   periodDate(2020, time.June, 1),
			want: mkPeriod(periodDate(2020, time.February, 29), periodDate(2021, time.February, 28)),
		},
		{
			name:   "a Wednesday before a Thursday weekly anchor is in the Thursday-to-Thursday week before it",
			anchor: anniversaryOn(2025, time.January, 9), iv: every(1, Week),
			at:   periodDate(2025, time.January, 1),
			want: mkPeriod(periodDate(2024, time.December, 26), periodDate(2025, time.January, 2)),
		},
		{
			name:   "a time before a two-day anchor rounds down to the earlier period",
			anchor: anniversaryOn(2025, time.January, 10), iv: every(2, Day),
			at:   time.Date(2025, time.January, 7, 12, 0, 0, 0, time.UTC),
			want: mkPeriod(periodDate(2025, time.January, 6), periodDate(2025, time.January, 8)),
		},
		{
			name:   "a calendar quarter before 1970 ends on Jan 1 1970",
			anchor: calendarAnchor, iv: every(1, Quarter),
			at:   periodDate(1969, time.December, 15),
			want: mkPeriod(periodDate(1969, time.October, 1), periodDate(1970, time.January, 1)),
		},

		// Time zones.
		{
			name:   "a non-UTC time is placed by its UTC instant (Mar 1 00:30 UTC+2 is in February)",
			anchor: calendarAnchor, iv: every(1, Month),
			at:   time.Date(2026, time.March, 1, 0, 30, 0, 0, plus2),
			want: mkPeriod(periodDate(2026, time.February, 1), periodDate(2026, time.March, 1)),
		},
		{
			name:   "a non-UTC evening time can be in the next UTC day",
			anchor: calendarAnchor, iv: every(1, Day),
			at:   time.Date(2026, time.March, 15, 21, 0, 0, 0, minus5),
			want: mkPeriod(periodDate(2026, time.March, 16), periodDate(2026, time.March, 17)),
		},
		{
			name:   "an anniversary anchor's day is its UTC day (Feb 1 01:00 UTC+3 is Jan 31)",
			anchor: Anchor{Kind: Anniversary, Date: time.Date(2025, time.February, 1, 1, 0, 0, 0, plus3)}, iv: every(1, Month),
			at:   periodDate(2025, time.February, 10),
			want: mkPeriod(periodDate(2025, time.January, 31), periodDate(2025, time.February, 28)),
		},
		{
			name:   "an anniversary anchor's time of day is ignored",
			anchor: Anchor{Kind: Anniversary, Date: time.Date(2025, time.January, 9, 18, 30, 0, 0, time.UTC)}, iv: every(1, Day),
			at:   time.Date(2025, time.January, 9, 3, 0, 0, 0, time.UTC),
			want: mkPeriod(periodDate(2025, time.January, 9), periodDate(2025, time.January, 10)),
		},

		// Invalid input.
		{
			name:   "a zero count gives the zero period",
			anchor: calendarAnchor, iv: every(0, Month),
			at:   periodDate(2026, time.March, 15),
			want: Period{},
		},
		{
			name:   "a count over the maximum gives the zero period",
			anchor: calendarAnchor, iv: every(MaxIntervalCount+1, Day),
			at:   periodDate(2026, time.March, 15),
			want: Period{},
		},
		{
			name:   "an unknown unit gives the zero period",
			anchor: calendarAnchor, iv: every(1, IntervalUnit(0)),
			at:   periodDate(2026, time.March, 15),
			want: Period{},
		},
		{
			name:   "an unknown anchor kind gives the zero period",
			anchor: Anchor{}, iv: every(1, Month),
			at:   periodDate(2026, time.March, 15),
			want: Period{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := PeriodAt(tt.anchor, tt.iv, tt.at)
			if !samePeriod(got, tt.want) {
				t.Fatalf("PeriodAt(%v %v, %d %v, %v) = %s, want %s",
					tt.anchor.Kind, tt.anchor.Date.Format(time.DateOnly), tt.iv.Count, tt.iv.Unit,
					tt.at.Format(time.RFC3339Nano), fmtPeriod(got), fmtPeriod(tt.want))
			}
			if tt.want != (Period{}) && !got.Contains(tt.at) {
				t.Errorf("%s does not contain %v", fmtPeriod(got), tt.at)
			}
		})
	}
}

func TestPeriodsEnding(t *testing.T) {
	t.Parallel()
	monthly := func(y int, from time.Month, n int) []Period {
		var ps []Period
		for i := range n {
			ps = append(ps, mkPeriod(periodDate(y, from+time.Month(i), 1), periodDate(y, from+time.Month(i+1), 1)))
		}
		return ps
	}
	tests := []struct {
		name        string
		anchor      Anchor
		iv          Interval
		after, upTo time.Time
		want        []Period
	}{
		{
			name:   "a year of monthly calendar periods has twelve, excluding the one ending at after and including the one ending at upTo",
			anchor: calendarAnchor, iv: every(1, Month),
			after: periodDate(2025, time.January, 1), upTo: periodDate(2026, time.January, 1),
			want: monthly(2025, time.January, 12),
		},
		{
			name:   "ranges that start and end mid-period return the periods ending inside them",
			anchor: calendarAnchor, iv: every(1, Month),
			after: periodDate(2025, time.January, 15), upTo: periodDate(2025, time.April, 15),
			want: monthly(2025, time.January, 3),
		},
		{
			name:   "a range of one nanosecond ending on a boundary returns the period ending there",
			anchor: calendarAnchor, iv: every(1, Month),
			after: periodDate(2025, time.February, 1).Add(-time.Nanosecond), upTo: periodDate(2025, time.February, 1),
			want: monthly(2025, time.January, 1),
		},
		{
			name:   "a range starting exactly on a boundary excludes the period ending there",
			anchor: calendarAnchor, iv: every(1, Month),
			after: periodDate(2025, time.February, 1), upTo: periodDate(2025, time.March, 1).Add(-time.Nanosecond),
			want: nil,
		},
		{
			name:   "a year of Jan 31 anniversary periods is clamped each short month without drift",
			anchor: anniversaryOn(2025, time.January, 31), iv: every(1, Month),
			after: periodDate(2025, time.January, 31), upTo: periodDate(2026, time.January, 31),
			want: []Period{
				mkPeriod(periodDate(2025, time.January, 31), periodDate(2025, time.February, 28)),
				mkPeriod(periodDate(2025, time.February, 28), periodDate(2025, time.March, 31)),
				mkPeriod(periodDate(2025, time.March, 31), periodDate(2025, time.April, 30)),
				mkPeriod(periodDate(2025, time.April, 30), periodDate(2025, time.May, 31)),
				mkPeriod(periodDate(2025, time.May, 31), periodDate(2025, time.June, 30)),
				mkPeriod(periodDate(2025, time.June, 30), periodDate(2025, time.July, 31)),
				mkPeriod(periodDate(2025, time.July, 31), periodDate(2025, time.August, 31)),
				mkPeriod(periodDate(2025, time.August, 31), periodDate(2025, time.September, 30)),
				mkPeriod(periodDate(2025, time.September, 30), periodDate(2025, time.October, 31)),
				mkPeriod(periodDate(2025, time.October, 31), periodDate(2025, time.November, 30)),
				mkPeriod(periodDate(2025, time.November, 30), periodDate(2025, time.December, 31)),
				mkPeriod(periodDate(2025, time.December, 31), periodDate(2026, time.January, 31)),
			},
		},
		{
			name:   "a range spanning a yearly Feb 29 anchor returns the periods on both sides of it",
			anchor: anniversaryOn(2024, time.February, 29), iv: every(1, Year),
			after: periodDate(2023, time.January, 1), upTo: periodDate(2026, time.March, 1),
			want: []Period{
				mkPeriod(periodDate(2022, time.February, 28), periodDate(2023, time.February, 28)),
				mkPeriod(periodDate(2023, time.February, 28), periodDate(2024, time.February, 29)),
				mkPeriod(periodDate(2024, time.February, 29), periodDate(2025, time.February, 28)),
				mkPeriod(periodDate(2025, time.February, 28), periodDate(2026, time.February, 28)),
			},
		},
		{
			name:   "weekly calendar periods over three weeks start on Mondays",
			anchor: calendarAnchor, iv: every(1, Week),
			after: periodDate(2026, time.March, 4), upTo: periodDate(2026, time.March, 23),
			want: []Period{
				mkPeriod(periodDate(2026, time.March, 2), periodDate(2026, time.March, 9)),
				mkPeriod(periodDate(2026, time.March, 9), periodDate(2026, time.March, 16)),
				mkPeriod(periodDate(2026, time.March, 16), periodDate(2026, time.March, 23)),
			},
		},
		{
			name:   "non-UTC bounds are compared as instants",
			anchor: calendarAnchor, iv: every(1, Day),
			after: time.Date(2026, time.March, 15, 20, 0, 0, 0, time.FixedZone("UTC-5", -5*60*60)), // Mar 16 01:00 UTC
			upTo:  time.Date(2026, time.March, 18, 1, 0, 0, 0, time.FixedZone("UTC+2", 2*60*60)),   // Mar 17 23:00 UTC
			want: []Period{
				mkPeriod(periodDate(2026, time.March, 16), periodDate(2026, time.March, 17)),
			},
		},
		{
			name:   "an empty range returns nil",
			anchor: calendarAnchor, iv: every(1, Month),
			after: periodDate(2025, time.March, 1), upTo: periodDate(2025, time.March, 1),
			want: nil,
		},
		{
			name:   "a reversed range returns nil",
			anchor: calendarAnchor, iv: every(1, Month),
			after: periodDate(2026, time.January, 1), upTo: periodDate(2025, time.January, 1),
			want: nil,
		},
		{
			name:   "a range inside one period returns nil",
			anchor: calendarAnchor, iv: every(1, Month),
			after: periodDate(2025, time.March, 2), upTo: periodDate(2025, time.March, 20),
			want: nil,
		},
		{
			name:   "an invalid interval returns nil",
			anchor: calendarAnchor, iv: every(0, Month),
			after: periodDate(2025, time.January, 1), upTo: periodDate(2026, time.January, 1),
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := PeriodsEnding(tt.anchor, tt.iv, tt.after, tt.upTo)
			same := len(got) == len(tt.want) && (got == nil) == (tt.want == nil)
			for i := 0; same && i < len(got); i++ {
				same = samePeriod(got[i], tt.want[i])
			}
			if !same {
				t.Fatalf("PeriodsEnding(%v, %v) =\n%s\nwant\n%s",
					tt.after.Format(time.RFC3339Nano), tt.upTo.Format(time.RFC3339Nano), fmtPeriods(got), fmtPeriods(tt.want))
			}
			checkPeriodsEnding(t, got, tt.after, tt.upTo)
		})
	}
}

// checkPeriodsEnding checks that ps are contiguous and that each one ends in
// (after, upTo].
func checkPeriodsEnding(t *testing.T, ps []Period, after, upTo time.Time) {
	t.Helper()
	for i, p := range ps {
		if !p.End.After(after) || p.End.After(upTo) {
			t.Errorf("period %d %s does not end in (%v, %v]", i, fmtPeriod(p), after, upTo)
		}
		if i > 0 && !ps[i-1].End.Equal(p.Start) {
			t.Errorf("period %d %s does not start where period %d %s ends", i, fmtPeriod(p), i-1, fmtPeriod(ps[i-1]))
		}
	}
}

// TestPeriodAtProperties checks, for every unit, counts 1..3 and both anchor
// kinds, on random anchors and times (including non-UTC ones and times before
// the anchor), that the period contains the time, is aligned as the anchor
// says, has the interval's length, and meets its neighbours exactly.
func TestPeriodAtProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(2026, 3))
	lo := periodDate(1900, time.January, 1).Unix()
	hi := periodDate(2100, time.January, 1).Unix()
	randTime := func() time.Time {
		zone := time.FixedZone("", (rng.IntN(27*4)-12*4)*15*60) // UTC-12:00 to UTC+14:45
		return time.Unix(lo+rng.Int64N(hi-lo), rng.Int64N(1e9)).In(zone)
	}
	const iterations = 2000
	approxLen := map[IntervalUnit]time.Duration{
		Day: 24 * time.Hour, Week: 7 * 24 * time.Hour,
		Month: 31 * 24 * time.Hour, Quarter: 92 * 24 * time.Hour, Year: 366 * 24 * time.Hour,
	}
	for u := Day; u <= Year; u++ {
		for count := 1; count <= 3; count++ {
			iv := Interval{Unit: u, Count: count}
			for _, kind := range []AnchorKind{Calendar, Anniversary} {
				for range iterations {
					a := Anchor{Kind: kind}
					if kind == Anniversary {
						a.Date = randTime()
					}
					at := randTime()
					// A span of up to about four periods for PeriodsEnding.
					span := time.Duration(rng.Int64N(int64(4*time.Duration(count)*approxLen[u])) + 1)
					if !checkPeriodAt(t, a, iv, at, at.Add(span)) {
						return
					}
				}
			}
		}
	}
}

// checkPeriodAt checks the properties of PeriodAt(a, iv, at), and that
// PeriodsEnding(a, iv, at, upTo) agrees with it, and reports whether they held.
func checkPeriodAt(t *testing.T, a Anchor, iv Interval, at, upTo time.Time) bool {
	t.Helper()
	p := PeriodAt(a, iv, at)
	where := func() string {
		return a.Kind.String() + " " + a.Date.UTC().Format(time.DateOnly) + ", " +
			iv.Unit.String() + "×" + strconv.Itoa(iv.Count) + ", at " + at.Format(time.RFC3339Nano) +
			": " + fmtPeriod(p)
	}
	fail := func(msg string) bool { t.Errorf("%s: %s", where(), msg); return false }

	if !p.Start.Before(p.End) {
		return fail("period is empty")
	}
	if !p.Contains(at) || p.Start.After(at) || !at.Before(p.End) {
		return fail("period does not contain at")
	}
	for _, b := range []time.Time{p.Start, p.End} {
		if b.Location() != time.UTC || !b.Equal(b.Truncate(24*time.Hour)) {
			return fail("boundary is not midnight UTC")
		}
	}
	if next := PeriodAt(a, iv, p.End); !next.Start.Equal(p.End) {
		return fail("PeriodAt(End) starts at " + next.Start.String())
	}
	if prev := PeriodAt(a, iv, p.Start.Add(-time.Nanosecond)); !prev.End.Equal(p.Start) {
		return fail("PeriodAt(Start-1ns) ends at " + prev.End.String())
	}
	if same := PeriodAt(a, iv, p.Start); !samePeriod(same, p) {
		return fail("PeriodAt(Start) is " + fmtPeriod(same))
	}

	// Alignment and length, checked independently of the implementation.
	anchor := a.Date.UTC()
	switch iv.Unit {
	case Day, Week:
		days := int64(iv.Count)
		if iv.Unit == Week {
			days *= 7
		}
		if p.Seconds() != days*24*60*60 {
			return fail("wrong length")
		}
		origin := periodDate(1970, time.January, 1)
		if iv.Unit == Week {
			origin = periodDate(1970, time.January, 5)
		}
		if a.Kind == Anniversary {
			origin = periodDate(anchor.Year(), anchor.Month(), anchor.Day())
		}
		if d := (p.Start.Unix() - origin.Unix()) / (24 * 60 * 60); d%days != 0 {
			return fail("start is not a whole number of periods from the origin")
		}
		if iv.Unit == Week && a.Kind == Calendar && p.Start.Weekday() != time.Monday {
			return fail("calendar week does not start on Monday")
		}
		if iv.Unit == Week && a.Kind == Anniversary && p.Start.Weekday() != anchor.Weekday() {
			return fail("anniversary week does not start on the anchor's weekday")
		}
	default:
		n := map[IntervalUnit]int{Month: 1, Quarter: 3, Year: 12}[iv.Unit] * iv.Count
		months := func(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }
		if months(p.End)-months(p.Start) != n {
			return fail("wrong length in months")
		}
		originMonth, anchorDay := 1970*12, 1
		if a.Kind == Anniversary {
			originMonth, anchorDay = months(anchor), anchor.Day()
		}
		if (months(p.Start)-originMonth)%n != 0 {
			return fail("start is not a whole number of periods from the origin")
		}
		for _, b := range []time.Time{p.Start, p.End} {
			if want := min(anchorDay, daysIn(b.Year(), b.Month())); b.Day() != want {
				return fail("boundary is not on the clamped anchor day")
			}
		}
	}

	// PeriodsEnding from at starts with the period containing at and stops
	// with the one before the period containing upTo.
	ps := PeriodsEnding(a, iv, at, upTo)
	checkPeriodsEnding(t, ps, at, upTo)
	last := PeriodAt(a, iv, upTo)
	switch {
	case len(ps) == 0 && !samePeriod(last, p):
		return fail("PeriodsEnding up to " + upTo.String() + " is empty")
	case len(ps) > 0 && !samePeriod(ps[0], p):
		return fail("PeriodsEnding from at starts with " + fmtPeriod(ps[0]))
	case len(ps) > 0 && !ps[len(ps)-1].End.Equal(last.Start):
		return fail("PeriodsEnding up to " + upTo.String() + " ends with " + fmtPeriod(ps[len(ps)-1]))
	}
	return !t.Failed()
}

func TestIntervalValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		iv   Interval
		want bool
	}{
		{"one month is valid", every(1, Month), true},
		{"a hundred days is valid", every(MaxIntervalCount, Day), true},
		{"every known unit is valid", every(3, Quarter), true},
		{"a zero count is invalid", every(0, Week), false},
		{"a negative count is invalid", every(-1, Year), false},
		{"a count over a hundred is invalid", every(MaxIntervalCount+1, Day), false},
		{"the zero unit is invalid", every(1, 0), false},
		{"a unit past Year is invalid", every(1, Year+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.iv.Valid(); got != tt.want {
				t.Errorf("%+v.Valid() = %v, want %v", tt.iv, got, tt.want)
			}
		})
	}
}

func TestIntervalUnitNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		unit IntervalUnit
		text string
	}{
		{"day is named day", Day, "day"},
		{"week is named week", Week, "week"},
		{"month is named month", Month, "month"},
		{"quarter is named quarter", Quarter, "quarter"},
		{"year is named year", Year, "year"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.unit.String(); got != tt.text {
				t.Errorf("String() = %q, want %q", got, tt.text)
			}
			if got, ok := ParseIntervalUnit(tt.text); !ok || got != tt.unit {
				t.Errorf("ParseIntervalUnit(%q) = %v, %v, want %v, true", tt.text, got, ok, tt.unit)
			}
		})
	}
	if got := IntervalUnit(0).String(); got != "IntervalUnit(0)" {
		t.Errorf("IntervalUnit(0).String() = %q", got)
	}
	for _, s := range []string{"", "Month", "months", "IntervalUnit(0)", " day"} {
		if u, ok := ParseIntervalUnit(s); ok {
			t.Errorf("ParseIntervalUnit(%q) = %v, true, want false", s, u)
		}
	}
}

func TestAnchorKindNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kind AnchorKind
		text string
	}{
		{"calendar is named calendar", Calendar, "calendar"},
		{"anniversary is named anniversary", Anniversary, "anniversary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.kind.String(); got != tt.text {
				t.Errorf("String() = %q, want %q", got, tt.text)
			}
			if got, ok := ParseAnchorKind(tt.text); !ok || got != tt.kind {
				t.Errorf("ParseAnchorKind(%q) = %v, %v, want %v, true", tt.text, got, ok, tt.kind)
			}
		})
	}
	if got := AnchorKind(3).String(); got != "AnchorKind(3)" {
		t.Errorf("AnchorKind(3).String() = %q", got)
	}
	for _, s := range []string{"", "Calendar", "anniversaries", "AnchorKind(0)"} {
		if k, ok := ParseAnchorKind(s); ok {
			t.Errorf("ParseAnchorKind(%q) = %v, true, want false", s, k)
		}
	}
}

func TestPeriodSecondsAndContains(t *testing.T) {
	t.Parallel()
	p := mkPeriod(periodDate(2025, time.February, 1), periodDate(2025, time.March, 1))
	if got, want := p.Seconds(), int64(28*24*60*60); got != want {
		t.Errorf("Seconds() = %d, want %d", got, want)
	}
	long := PeriodAt(calendarAnchor, every(MaxIntervalYears, Year), periodDate(2026, time.January, 1))
	if got, want := long.Seconds(), long.End.Unix()-long.Start.Unix(); got != want || got <= 0 {
		t.Errorf("Seconds() of a ten-year period = %d, want %d", got, want)
	}
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{p.Start.Add(-time.Nanosecond), false},
		{p.Start, true},
		{p.End.Add(-time.Nanosecond), true},
		{p.End, false},
	} {
		if got := p.Contains(tt.at); got != tt.want {
			t.Errorf("%s.Contains(%v) = %v, want %v", fmtPeriod(p), tt.at, got, tt.want)
		}
	}
	if (Period{}).Contains(time.Time{}) {
		t.Error("the zero Period contains the zero time")
	}
}

func TestPeriodsAtTheEdgesOfTheTimeRange(t *testing.T) {
	t.Parallel()
	first := periodDate(1970, time.January, 1)
	last := periodDate(8999, time.December, 31).Add(24*time.Hour - time.Nanosecond)
	// The latest period end any accepted time and interval can reach, well
	// inside what protobuf timestamps hold (year 9999).
	limit := periodDate(9011, time.January, 1)
	anniversary := Anchor{Kind: Anniversary, Date: periodDate(8999, time.December, 31)}
	for _, tt := range []struct {
		name   string
		anchor Anchor
		iv     Interval
		at     time.Time
	}{
		{"a daily period on the first accepted day", calendarAnchor, every(1, Day), first},
		{"a 100-week period on the first accepted day", calendarAnchor, every(MaxIntervalCount, Week), first},
		{"a ten-year period on the first accepted day", calendarAnchor, every(MaxIntervalYears, Year), first},
		{"an anniversary in 8999 seen from 1970", anniversary, every(MaxIntervalCount, Month), first},
		{"a daily period on the last accepted day", calendarAnchor, every(1, Day), last},
		{"a 100-day period on the last accepted day", calendarAnchor, every(MaxIntervalCount, Day), last},
		{"a 100-week period on the last accepted day", calendarAnchor, every(MaxIntervalCount, Week), last},
		{"a 100-month period on the last accepted day", calendarAnchor, every(MaxIntervalCount, Month), last},
		{"a 40-quarter period on the last accepted day", calendarAnchor, every(40, Quarter), last},
		{"a ten-year period on the last accepted day", calendarAnchor, every(MaxIntervalYears, Year), last},
		{"a ten-year anniversary period on the last accepted day", anniversary, every(MaxIntervalYears, Year), last},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if !tt.iv.Valid() {
				t.Fatalf("%+v is not valid", tt.iv)
			}
			p := PeriodAt(tt.anchor, tt.iv, tt.at)
			if !p.Contains(tt.at) || !p.End.Before(limit) {
				t.Errorf("PeriodAt(%v) = [%v, %v), want a period containing it ending before %v", tt.at, p.Start, p.End, limit)
			}
			next := PeriodsEnding(tt.anchor, tt.iv, p.Start, p.End)
			if len(next) != 1 || next[0] != p {
				t.Errorf("PeriodsEnding(%v, %v) = %v, want [%v]", p.Start, p.End, next, p)
			}
		})
	}
}

func TestIntervalBounds(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		iv   Interval
		want bool
	}{
		{"40 quarters are ten years", every(40, Quarter), true},
		{"41 quarters are more than ten years", every(41, Quarter), false},
		{"ten years", every(MaxIntervalYears, Year), true},
		{"eleven years", every(MaxIntervalYears+1, Year), false},
		{"the largest int32 count", every(2147483647, Month), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.iv.Valid(); got != tt.want {
				t.Errorf("%+v.Valid() = %v, want %v", tt.iv, got, tt.want)
			}
		})
	}
}
