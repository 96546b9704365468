// Package metering is the metering service's domain: meters, usage events
// and their validation, exactly-once ingestion, rollups, gauge levels, usage
// queries, reports and completeness.
package metering

import (
	"time"

	"github.com/meterplane/meterplane/platform/money"
)

// Aggregation is how a meter turns events into a quantity. The values are
// those of the API.
type Aggregation int

// The aggregations. TimeWeighted is for gauges, the others for counters.
const (
	Sum Aggregation = iota + 1
	Count
	Max
	UniqueCount
	Latest
	TimeWeighted
)

var aggregationNames = map[Aggregation]string{
	Sum: "sum", Count: "count", Max: "max", UniqueCount: "unique_count", Latest: "latest", TimeWeighted: "time_weighted",
}

func (a Aggregation) String() string { return aggregationNames[a] }

// ParseAggregation reads an aggregation's name.
func ParseAggregation(s string) (Aggregation, bool) {
	for a, name := range aggregationNames {
		if name == s {
			return a, true
		}
	}
	return 0, false
}

// Gauge reports whether the aggregation is for gauges.
func (a Aggregation) Gauge() bool { return a == TimeWeighted }

// Meter says how usage events of one feature are aggregated.
type Meter struct {
	Key         string
	Feature     string
	Aggregation Aggregation
	Description string
	CreateTime  time.Time
	// FedByQuota says the quota service reports this gauge's levels: the
	// meter takes events from source QuotaSource only, so that no subject
	// is counted both by quota and by a collector.
	FedByQuota bool
}

// QuotaSource is the source of the events the quota service reports.
const QuotaSource = "quota"

// Event is a stored usage event.
type Event struct {
	ID         string
	CustomerID string
	Meter      string
	Quantity   money.Decimal
	Time       time.Time
	Key        string
	Subject    string
	Delta      bool
	Source     string
	Properties map[string]string
	// Hash fingerprints the payload, to tell a retry from a reused key.
	Hash []byte
}

// Status is what became of an ingested event.
type Status int

// The statuses.
const (
	Accepted Status = iota + 1
	Duplicate
	Rejected
)

// Reason says why an event was rejected. The values are those of the API.
type Reason int

// The reasons.
const (
	Invalid Reason = iota + 1
	UnknownMeter
	UnknownCustomer
	NegativeQuantity
	InvalidQuantity
	FutureTime
	LatePeriodClosed
	PropertiesTooLarge
	KeyConflict
	SourceNotAllowed
)

// Result is the outcome of one event.
type Result struct {
	Index   int
	Status  Status
	EventID string
	Reason  Reason
	Field   string
	Message string
}

// Period is a half-open interval [Start, End) in UTC.
type Period struct {
	Start, End time.Time
}

// Window splits a usage query.
type Window int

// The windows. WindowNone is the whole period.
const (
	WindowNone Window = iota + 1
	WindowHour
	WindowDay
	WindowMonth
)

// Rollup is the aggregate of a customer's events of one meter in one hour,
// for one subject or (from a store that sums them) for all.
type Rollup struct {
	Hour       time.Time
	Subject    string
	Total      money.Decimal
	Count      int64
	Max        money.Decimal
	LatestTime time.Time
	Latest     money.Decimal
}

// GaugePoint is a subject's level from a time on.
type GaugePoint struct {
	Subject string
	Time    time.Time
	EventID string
	// Value is the event's quantity: a level, or a change when Delta.
	Value money.Decimal
	Delta bool
	// Level is the subject's level from Time on.
	Level money.Decimal
}

// Usage is the answer to a usage query.
type Usage struct {
	Meter  Meter
	Total  money.Decimal
	Values []UsageValue
}

// UsageValue is the usage in one window, of one subject when grouped.
type UsageValue struct {
	Window   Period
	Subject  string
	Quantity money.Decimal
}

// Completeness says whether a customer's usage of a period is complete.
type Completeness struct {
	Complete bool
	Sources  []string
	Pending  []string
}

// RecordedEvent is the payload of the "usage.recorded" event; its JSON is
// that of the API's UsageRecorded message.
type RecordedEvent struct {
	CustomerID  string    `json:"customerId"`
	MeterKey    string    `json:"meterKey"`
	FeatureKey  string    `json:"featureKey"`
	Aggregation string    `json:"aggregation"`
	Hour        time.Time `json:"hour"`
	Quantity    string    `json:"quantity"`
	Count       int64     `json:"count,string"`
	Subject     string    `json:"subject,omitempty"`
	Level       string    `json:"level,omitempty"`
}

// TopicRecorded is the bus topic of recorded usage.
const TopicRecorded = "usage.recorded"
