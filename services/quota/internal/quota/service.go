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
	// asked again from the subscription service.
	Freshness = time.Second
	// pendingTakeover is how old a pending reservation must be before a
	// retry with its request id takes it for abandoned.
	pendingTakeover = 10 * time.Second
	// rebuildLock is how long a rebuild lock holds.
	rebuildLock = 10 * time.Second
	// rebuildWait is how long a call waits for another's rebuild.
	rebuildWait = 15 * time.Second
	// attempts bounds the refresh and rebuild rounds of one call.
	attempts = 4
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
}

// NewService returns the service.
func NewService(store Store, live Live, ents Entitlements, features Features, c clock.Clock, log *slog.Logger) *Service {
	return &Service{store: store, live: live, ents: ents, features: features, clock: c, log: log}
}

// checkFeatures refuses features the catalog does not know and features
// that are not gauges, naming the item.
func (s *Service) checkFeatures(ctx context.Context, items []Item) error {
	var v errs.Violations
	for i, it := range items {
		gauge, err := s.features.IsGauge(ctx, it.Feature)
		switch {
		case errors.Is(err, ErrUnknownFeature):
			v.Add(fmt.Sprintf("items[%d].feature_key", i), "unknown feature %q", it.Feature)
		case err != nil:
			return err
		case !gauge:
			v.Add(fmt.Sprintf("items[%d].feature_key", i), "feature %q is not a gauge; only gauge features are admitted", it.Feature)
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
			l, err := s.ents.Limits(ctx, customerID)
			if err != nil {
				return out, err
			}
			if err := s.live.SetLimits(ctx, customerID, l, now); err != nil {
				return out, err
			}
		case Rebuild:
			if err := s.rebuild(ctx, customerID); err != nil {
				return out, err
			}
		default:
			return out, nil
		}
	}
	return 0, fmt.Errorf("quota: customer %s: no answer after %d rounds of refresh and rebuild", customerID, attempts)
}

// rebuild loads the customer's keys into Redis from the database, once
// per customer at a time: one call in this process (singleflight), and a
// lock in Redis across processes. A caller that finds another rebuilding
// waits for it, at most rebuildWait.
func (s *Service) rebuild(ctx context.Context, customerID string) error {
	_, err, _ := s.rebuilds.Do(customerID, func() (any, error) {
		return nil, s.rebuildOnce(context.WithoutCancel(ctx), customerID)
	})
	return err
}

// rebuildOnce rebuilds the customer's keys unless they are present, or
// waits for another process's rebuild.
func (s *Service) rebuildOnce(ctx context.Context, customerID string) error {
	deadline := time.Now().Add(rebuildWait)
	for {
		ready, err := s.live.Ready(ctx, customerID)
		if err != nil || ready {
			return err
		}
		token := ids.New("rb")
		ok, err := s.live.Lock(ctx, customerID, token, rebuildLock)
		if err != nil {
			return err
		}
		if ok {
			snap, err := s.store.Snapshot(ctx, customerID, s.clock.Now())
			if err != nil {
				return err
			}
			if err := s.live.Rebuild(ctx, customerID, token, snap, s.clock.Now()); err != nil {
				return err
			}
			s.log.InfoContext(ctx, "quota: rebuilt the customer's keys in Redis", "customer_id", customerID,
				"live_reservations", len(snap.Live))
			return nil
		}
		if time.Now().After(deadline) {
			return &errs.Error{Kind: errs.Unavailable, Message: "the customer's quota is being rebuilt; retry later",
				Err: fmt.Errorf("quota: customer %s: another rebuild did not finish in %s", customerID, rebuildWait)}
		}
		// Another process rebuilds: wait for it, as long as the caller does.
		select {
		case <-ctx.Done():
			return ctx.Err()
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
	if err := s.checkFeatures(ctx, items); err != nil {
		return Result{}, err
	}
	var res Result
	_, err = s.admit(ctx, in.CustomerID, func(now time.Time) (o Outcome, err error) {
		res, o, err = s.live.Check(ctx, in.CustomerID, items, now)
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
	if err := s.checkFeatures(ctx, items); err != nil {
		return Result{}, Reservation{}, err
	}
	now := s.clock.Now()
	r := Reservation{ID: ids.New("res"), CustomerID: in.CustomerID, RequestID: in.RequestID, Items: items,
		Status: StatusPending, ExpireTime: now.Add(ttl), CreateTime: now, UpdateTime: now}
	// The intent is written first, and a reservation already made with the
	// request id is looked up only when the insert finds one: a retry is
	// rare, so the usual Reserve costs one write and no read.
	for attempt := 0; ; attempt++ {
		err := s.store.AddIntent(ctx, r)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrDuplicateRequest) {
			return Result{}, Reservation{}, err
		}
		prev, found, err := s.store.ByRequest(ctx, in.CustomerID, in.RequestID)
		if err != nil {
			return Result{}, Reservation{}, err
		}
		switch {
		case found && prev.Status != StatusPending:
			prev.Status = prev.Effective(now)
			return Result{Allowed: true}, prev, nil
		case attempt > 0 || found && now.Sub(prev.CreateTime) < pendingTakeover:
			return Result{}, Reservation{}, errs.New(errs.Conflict, "a Reserve with request id %q is in progress; retry", in.RequestID)
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

// Commit turns a reservation into allocations of a subject: first in the
// database (the reservation committed and the allocations, in one
// transaction), then in Redis (held moves to used). A commit after expiry
// still records the allocations; a committed reservation is answered as
// it is; a released one is refused.
func (s *Service) Commit(ctx context.Context, in CommitInput) (Reservation, error) {
	if err := in.Validate(); err != nil {
		return Reservation{}, err
	}
	var r Reservation
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if r, err = s.store.Reservation(ctx, in.ReservationID); err != nil {
			return err
		}
		ok, err := s.store.SetStatus(ctx, r.ID, []Status{StatusHeld, StatusExpired}, StatusCommitted, in.Subject, s.clock.Now())
		if err != nil || !ok {
			return err
		}
		return s.store.AddAllocations(ctx, r, in.Subject, s.clock.Now())
	})
	if err != nil {
		return Reservation{}, err
	}
	switch r.Status {
	case StatusHeld, StatusExpired:
		r.Status, r.Subject = StatusCommitted, in.Subject
	case StatusCommitted:
		if r.Subject != in.Subject {
			return Reservation{}, errs.New(errs.FailedPrecondition, "reservation %s is committed to another subject", r.ID)
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
		_, err = s.store.SetStatus(ctx, id, []Status{StatusHeld, StatusExpired}, StatusReleased, "", s.clock.Now())
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

// Status returns every gauge feature the customer is entitled to with its
// limit, use and holds, from limits asked now.
func (s *Service) Status(ctx context.Context, customerID string) (bool, []ItemResult, error) {
	if err := validateCustomerID(customerID); err != nil {
		return false, nil, err
	}
	l, err := s.ents.Limits(ctx, customerID)
	if err != nil {
		return false, nil, err
	}
	if err := s.live.SetLimits(ctx, customerID, l, s.clock.Now()); err != nil {
		return false, nil, err
	}
	var items []Item
	for f := range l.ByFeature {
		gauge, err := s.features.IsGauge(ctx, f)
		if err != nil && !errors.Is(err, ErrUnknownFeature) {
			return false, nil, err
		}
		if gauge {
			items = append(items, Item{Feature: f})
		}
	}
	if len(items) == 0 {
		return l.HasPlan, nil, nil
	}
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.Feature, b.Feature) })
	var res Result
	_, err = s.admit(ctx, customerID, func(now time.Time) (o Outcome, err error) {
		res, o, err = s.live.Check(ctx, customerID, items, now)
		return o, err
	})
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

// ExpiryWorker marks reservations past their expiry as expired in the
// database every interval until ctx ends. Redis drops them by itself.
func (s *Service) ExpiryWorker(interval time.Duration) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			if n, err := s.store.ExpireDue(ctx, s.clock.Now()); err != nil {
				s.log.ErrorContext(ctx, "quota: expire reservations", "error", err)
			} else if n > 0 {
				s.log.InfoContext(ctx, "quota: reservations expired", "count", n)
			}
		}
	}
}
