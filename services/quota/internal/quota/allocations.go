package quota

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/page"
)

// Allocation is a quantity of a feature that a subject holds from one
// committed reservation.
type Allocation struct {
	CustomerID    string
	Feature       string
	Subject       string
	ReservationID string
	Quantity      Units
	CreateTime    time.Time
}

// Deallocation is the removal of a subject's allocations of a feature.
type Deallocation struct {
	ID         string
	CustomerID string
	Feature    string
	Subject    string
	// Key is the idempotency key of the call that made it, if any.
	Key         string
	Allocations []Allocation
	CreateTime  time.Time
}

// Quantity is the total the deallocation removed.
func (d Deallocation) Quantity() Units {
	var q Units
	for _, a := range d.Allocations {
		q += a.Quantity
	}
	return q
}

// FeedEvent is a subject's level of a feature from a time on, to report
// to metering's gauge meter of the feature, if quota feeds one.
type FeedEvent struct {
	// ID is the event's idempotency key in metering, derived from what
	// made it (a reservation and feature, or a deallocation), so that
	// however often it is sent it is counted once.
	ID         string
	CustomerID string
	Feature    string
	Subject    string
	Level      Units
	Time       time.Time
	// Attempts counts the failed sends.
	Attempts int
}

// AllocationStore is the part of Store that keeps allocations,
// deallocations and the feed to metering.
type AllocationStore interface {
	// Level returns the sum of the subject's allocations of the feature.
	Level(ctx context.Context, customerID, feature, subject string) (Units, error)
	// RemoveAllocations deletes the subject's allocations of the feature
	// and returns them; none if it has none.
	RemoveAllocations(ctx context.Context, customerID, feature, subject string) ([]Allocation, error)
	// AddDeallocation records a deallocation, or returns ErrDuplicateKey
	// when the customer made one with its key.
	AddDeallocation(ctx context.Context, d Deallocation) error
	// DeallocationByKey returns the customer's deallocation made with an
	// idempotency key.
	DeallocationByKey(ctx context.Context, customerID, key string) (Deallocation, bool, error)
	// UnsettledDeallocations returns up to limit deallocations not yet
	// settled made before before, oldest first.
	UnsettledDeallocations(ctx context.Context, before time.Time, limit int) ([]Deallocation, error)
	// MarkDeallocationsSettled marks deallocations settled: their script
	// has run.
	MarkDeallocationsSettled(ctx context.Context, ids []string) error
	// Allocations returns up to limit of the customer's allocations (of
	// feature, if not empty) after the key after, by AllocationKey.
	Allocations(ctx context.Context, customerID, feature, after string, limit int) ([]Allocation, error)
	// AddFeed queues events for metering.
	AddFeed(ctx context.Context, events []FeedEvent) error
	// DueFeed returns up to limit queued events due at now, oldest first.
	DueFeed(ctx context.Context, now time.Time, limit int) ([]FeedEvent, error)
	// DeleteFeed removes sent events.
	DeleteFeed(ctx context.Context, ids []string) error
	// DeferFeed counts a failed send of an event and makes it due at next.
	DeferFeed(ctx context.Context, id string, next time.Time, reason string) error
}

// AllocationLive is the part of Live for deallocations and operators.
type AllocationLive interface {
	// Deallocate lowers the feature's used by quantity, at most to 0, once
	// per id.
	Deallocate(ctx context.Context, customerID, id, feature string, quantity Units, now time.Time) (Outcome, error)
	// Reset deletes the customer's keys (the rebuild lock excepted), as a
	// flush of the customer would.
	Reset(ctx context.Context, customerID string) error
}

// Metering is the metering service, to which gauge levels are reported.
type Metering interface {
	// FedMeters returns, by feature, the key of each meter fed by quota.
	FedMeters(ctx context.Context) (map[string]string, error)
	// Report ingests the events into the meters named by meterOf, with
	// source "quota", and returns per event nil when it is stored (now or
	// before) or why metering rejected it. The error is for the call: the
	// service is down, say.
	Report(ctx context.Context, events []FeedEvent, meterOf map[string]string) ([]error, error)
}

// AllocationKey is the order of allocations in lists: by reservation (ids
// are time-ordered), then feature.
func AllocationKey(a Allocation) string { return a.ReservationID + "\x00" + a.Feature }

// allocate records a committed reservation's allocations and queues each
// subject's new level for metering, in the caller's transaction.
func (s *Service) allocate(ctx context.Context, r Reservation, subjects []string, now time.Time) error {
	if err := s.store.AddAllocations(ctx, r, subjects, now); err != nil {
		return err
	}
	feed := make([]FeedEvent, len(r.Items))
	for i, it := range r.Items {
		level, err := s.store.Level(ctx, r.CustomerID, it.Feature, subjects[i])
		if err != nil {
			return err
		}
		feed[i] = FeedEvent{ID: "quota-commit-" + r.ID + "-" + it.Feature, CustomerID: r.CustomerID, Feature: it.Feature,
			Subject: subjects[i], Level: level, Time: now}
	}
	return s.store.AddFeed(ctx, feed)
}

// DeallocateInput removes a subject's allocations of a feature.
type DeallocateInput struct {
	CustomerID string
	Feature    string
	Subject    string
	// Key, if set, makes a retry answer the same deallocation.
	Key string
}

// Validate checks the input.
func (in DeallocateInput) Validate() error {
	var v errs.Violations
	checkCustomer(&v, in.CustomerID)
	checkID(&v, "feature_key", in.Feature)
	checkSubject(&v, "subject", in.Subject)
	if len(in.Key) > maxID {
		v.Add("idempotency_key", "at most %d bytes", maxID)
	}
	return v.Err()
}

// Deallocate removes a subject's allocations of a feature (the site was
// deleted): first in the database (the allocations deleted, the
// deallocation and the subject's level 0 for metering recorded, in one
// transaction), then in Redis, where a script lowers used once per
// deallocation. A subject without allocations of the feature is NotFound;
// a retry with the same key answers the first deallocation, completing its
// script if it did not run.
func (s *Service) Deallocate(ctx context.Context, in DeallocateInput) (Deallocation, error) {
	if err := in.Validate(); err != nil {
		return Deallocation{}, err
	}
	var d Deallocation
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if in.Key != "" {
			prev, found, err := s.store.DeallocationByKey(ctx, in.CustomerID, in.Key)
			if err != nil {
				return err
			}
			if found {
				if prev.Feature != in.Feature || prev.Subject != in.Subject {
					return errs.New(errs.FailedPrecondition, "idempotency key %q was used to deallocate another subject", in.Key)
				}
				d = prev
				return nil
			}
		}
		now := s.clock.Now()
		allocs, err := s.store.RemoveAllocations(ctx, in.CustomerID, in.Feature, in.Subject)
		if err != nil {
			return err
		}
		if len(allocs) == 0 {
			return errs.New(errs.NotFound, "subject %q has no allocation of %q", errs.Short(in.Subject), errs.Short(in.Feature))
		}
		d = Deallocation{ID: ids.New("dea"), CustomerID: in.CustomerID, Feature: in.Feature, Subject: in.Subject, Key: in.Key,
			Allocations: allocs, CreateTime: now}
		if err := s.store.AddDeallocation(ctx, d); err != nil {
			if errors.Is(err, ErrDuplicateKey) {
				return errs.New(errs.Conflict, "a Deallocate with idempotency key %q is in progress; retry", in.Key)
			}
			return err
		}
		return s.store.AddFeed(ctx, []FeedEvent{{ID: "quota-dealloc-" + d.ID, CustomerID: d.CustomerID, Feature: d.Feature,
			Subject: d.Subject, Level: 0, Time: now}})
	})
	if err != nil {
		return Deallocation{}, err
	}
	if s.clock.Now().Sub(d.CreateTime) > deallocRetry {
		// An old retry: its script ran long ago, and Redis may have
		// forgotten its id.
		return d, nil
	}
	// Run on a retry too: the script counts each deallocation once.
	_, err = s.admit(ctx, d.CustomerID, func(now time.Time) (Outcome, error) {
		return s.live.Deallocate(ctx, d.CustomerID, d.ID, d.Feature, d.Quantity(), now)
	})
	return d, err
}

// ListAllocations returns a page of the customer's allocations, of one
// feature if feature is not empty.
func (s *Service) ListAllocations(ctx context.Context, customerID, feature string, p page.Request) (page.Page[Allocation], error) {
	var v errs.Violations
	checkCustomer(&v, customerID)
	if len(feature) > maxID {
		v.Add("feature_key", "at most %d bytes", maxID)
	}
	p.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[Allocation]{}, err
	}
	after, limit := p.Cursor()
	items, err := s.store.Allocations(ctx, customerID, feature, after, limit+1)
	if err != nil {
		return page.Page[Allocation]{}, err
	}
	return page.New(items, limit, AllocationKey), nil
}

// Loaded is what an operator's rebuild loaded into Redis.
type Loaded struct {
	// Used and Reserved are by feature, in feature order.
	Used, Reserved []Item
	// Live counts the live reservations.
	Live int
}

// Rebuild, for operators, drops the customer's keys in Redis and loads
// them again from the database now, through the same one-at-a-time
// rebuild as a call that finds them missing; the limits are asked again
// at the next call.
func (s *Service) Rebuild(ctx context.Context, customerID string) (Loaded, error) {
	if err := validateCustomerID(customerID); err != nil {
		return Loaded{}, err
	}
	if err := s.live.Reset(ctx, customerID); err != nil {
		return Loaded{}, err
	}
	snap, err := s.rebuildShared(ctx, customerID)
	if err != nil {
		return Loaded{}, err
	}
	if snap == nil {
		// Another call or process rebuilt the keys after the reset, from
		// the database as well: answer what the database holds now.
		got, err := s.store.Snapshot(ctx, customerID, s.clock.Now())
		if err != nil {
			return Loaded{}, err
		}
		snap = &got
	}
	reserved := map[string]Units{}
	for _, r := range snap.Live {
		for _, it := range r.Items {
			reserved[it.Feature] += it.Quantity
		}
	}
	return Loaded{Used: sortedItems(snap.Used), Reserved: sortedItems(reserved), Live: len(snap.Live)}, nil
}

func sortedItems(m map[string]Units) []Item {
	out := make([]Item, 0, len(m))
	for _, f := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Item{Feature: f, Quantity: m[f]})
	}
	return out
}

// settleDeallocations runs the deallocate script of every deallocation
// made before before and not yet settled, then marks them settled: one
// whose process died between its transaction and its script leaves Redis
// counting the quantity as used, which denies more than it should (never
// admits more) until this sweep or a rebuild. The script counts an id
// once, so a deallocation whose script ran adds nothing. One older than
// deallocRetry is only marked, as a retry would be.
func (s *Service) settleDeallocations(ctx context.Context, before time.Time) error {
	for {
		due, err := s.store.UnsettledDeallocations(ctx, before, settleBatch)
		if err != nil || len(due) == 0 {
			return err
		}
		ids := make([]string, len(due))
		for i, d := range due {
			ids[i] = d.ID
			if s.clock.Now().Sub(d.CreateTime) > deallocRetry {
				continue
			}
			if _, err := s.admit(ctx, d.CustomerID, func(now time.Time) (Outcome, error) {
				return s.live.Deallocate(ctx, d.CustomerID, d.ID, d.Feature, d.Quantity(), now)
			}); err != nil {
				return err
			}
		}
		if err := s.store.MarkDeallocationsSettled(ctx, ids); err != nil {
			return err
		}
		if len(due) < settleBatch {
			return nil
		}
	}
}

// deallocRetry is how old a deallocation may be for a retry to run its
// script again: well within the time Redis remembers its id (48 h) and a
// rebuild lists it as done (25 h).
const deallocRetry = 12 * time.Hour

// Tuning of the feed to metering.
const (
	// feedBatch is the most events one round sends.
	feedBatch = 500
	// feedMaxBackoff bounds the wait before an event metering rejected is
	// sent again, and between rounds while metering is down.
	feedMaxBackoff = time.Hour
	// feedDownMaxBackoff bounds the wait between rounds while metering
	// cannot be reached.
	feedDownMaxBackoff = time.Minute
)

// FeedOnce sends the due events to metering and returns how many it
// handled. Events of features without a meter fed by quota are dropped:
// nothing reads them. Events metering rejects are sent again later, after
// a backoff that doubles up to an hour. An error (metering down) leaves
// every event queued.
func (s *Service) FeedOnce(ctx context.Context, m Metering) (int, error) {
	now := s.clock.Now()
	due, err := s.store.DueFeed(ctx, now, feedBatch)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	meters, err := m.FedMeters(ctx)
	if err != nil {
		return 0, err
	}
	var send []FeedEvent
	var drop []string
	for _, e := range due {
		if _, ok := meters[e.Feature]; ok {
			send = append(send, e)
		} else {
			drop = append(drop, e.ID)
		}
	}
	if len(send) > 0 {
		rejected, err := m.Report(ctx, send, meters)
		if err != nil {
			return 0, err
		}
		for i, e := range send {
			if rejected[i] == nil {
				drop = append(drop, e.ID)
				continue
			}
			wait := min(time.Second<<min(e.Attempts, 12), feedMaxBackoff)
			s.log.ErrorContext(ctx, "quota: metering rejected a gauge level; will send it again", "event", e.ID,
				"customer_id", e.CustomerID, "attempts", e.Attempts+1, "retry_in", wait, "error", rejected[i])
			if err := s.store.DeferFeed(ctx, e.ID, now.Add(wait), rejected[i].Error()); err != nil {
				return 0, err
			}
		}
	}
	return len(due), s.store.DeleteFeed(ctx, drop)
}

// FeedWorker sends gauge levels to metering until ctx ends: every poll
// when idle, at once while there is more, and after a backoff that doubles
// up to a minute while metering fails, so an outage only delays the feed.
func (s *Service) FeedWorker(m Metering, poll time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		var backoff time.Duration
		for {
			n, err := s.FeedOnce(ctx, m)
			wait := poll
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				backoff = min(max(2*backoff, time.Second), feedDownMaxBackoff)
				wait = backoff
				s.log.WarnContext(ctx, "quota: reporting gauge levels to metering failed; will retry", "retry_in", wait, "error", err)
			case n == feedBatch:
				backoff, wait = 0, 0
			default:
				backoff = 0
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
}
