package metering

import (
	"context"
	"errors"
	"time"
)

// Store keeps meters, events, rollups, gauge points, completeness marks and
// closed periods. Every method runs in the transaction carried by ctx, if
// any.
type Store interface {
	// InTx runs fn in a transaction carried by the context fn gets.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	// CreateMeter stores a meter; a key or feature in use is an
	// errs.AlreadyExists error.
	CreateMeter(ctx context.Context, m Meter) error
	// GetMeter returns a meter, or an errs.NotFound error.
	GetMeter(ctx context.Context, key string) (Meter, error)
	// MeterOf returns the meter of a feature, or an errs.NotFound error.
	MeterOf(ctx context.Context, feature string) (Meter, error)
	// ListMeters returns up to limit meters with keys after after, by key.
	ListMeters(ctx context.Context, after string, limit int) ([]Meter, error)

	// AddEvents claims the idempotency key of each event (distinct per
	// customer) and stores the events whose key was new. For each event it
	// says whether its key was new, and if not, the event id and hash
	// stored with it.
	AddEvents(ctx context.Context, events []Event, received time.Time) ([]Claim, error)
	// AddPending stores the hourly aggregates of one batch until a fold
	// takes them.
	AddPending(ctx context.Context, batchID string, rs []RollupDelta) error
	// TakePending deletes up to limit batches of pending aggregates and
	// returns their aggregates. A batch it cannot read it moves to the
	// quarantine (with at as the time) and names in Taken.Bad. Unless wait
	// is set, it skips batches another transaction is taking; with wait,
	// it waits for that transaction and takes what it left.
	TakePending(ctx context.Context, limit int, wait bool, at time.Time) (Taken, error)
	// Quarantine moves a pending batch aside with the error that kept it
	// from being folded. A batch no longer pending is left alone.
	Quarantine(ctx context.Context, batchID, reason string, at time.Time) error
	// ListQuarantined returns up to limit quarantined batches with ids
	// after after, by id.
	ListQuarantined(ctx context.Context, after string, limit int) ([]Quarantined, error)
	// HasPending reports whether any batch waits for a fold.
	HasPending(ctx context.Context) (bool, error)
	// AddRollups adds hourly aggregates to the stored ones, in the order
	// given. An error the aggregates' values cause (not the database's
	// state) wraps ErrBadBatch.
	AddRollups(ctx context.Context, rs []RollupDelta) error
	// BatchRollups returns the rollups of every meter of each query's
	// customer in its period, by query, meter and subject: combined per
	// query, meter and subject, or hourly.
	BatchRollups(ctx context.Context, qs []UsageQuery) ([]QueryRollup, error)
	// BatchGaugePoints returns for each query, per meter and subject of its
	// customer, the last point before its period and the points in it, by
	// query, meter, subject, time and event id.
	BatchGaugePoints(ctx context.Context, qs []UsageQuery) ([]QueryPoint, error)
	// GaugeRun locks a gauge subject until the transaction ends and
	// returns its points that a new point at t can change, by time and
	// event id: from the last level (not delta) point at or before t, or
	// the first point, up to the first level point after t.
	GaugeRun(ctx context.Context, customerID, meter, subject string, t time.Time) ([]GaugePoint, error)
	// PutGaugePoints inserts new points and updates the level of existing
	// ones.
	PutGaugePoints(ctx context.Context, customerID, meter string, insert, update []GaugePoint) error
	// NoteSources records which sources reported usage of which customers
	// on which days.
	NoteSources(ctx context.Context, seen []SourceDay) error
	// Publish writes events to the outbox.
	Publish(ctx context.Context, topic string, msgs []Outgoing, at time.Time) error
	// Prepare readies the store for events at the given times (monthly
	// partitions on PostgreSQL). It runs outside transactions.
	Prepare(ctx context.Context, times []time.Time) error
	// DropPartitionsBefore drops the events (and their idempotency keys)
	// of the months that end at or before t, where the store keeps months
	// apart, and names what it dropped.
	DropPartitionsBefore(ctx context.Context, t time.Time) ([]string, error)

	// Rollups returns a customer's rollups of a meter in a period, by hour.
	// A store may combine them (summing subjects unless q.PerSubject, and
	// hours into q.Window's windows, with Hour the first hour combined),
	// and may leave Latest unset unless q.Latest.
	Rollups(ctx context.Context, customerID, meter string, p Period, q RollupQuery) ([]Rollup, error)
	// GaugePoints returns, per subject, the last point before p.Start and
	// the points in p, by subject, time and event id.
	GaugePoints(ctx context.Context, customerID, meter string, p Period) ([]GaugePoint, error)
	// EventsAfter returns up to limit events of a customer, or of a
	// source, in p, by time, customer, meter and key, after the event
	// after (from the first if nil).
	EventsAfter(ctx context.Context, customerID, source string, p Period, after *Event, limit int) ([]Event, error)

	// ClosedBefore returns the closing time of each customer that has one.
	ClosedBefore(ctx context.Context, customerIDs []string) (map[string]time.Time, error)
	// ClosePeriod moves a customer's closing time to before, unless it is
	// later already, and returns it.
	ClosePeriod(ctx context.Context, customerID string, before time.Time) (time.Time, error)
	// ClosePeriods moves the closing time of each customer of before (at
	// most once each) to its time, unless it is later already, in one
	// statement, and returns every customer's closing time now.
	ClosePeriods(ctx context.Context, before map[string]time.Time) (map[string]time.Time, error)
	// MarkComplete records that a source sent all of a customer's usage of
	// p.
	MarkComplete(ctx context.Context, source, customerID string, p Period, at time.Time) error
	// Completeness returns the sources that reported usage of the customer
	// on the days overlapping p, and those that marked a period covering p
	// complete.
	Completeness(ctx context.Context, customerID string, p Period) (reported, marked []string, err error)
}

// Taken is what a fold took from the pending batches.
type Taken struct {
	// Deltas are the aggregates of the batches taken.
	Deltas []RollupDelta
	// IDs are the batches whose aggregates are in Deltas.
	IDs []string
	// Bad are the batches taken that could not be read; they are in the
	// quarantine already.
	Bad []Quarantined
}

// Quarantined is a batch of pending aggregates moved aside because folding
// it failed.
type Quarantined struct {
	BatchID string
	Error   string
	Time    time.Time
}

// ErrBadBatch marks a failure that a batch's content causes, so that
// folding it again would fail again.
var ErrBadBatch = errors.New("metering: the batch cannot be folded")

// Outgoing is an event for the bus, keyed by customer.
type Outgoing struct {
	Key     string
	Payload []byte
}

// RollupQuery says how a caller will combine rollups.
type RollupQuery struct {
	PerSubject bool
	Window     Window
	Latest     bool
}

// Claim is the outcome of claiming an event's key.
type Claim struct {
	New     bool
	EventID string
	Hash    []byte
}

// RollupDelta is an hourly aggregate to add to a customer's meter.
type RollupDelta struct {
	CustomerID string
	Meter      string
	Rollup
}

// SourceDay says a source reported usage of a customer on a day.
type SourceDay struct {
	CustomerID string
	Source     string
	Day        time.Time
}

// Customers tells which customers exist and how the world outside knows
// them.
type Customers interface {
	// Known returns the ids among ids of customers that exist.
	Known(ctx context.Context, ids []string) (map[string]bool, error)
	// ExternalIDs returns the external id of each customer among ids
	// that exists ("" if it has none); a customer that does not exist is
	// not in the map.
	ExternalIDs(ctx context.Context, ids []string) (map[string]string, error)
	// ByExternalID returns the id of the customer of each external id
	// among externalIDs that a customer has.
	ByExternalID(ctx context.Context, externalIDs []string) (map[string]string, error)
}

// Features tells what the catalog's features are.
type Features interface {
	// IsGauge reports whether the feature is a gauge; an unknown feature is
	// an errs.NotFound error.
	IsGauge(ctx context.Context, feature string) (bool, error)
}
