// Package quota is the quota service's domain: it admits gauge quantities
// (sites, disk) against a customer's entitlements, in reservations that
// expire by themselves and commits that turn them into allocations. Redis
// does the admission (Live); the database is the truth (Store) from which
// Redis is rebuilt when it loses a customer's keys.
package quota

import (
	"time"

	"github.com/shopspring/decimal"
)

// Units is a quantity in thousandths of a unit: quantities have at most
// three fraction digits, so that Redis adds them exactly as integers.
type Units int64

// MaxQuantity is the largest quantity of one item, in units.
const MaxQuantity Units = 1_000_000_000 * 1000

// MaxLimit is the largest limit Redis is given; a larger entitlement is
// held as this (far above any quantity that can be allocated).
const MaxLimit Units = 1_000_000_000_000 * 1000

// Decimal returns u as a decimal quantity.
func (u Units) Decimal() decimal.Decimal { return decimal.New(int64(u), -3) }

// String returns u as a plain decimal string ("1", "0.5").
func (u Units) String() string { return u.Decimal().String() }

// Policy is how a limit is enforced.
type Policy int

// The policies; PolicyUnset means the customer is not entitled.
const (
	PolicyUnset Policy = iota
	PolicyHard
	PolicySoft
	PolicyNone
)

// Reason says why an item is or is not admitted.
type Reason int

// The reasons.
const (
	ReasonUnset Reason = iota
	ReasonOK
	ReasonOverLimit
	ReasonOverage
	ReasonNoPlan
	ReasonNotEntitled
)

// Item is a quantity of one feature.
type Item struct {
	Feature  string
	Quantity Units
}

// Limit is one feature's entitlement.
type Limit struct {
	Policy Policy
	Limit  Units
	// Reset is set for counter features only: when their use starts again
	// from zero.
	Reset ResetPeriod
	// Period is a counter's current period, filled in by the service when
	// it stores the limits in Redis.
	Period Period
}

// Limits are a customer's entitlements at a time.
type Limits struct {
	// HasPlan is false when no subscription is active.
	HasPlan bool
	// ByFeature holds the entitlements by feature key.
	ByFeature map[string]Limit
	// ValidUntil is when the limits may change by themselves (a scheduled
	// plan change takes effect, an override expires); zero if never.
	ValidUntil time.Time
}

// ItemResult is the admission answer for one item.
type ItemResult struct {
	Item
	Allowed  bool
	Reason   Reason
	Policy   Policy
	Limit    Units
	Used     Units
	Reserved Units
	// Counter is set for counter features, whose Used is the use in Period
	// as metering counts it.
	Counter bool
	Period  Period
}

// Remaining is the limit minus use and holds, at least 0; meaningless
// for PolicyNone.
func (r ItemResult) Remaining() Units { return max(r.Limit-r.Used-r.Reserved, 0) }

// Result is the admission answer for a set of items.
type Result struct {
	Allowed bool
	Items   []ItemResult
	// Load lists the counters Redis does not hold for their period, when
	// the outcome is Load.
	Load []Counter
}

// Status is where a reservation is in its life.
type Status string

// The statuses. A pending reservation is an intent written before Redis
// admitted it; it is answered to nobody until it is held.
const (
	StatusPending   Status = "pending"
	StatusHeld      Status = "held"
	StatusCommitted Status = "committed"
	StatusReleased  Status = "released"
	StatusExpired   Status = "expired"
)

// Reservation is a hold of quantities for a customer.
type Reservation struct {
	ID         string
	CustomerID string
	// Key is the idempotency key it was made with, if any.
	Key        string
	Items      []Item
	Status     Status
	ExpireTime time.Time
	// Subjects are, once committed, the subjects of the items: Items[i]
	// is allocated to Subjects[i].
	Subjects   []string
	CreateTime time.Time
	UpdateTime time.Time
}

// Effective returns the reservation's status at now: a held reservation
// past its expiry is expired, whether or not the database says so yet.
func (r Reservation) Effective(now time.Time) Status {
	if (r.Status == StatusHeld || r.Status == StatusPending) && !now.Before(r.ExpireTime) {
		return StatusExpired
	}
	return r.Status
}

// Snapshot is what the database holds for one customer, from which Redis
// is rebuilt.
type Snapshot struct {
	// Used is the sum of committed allocations by feature.
	Used map[string]Units
	// Live are the pending and held reservations that have not expired.
	Live []Reservation
	// Done are the ids of reservations committed or released recently,
	// and of deallocations made recently, so that a late script does not
	// count them again.
	Done []string
}
