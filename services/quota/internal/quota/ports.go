package quota

import (
	"context"
	"errors"
	"time"
)

// ErrDuplicateKey is returned by Store.AddIntent when the customer
// already has a reservation with the idempotency key.
var ErrDuplicateKey = errors.New("quota: duplicate idempotency key")

// Store is the quota service's database, the truth Redis is rebuilt from.
// Each method runs in the transaction of ctx if any, otherwise on its own.
type Store interface {
	// InTx runs fn in a transaction carried by its context.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// AddIntent stores a pending reservation, or returns
	// ErrDuplicateKey.
	AddIntent(ctx context.Context, r Reservation) error
	// ByKey returns the customer's reservation made with an idempotency
	// key.
	ByKey(ctx context.Context, customerID, key string) (Reservation, bool, error)
	// Reservation returns a reservation, or an errs.NotFound error.
	Reservation(ctx context.Context, id string) (Reservation, error)
	// MarkHeld turns a pending reservation into a held one; false if it
	// is not pending.
	MarkHeld(ctx context.Context, id string, at time.Time) (bool, error)
	// DeletePending deletes a reservation if it is still pending.
	DeletePending(ctx context.Context, id string) error
	// SetStatus moves a reservation whose status is one of from to to,
	// with subjects if not empty; false if its status is none of from.
	SetStatus(ctx context.Context, id string, from []Status, to Status, subjects []string, at time.Time) (bool, error)
	// AddAllocations records that subjects[i] holds r's item i.
	AddAllocations(ctx context.Context, r Reservation, subjects []string, at time.Time) error
	// Snapshot returns what Redis must hold for the customer at now.
	Snapshot(ctx context.Context, customerID string, now time.Time) (Snapshot, error)
	// Unsettled returns up to limit committed reservations not yet
	// settled whose expiry is before before, earliest first.
	Unsettled(ctx context.Context, before time.Time, limit int) ([]Reservation, error)
	// MarkSettled marks committed reservations settled: their commit
	// script has run.
	MarkSettled(ctx context.Context, ids []string) error
	// ExpireDue marks held reservations past their expiry as expired, and
	// returns how many; it deletes pending ones past it.
	ExpireDue(ctx context.Context, now time.Time) (int64, error)
	OverrideStore
	AllocationStore
}

// Outcome is what an admission script reports besides its answer.
type Outcome int

// The outcomes.
const (
	// Done: the script ran and answered.
	Done Outcome = iota
	// Stale: the customer's limits in Redis are missing or older than the
	// freshness; nothing was written.
	Stale
	// Rebuild: the customer's keys are missing (Redis lost them); nothing
	// was written.
	Rebuild
	// Held: the reservation is already held (a retry).
	Held
	// Finished: the reservation was already committed or released.
	Finished
	// Load: counters of the items are not in Redis for their period
	// (Result.Load lists them); nothing was written.
	Load
)

// Live is the admission state in Redis: each method is one atomic script
// over the customer's keys.
type Live interface {
	// Check evaluates items at now without writing.
	Check(ctx context.Context, customerID string, items []Item, now time.Time) (Result, Outcome, error)
	// Reserve holds the items under id until expire if all are admitted;
	// a denial writes nothing (but drops a pending entry of id itself).
	Reserve(ctx context.Context, customerID, id string, items []Item, expire, now time.Time) (Result, Outcome, error)
	// Commit moves id's held items to used, or adds items to used if id
	// is no longer held; once per id.
	Commit(ctx context.Context, customerID, id string, items []Item, now time.Time) (Outcome, error)
	// Release drops id's held items; once per id.
	Release(ctx context.Context, customerID, id string, now time.Time) (Outcome, error)
	// Drop removes the entry of a reservation whose intent was deleted
	// unanswered.
	Drop(ctx context.Context, customerID, id string) (Outcome, error)
	// LimitsVersion returns the version of the customer's limits, which
	// Invalidate changes.
	LimitsVersion(ctx context.Context, customerID string) (int64, error)
	// SetLimits replaces the customer's limits, as of at, if their version
	// is still version; otherwise it writes nothing (they were marked
	// stale meanwhile, and the next call asks them again). The limits are
	// stale after the freshness, and from l.ValidUntil on if set.
	SetLimits(ctx context.Context, customerID string, l Limits, at time.Time, version int64) error
	// Invalidate marks the customer's limits stale and changes their
	// version, so that the next call asks them again.
	Invalidate(ctx context.Context, customerID string) error
	// Ready reports whether the customer's keys are present.
	Ready(ctx context.Context, customerID string) (bool, error)
	// Lock takes the customer's rebuild lock with token for ttl.
	Lock(ctx context.Context, customerID, token string, ttl time.Duration) (bool, error)
	// Rebuild replaces the customer's keys with s and releases the lock
	// held with token; an error if the lock is not held with token.
	Rebuild(ctx context.Context, customerID, token string, s Snapshot, now time.Time) error
	AllocationLive
}

// Entitlements asks the subscription service for a customer's limits.
type Entitlements interface {
	// Limits returns the customer's limits at at, with the instant until
	// which they hold; an errs.NotFound error when the customer does not
	// exist.
	Limits(ctx context.Context, customerID string, at time.Time) (Limits, error)
}

// ErrUnknownFeature is returned by Features.IsGauge for a feature the
// catalog does not know.
var ErrUnknownFeature = errors.New("quota: unknown feature")

// Features asks the catalog what kind a feature is.
type Features interface {
	// IsGauge reports whether the feature is a gauge, or returns
	// ErrUnknownFeature.
	IsGauge(ctx context.Context, feature string) (bool, error)
}
