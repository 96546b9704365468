package subscription

import "github.com/meterplane/meterplane/platform/periods"

// The billing period types and rules are platform/periods', shared with the
// invoice service.
type (
	// IntervalUnit is the unit of a billing interval.
	IntervalUnit = periods.IntervalUnit
	// Interval is how often a plan bills: Count units.
	Interval = periods.Interval
	// AnchorKind says how a customer's periods are aligned.
	AnchorKind = periods.AnchorKind
	// Anchor aligns a customer's billing periods.
	Anchor = periods.Anchor
	// Period is a half-open billing period [Start, End) in UTC.
	Period = periods.Period
)

// The interval units and anchor kinds.
const (
	Day         = periods.Day
	Week        = periods.Week
	Month       = periods.Month
	Quarter     = periods.Quarter
	Year        = periods.Year
	Calendar    = periods.Calendar
	Anniversary = periods.Anniversary
)

// Bounds of a valid Interval (see periods.MaxIntervalCount).
const (
	MaxIntervalCount = periods.MaxIntervalCount
	MaxIntervalYears = periods.MaxIntervalYears
)

// The range of times the service accepts and computes periods for.
var (
	MinTime = periods.MinTime
	MaxTime = periods.MaxTime
)

// The period functions.
var (
	PeriodAt          = periods.PeriodAt
	PeriodsEnding     = periods.PeriodsEnding
	ParseIntervalUnit = periods.ParseIntervalUnit
	ParseAnchorKind   = periods.ParseAnchorKind
)
