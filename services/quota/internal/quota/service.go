package quota

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
)

// Tuning of the service.
const (
	// Freshness is how old the limits in Redis may be before they are
	// asked again from the subscription service: a change the service
	// missed the event of is seen this long after it at the latest.
	Freshness = time.Second
	// pendingTakeover is how old a pending reservation must be before a
	// retry with its idempotency key takes it for abandoned.
	pendingTakeover = 10 * time.Second
	// rebuildLock is how long a rebuild lock holds.
	rebuildLock = 10 * time.Second
	// refreshWait bounds a shared refresh of a customer's limits.
	refreshWait = 10 * time.Second
	// rebuildWait is how long a call waits for another's rebuild.
	rebuildWait = 15 * time.Second
	// attempts bounds the rounds of one call: a first call for a customer
	// may need a refresh, a refresh again (an invalidation landed while
	// the first read, so it was not written), a rebuild and a load of its
	// counters before its script answers.
	attempts = 8
)

// Service is the quota domain.
type Service struct {
	store    Store
	live     Live
	ents     Entitlements
	features Features
	clock    clock.Clock
	log      *slog.Logger
	// rebuilds runs one rebuild per customer at a time in this process;
	// concurrent callers wait for it and share its result.
	rebuilds singleflight.Group
	// refreshes asks a customer's limits once at a time in this process:
	// when they go stale, every concurrent call of the customer finds them
	// stale at once, and one peer call serves them all.
	refreshes singleflight.Group
	// counters is what counter features need; nil until EnableCounters,
	// and counters are then refused like unknown kinds.
	counters *counters
}

// NewService returns the service.
func NewService(store Store, live Live, ents Entitlements, features Features, c clock.Clock, log *slog.Logger) *Service {
	return &Service{store: store, live: live, ents: ents, features: features, clock: c, log: log}
}

// checkFeatures refuses features the catalog does not know, naming the
// item, and counter features unless counters are allowed (CheckQuota with
// counters enabled): a counter's use is what metering counted, so it
// cannot be held ahead of use.
func (s *Service) checkFeatures(ctx context.Context, items []Item, counters bool) error {
	var v errs.Violations
	for i, it := range items {
		gauge, err := s.features.IsGauge(ctx, it.Feature)
		switch {
		case errors.Is(err, ErrUnknownFeature):
			v.Add(fmt.Sprintf("items[%d].feature_key", i), "unknown feature %q", it.Feature)
		case err != nil:
			return err
		case !gauge && s.counters == nil:
			v.Add(fmt.Sprintf("items[%d].feature_key", i), "feature %q is not a gauge; only gauge features are admitted", it.Feature)
		case !gauge && !counters:
			v.Add(fmt.Sprintf("items[%d].feature_key", i), "feature %q is a counter: its use is counted by metering and cannot be reserved, only checked", it.Feature)
		}
	}
	return v.Err()
}

// admit runs script until it answers, refreshing the limits when it
// reports them stale and rebuilding the customer's keys when it reports
// them missing. The peer call happens between scripts, never inside one
// or inside a transaction.
func (s *Service) admit(ctx context.Context, customerID string, script func(now time.Time) (Outcome, error)) (Outcome, error) {
	for range attempts {
		now := s.clock.Now()
		out, err := script(now)
		if err != nil {
			return out, err
		}
		switch out {
		case Stale:
			if err := s.refreshShared(ctx, customerID, now); err != nil {
				return out, err
			}
		case Rebuild:
			if err := s.rebuild(ctx, customerID); err != nil {
				return out, err
			}
		case Load:
			// The script's caller loaded the counters; run it again.
		default:
			return out, nil
		}
	}
	return 0, fmt.Errorf("quota: customer %s: no answer after %d rounds of refresh and rebuild", customerID, attempts)
}

// refreshShared refreshes the customer's limits, sharing a refresh in
// flight. A refresh that read before an invalidation writes nothing (its
// version moved), so a caller that joined it finds the limits stale again
// and refreshes anew. The shared call does not end with the caller that
// started it, but it is bounded by refreshWait.
func (s *Service) refreshShared(ctx context.Context, customerID string, now time.Time) error {
	_, err, _ := s.refreshes.Do(customerID, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshWait)
		defer cancel()
		_, err := s.refresh(ctx, customerID, now)
		return nil, err
	})
	return err
}

// rebuild loads the customer's keys into Redis from the database, once
// per customer at a time: one call in this process (singleflight), and a
// lock in Redis across processes. A caller that finds another rebuilding
// waits for it, at most rebuildWait.
func (s *Service) rebuild(ctx context.Context, customerID string) error {
	_, err := s.rebuildShared(ctx, customerID)
	return err
}

// rebuildShared is rebuild that also returns what this process loaded,
// or nil when the keys were present or another process loaded them.
func (s *Service) rebuildShared(ctx context.Context, customerID string) (*Snapshot, error) {
	v, err, _ := s.rebuilds.Do(customerID, func() (any, error) {
		return s.rebuildOnce(context.WithoutCancel(ctx), customerID)
	})
	snap, _ := v.(*Snapshot)
	return snap, err
}

// rebuildOnce rebuilds the customer's keys unless they are present, or
// waits for another process's rebuild.
func (s *Service) rebuildOnce(ctx context.Context, customerID string) (*Snapshot, error) {
	deadline := time.Now().Add(rebuildWait)
	for {
		ready, err := s.live.Ready(ctx, customerID)
		if err != nil || ready {
			return nil, err
		}
		token := ids.New("rb")
		ok, err := s.live.Lock(ctx, customerID, token, rebuildLock)
		if err != nil {
			return nil, err
		}
		if ok {
			snap, err := s.store.Snapshot(ctx, customerID, s.clock.Now())
			if err != nil {
				return nil, err
			}
			if err := s.live.Rebuild(ctx, customerID, token, snap, s.clock.Now()); err != nil {
				return nil, err
			}
			s.log.InfoContext(ctx, "quota: rebuilt the customer's keys in Redis", "customer_id", customerID,
				"live_reservations", len(snap.Live))
			return &snap, nil
		}
		if time.Now().After(deadline) {
			return nil, &errs.Error{Kind: errs.Unavailable, Message: "the customer's quota is being rebuilt; retry later",
				Err: fmt.Errorf("quota: customer %s: another rebuild did not finish in %s", customerID, rebuildWait)}
		}
		// Another process rebuilds: wait for it, as long as the caller does.
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Check answers whether the items would be admitted now.
func (s *Service) Check(ctx context.Context, in CheckInput) (Result, error) {
	items, err := in.Validate()
	if err != nil {
		return Result{}, err
	}
	if err := s.checkFeatures(ctx, items, true); err != nil {
		return Result{}, err
	}
	return s.check(ctx, in.CustomerID, items)
}

// check runs the check script until it answers, loading the counters it
// reports missing from metering between two runs.
func (s *Service) check(ctx context.Context, customerID string, items []Item) (Result, error) {
	var res Result
	_, err := s.admit(ctx, customerID, func(now time.Time) (o Outcome, err error) {
		res, o, err = s.live.Check(ctx, customerID, items, now)
		if err == nil && o == Load {
			err = s.loadCounters(ctx, customerID, res.Load, now)
		}
		return o, err
	})
	return res, err
}

// Reserve holds the items if all are admitted. The reservation is written
// to the database as a pending intent before Redis admits it, so that a
// rebuild at any instant counts it; a denial deletes the intent and is
// answered as data, with nothing held.
func (s *Service) Reserve(ctx context.Context, in ReserveInput) (Result, Reservation, error) {
	items, ttl, err := in.Validate()
	if err != nil {
		return Result{}, Reservation{}, err
	}
	if err := s.checkFeatures(ctx, items, false); err != nil {
		return Result{}, Reservation{}, err
	}
	now := s.clock.Now()
	r := Reservation{ID: ids.New("res"), CustomerID: in.CustomerID, Key: in.Key, Items: items,
		Status: StatusPending, ExpireTime: now.Add(ttl), CreateTime: now, UpdateTime: now}
	// The intent is written first, and a reservation already made with the
	// idempotency key is looked up only when the insert finds one: a retry is
	// rare, so the usual Reserve costs one write and no read.
	for attempt := 0; ; attempt++ {
		err := s.store.AddIntent(ctx, r)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrDuplicateKey) {
			return Result{}, Reservation{}, err
		}
		prev, found, err := s.store.ByKey(ctx, in.CustomerID, in.Key)
		if err != nil {
			return Result{}, Reservation{}, err
		}
		switch {
		case found && prev.Status != StatusPending:
			prev.Status = prev.Effective(now)
			return Result{Allowed: true}, prev, nil
		case attempt > 0 || found && now.Sub(prev.CreateTime) < pendingTakeover:
			return Result{}, Reservation{}, errs.New(errs.Conflict, "a Reserve with idempotency key %q is in progress; retry", in.Key)
		case found:
			// Abandoned by a caller that died.
			if err := s.forget(ctx, prev); err != nil {
				return Result{}, Reservation{}, err
			}
		}
	}
	var res Result
	out, err := s.admit(ctx, in.CustomerID, func(now time.Time) (o Outcome, err error) {
		res, o, err = s.live.Reserve(ctx, in.CustomerID, r.ID, items, r.ExpireTime, now)
		return o, err
	})
	if err != nil || out == Finished || !res.Allowed && out != Held {
		// Nothing is held for an intent that was denied or never
		// answered: the intent goes first, then whatever Redis holds for
		// it (a pending entry a rebuild loaded from the intent, or a hold
		// whose reply was lost).
		if derr := s.forget(context.WithoutCancel(ctx), r); derr != nil && err == nil {
			err = derr
		}
		return res, Reservation{}, err
	}
	held, err := s.store.MarkHeld(ctx, r.ID, s.clock.Now())
	if err != nil {
		return Result{}, Reservation{}, err
	}
	if !held {
		return Result{}, Reservation{}, errs.New(errs.Conflict, "reservation %s changed while it was made; retry", r.ID)
	}
	r.Status = StatusHeld
	res.Allowed = true
	return res, r, nil
}

// forget deletes an unanswered intent, then its entry in Redis.
func (s *Service) forget(ctx context.Context, r Reservation) error {
	if err := s.store.DeletePending(ctx, r.ID); err != nil {
		return err
	}
	_, err := s.admit(ctx, r.CustomerID, func(time.Time) (Outcome, error) { return s.live.Drop(ctx, r.CustomerID, r.ID) })
	return err
}

// Commit turns a reservation into allocations of subjects: first in the
// database (the reservation committed, its allocations and their reports
// to metering, in one transaction), then in Redis (held moves to used). A
// commit after expiry still records the allocations; a committed
// reservation is answered as it is if the subjects are the same; a
// released one is refused.
func (s *Service) Commit(ctx context.Context, in CommitInput) (Reservation, error) {
	if err := in.Validate(); err != nil {
		return Reservation{}, err
	}
	var r Reservation
	var subjects []string
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if r, err = s.store.Reservation(ctx, in.ReservationID); err != nil {
			return err
		}
		if subjects, err = subjectsOf(r, in.Subjects); err != nil {
			return err
		}
		now := s.clock.Now()
		ok, err := s.store.SetStatus(ctx, r.ID, []Status{StatusHeld, StatusExpired}, StatusCommitted, subjects, now)
		if err != nil {
			return err
		}
		if !ok {
			// Another call changed it since it was read: answer by what
			// it is now.
			r, err = s.store.Reservation(ctx, r.ID)
			return err
		}
		return s.allocate(ctx, r, subjects, now)
	})
	if err != nil {
		return Reservation{}, err
	}
	switch r.Status {
	case StatusHeld, StatusExpired:
		r.Status, r.Subjects = StatusCommitted, subjects
	case StatusCommitted:
		if !slices.Equal(r.Subjects, subjects) {
			return Reservation{}, errs.New(errs.FailedPrecondition, "reservation %s is committed to other subjects", r.ID)
		}
	case StatusReleased:
		return Reservation{}, errs.New(errs.FailedPrecondition, "reservation %s is released", r.ID)
	default:
		return Reservation{}, errs.New(errs.FailedPrecondition, "reservation %s is not held", r.ID)
	}
	// Run again on a retry too: the script counts each id once, so a
	// commit whose script did not run after its transaction is completed.
	_, err = s.admit(ctx, r.CustomerID, func(now time.Time) (Outcome, error) {
		return s.live.Commit(ctx, r.CustomerID, r.ID, r.Items, now)
	})
	return r, err
}

// Release gives a reservation's held quantities back: first in the
// database, then in Redis. Releasing again answers the same; a committed
// reservation is refused.
func (s *Service) Release(ctx context.Context, id string) (Reservation, error) {
	if err := validateReservationID(id); err != nil {
		return Reservation{}, err
	}
	var r Reservation
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if r, err = s.store.Reservation(ctx, id); err != nil {
			return err
		}
		ok, err := s.store.SetStatus(ctx, id, []Status{StatusHeld, StatusExpired}, StatusReleased, nil, s.clock.Now())
		if err == nil && !ok {
			r, err = s.store.Reservation(ctx, id)
		}
		return err
	})
	if err != nil {
		return Reservation{}, err
	}
	switch r.Status {
	case StatusHeld, StatusExpired, StatusReleased:
		r.Status = StatusReleased
	case StatusCommitted:
		return Reservation{}, errs.New(errs.FailedPrecondition, "reservation %s is committed", r.ID)
	default:
		return Reservation{}, errs.New(errs.FailedPrecondition, "reservation %s is not held", r.ID)
	}
	_, err = s.admit(ctx, r.CustomerID, func(now time.Time) (Outcome, error) {
		return s.live.Release(ctx, r.CustomerID, r.ID, now)
	})
	return r, err
}

// Status returns every feature the customer is entitled to with its
// limit, use and holds (counters only when counters are enabled), from
// limits asked now.
func (s *Service) Status(ctx context.Context, customerID string) (bool, []ItemResult, error) {
	if err := validateCustomerID(customerID); err != nil {
		return false, nil, err
	}
	l, err := s.refresh(ctx, customerID, s.clock.Now())
	if err != nil {
		return false, nil, err
	}
	var items []Item
	for f := range l.ByFeature {
		gauge, err := s.features.IsGauge(ctx, f)
		if errors.Is(err, ErrUnknownFeature) {
			continue
		}
		if err != nil {
			return false, nil, err
		}
		if gauge || s.counters != nil {
			items = append(items, Item{Feature: f})
		}
	}
	if len(items) == 0 {
		return l.HasPlan, nil, nil
	}
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.Feature, b.Feature) })
	res, err := s.check(ctx, customerID, items)
	return l.HasPlan, res.Items, err
}

// Get returns a reservation with its status at now.
func (s *Service) Get(ctx context.Context, id string) (Reservation, error) {
	if err := validateReservationID(id); err != nil {
		return Reservation{}, err
	}
	r, err := s.store.Reservation(ctx, id)
	r.Status = r.Effective(s.clock.Now())
	return r, err
}

// TopicSubscriptionChanged is the bus topic on which the subscription
// service announces each recorded or withdrawn change, keyed by customer
// id.
const TopicSubscriptionChanged = "subscription.changed"

// LimitsChanged makes the next call for the customer ask its limits again,
// at once rather than after the freshness: the handler of
// subscription.changed events. Repeats do no harm.
func (s *Service) LimitsChanged(ctx context.Context, customerID string) error {
	if customerID == "" {
		return nil
	}
	return s.live.Invalidate(ctx, customerID)
}

// DoneKeep is how long Redis remembers committed and released ids, so
// that a late or repeated commit or release script counts nothing twice.
const DoneKeep = 48 * time.Hour

// ExpiryWorker runs Sweep every interval until ctx ends.
func (s *Service) ExpiryWorker(interval time.Duration) func(ctx context.Context) error {
	return s.every("sweep", interval, func(ctx context.Context) error { return s.Sweep(ctx, interval) })
}

// every returns a worker that runs fn every interval until ctx ends,
// logging what fails: the next round tries again.
func (s *Service) every(name string, interval time.Duration, fn func(ctx context.Context) error) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "quota: "+name, "error", err)
			}
		}
	}
}

// settleBatch bounds the unsettled commits one sweep round reads.
const settleBatch = 500

// Sweep marks reservations past their expiry as expired in the database
// (Redis drops them by itself), settles deallocations (see
// settleDeallocations) and settles commits: a commit whose
// process died between its transaction and its script leaves the
// quantity held in Redis, and when the hold expires Redis would count
// neither hold nor allocation. So every committed reservation that expires
// before the next sweep but one (interval is the time between sweeps) has
// its commit script run, which counts an id once, and is then marked
// settled. A commit older than DoneKeep is only marked, since Redis has
// forgotten whether its script ran; a rebuild counts it from the
// allocations.
func (s *Service) Sweep(ctx context.Context, interval time.Duration) error {
	now := s.clock.Now()
	if n, err := s.store.ExpireDue(ctx, now); err != nil {
		return err
	} else if n > 0 {
		s.log.InfoContext(ctx, "quota: reservations expired", "count", n)
	}
	// A deallocation's own call runs its script right after its
	// transaction; one older than an interval whose script did not run
	// is run here.
	if err := s.settleDeallocations(ctx, now.Add(-interval)); err != nil {
		return err
	}
	for {
		due, err := s.store.Unsettled(ctx, now.Add(2*interval), settleBatch)
		if err != nil || len(due) == 0 {
			return err
		}
		ids := make([]string, len(due))
		for i, r := range due {
			ids[i] = r.ID
			if now.Sub(r.UpdateTime) >= DoneKeep {
				continue
			}
			if _, err := s.admit(ctx, r.CustomerID, func(now time.Time) (Outcome, error) {
				return s.live.Commit(ctx, r.CustomerID, r.ID, r.Items, now)
			}); err != nil {
				return err
			}
		}
		if err := s.store.MarkSettled(ctx, ids); err != nil {
			return err
		}
		if len(due) < settleBatch {
			return nil
		}
	}
}
