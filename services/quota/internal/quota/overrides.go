package quota

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/textcheck"
)

// maxReason bounds an override's reason, in bytes.
const maxReason = 1024

// Override is a one-off top-up of a customer's limit of one feature, on
// top of what its plans grant.
type Override struct {
	ID         string
	CustomerID string
	Feature    string
	// Extra is added to the feature's limit.
	Extra Units
	// ExpireTime is the instant it stops counting (it counts before it);
	// zero: until deleted.
	ExpireTime time.Time
	Reason     string
	// IdempotencyKey, if set, names the override among the customer's.
	IdempotencyKey string
	CreateTime     time.Time
	// DeleteTime is when it was deleted; zero while it is not.
	DeleteTime time.Time
}

// ErrDuplicateOverride is returned by OverrideStore.AddOverride when the
// customer already has an override with the idempotency key.
var ErrDuplicateOverride = errors.New("quota: duplicate override idempotency key")

// OverrideStore keeps the overrides, a part of Store. Each method runs in
// the transaction of ctx if any, otherwise on its own.
type OverrideStore interface {
	// AddOverride stores an override, or returns ErrDuplicateOverride.
	AddOverride(ctx context.Context, o Override) error
	// OverrideByKey returns the customer's override set with an
	// idempotency key, deleted or not.
	OverrideByKey(ctx context.Context, customerID, key string) (Override, bool, error)
	// LiveOverrides returns the customer's overrides that count at now.
	LiveOverrides(ctx context.Context, customerID string, now time.Time) ([]Override, error)
	// ListOverrides returns up to limit of the customer's overrides that
	// are not deleted, with ids after after, by id.
	ListOverrides(ctx context.Context, customerID, after string, limit int) ([]Override, error)
	// DeleteOverride marks the customer's override deleted at at, unless it
	// is already, and returns it; an errs.NotFound error if the customer
	// has no override with the id.
	DeleteOverride(ctx context.Context, customerID, id string, at time.Time) (Override, error)
}

// OverrideInput sets an override.
type OverrideInput struct {
	CustomerID string
	Feature    string
	Extra      string
	// ExpireTime is zero for an override that lasts until deleted.
	ExpireTime     time.Time
	Reason         string
	IdempotencyKey string
}

// Validate checks the input at now and returns the override it sets,
// without id. The expiry is kept to the millisecond, the precision Redis
// compares times with, so that the override stops counting exactly then.
func (in OverrideInput) Validate(now time.Time) (Override, error) {
	var v errs.Violations
	checkCustomer(&v, in.CustomerID)
	checkID(&v, "feature_key", in.Feature)
	extra, err := parseQuantity(in.Extra)
	if err != nil {
		v.Add("extra", "%s", err)
	}
	exp := in.ExpireTime.UTC().Truncate(time.Millisecond)
	switch {
	case in.ExpireTime.IsZero():
		exp = time.Time{}
	case !exp.After(now):
		v.Add("expire_time", "must be in the future")
	case !exp.Before(textcheck.MaxTime):
		v.Add("expire_time", "must be before %s", textcheck.MaxTime.Format(time.DateOnly))
	}
	if len(in.Reason) > maxReason {
		v.Add("reason", "at most %d bytes", maxReason)
	}
	if len(in.IdempotencyKey) > maxID {
		v.Add("idempotency_key", "at most %d bytes", maxID)
	}
	return Override{CustomerID: in.CustomerID, Feature: in.Feature, Extra: extra, ExpireTime: exp, Reason: in.Reason,
		IdempotencyKey: in.IdempotencyKey, CreateTime: now}, v.Err()
}

// sameOverride reports whether two overrides set the same top-up: a retry
// with the idempotency key of a is answered with a only if so.
func sameOverride(a, b Override) bool {
	return a.Feature == b.Feature && a.Extra == b.Extra && a.ExpireTime.Equal(b.ExpireTime) && a.Reason == b.Reason
}

// SetOverride stores an override, then marks the customer's limits in
// Redis stale, so that every call after this one returns sees them with
// the override. The customer must exist (asked of the subscription
// service first, with no transaction open) and the feature too. A retry
// with the same idempotency key answers the first override and sets none.
func (s *Service) SetOverride(ctx context.Context, in OverrideInput) (Override, error) {
	now := s.clock.Now()
	o, err := in.Validate(now)
	if err != nil {
		return Override{}, err
	}
	if _, err := s.features.IsGauge(ctx, o.Feature); errors.Is(err, ErrUnknownFeature) {
		return Override{}, errs.Field("feature_key", "unknown feature %q", o.Feature)
	} else if err != nil {
		return Override{}, err
	}
	if _, err := s.ents.Limits(ctx, o.CustomerID, now); err != nil {
		return Override{}, err
	}
	o.ID = ids.New("ovr")
	err = s.store.InTx(ctx, func(ctx context.Context) error { return s.store.AddOverride(ctx, o) })
	if errors.Is(err, ErrDuplicateOverride) {
		prev, found, perr := s.store.OverrideByKey(ctx, o.CustomerID, o.IdempotencyKey)
		switch {
		case perr != nil:
			return Override{}, perr
		case !found:
			return Override{}, errs.New(errs.Conflict, "override with idempotency key %q changed meanwhile; retry", o.IdempotencyKey)
		case !sameOverride(prev, o):
			return Override{}, errs.New(errs.FailedPrecondition, "idempotency key %q was used for another override", o.IdempotencyKey)
		}
		// The first call may have stopped before it marked the limits:
		// the retry does it.
		o, err = prev, nil
	}
	if err != nil {
		return Override{}, err
	}
	return o, s.live.Invalidate(ctx, o.CustomerID)
}

// DeleteOverride ends an override at once: it is marked deleted, then the
// customer's limits in Redis are marked stale. Deleting it again answers
// the same.
func (s *Service) DeleteOverride(ctx context.Context, customerID, id string) (Override, error) {
	var v errs.Violations
	checkCustomer(&v, customerID)
	checkID(&v, "override_id", id)
	if err := v.Err(); err != nil {
		return Override{}, err
	}
	var o Override
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		o, err = s.store.DeleteOverride(ctx, customerID, id, s.clock.Now())
		return err
	})
	if err != nil {
		return Override{}, err
	}
	return o, s.live.Invalidate(ctx, customerID)
}

// ListOverrides returns one page of the customer's overrides that are not
// deleted, expired ones included, by id (the order they were set in). An
// unknown customer is errs.NotFound.
func (s *Service) ListOverrides(ctx context.Context, customerID string, pr page.Request) (page.Page[Override], error) {
	var v errs.Violations
	checkCustomer(&v, customerID)
	pr.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[Override]{}, err
	}
	if _, err := s.ents.Limits(ctx, customerID, s.clock.Now()); err != nil {
		return page.Page[Override]{}, err
	}
	after, limit := pr.Cursor()
	list, err := s.store.ListOverrides(ctx, customerID, after, limit+1)
	if err != nil {
		return page.Page[Override]{}, err
	}
	return page.New(list, limit, func(o Override) string { return o.ID }), nil
}

// withOverrides returns the limits l with the overrides added: each
// override's extra raises its feature's limit (a NONE policy stays
// unlimited); on a feature no plan grants, the overrides alone entitle
// the customer with a HARD limit of their sum. A customer without an
// active plan stays without one: an override tops a plan up, it is not a
// plan. The limits then hold at most until the earliest expiry.
func withOverrides(l Limits, ovs []Override) Limits {
	if len(ovs) == 0 {
		return l
	}
	out := l
	out.ByFeature = maps.Clone(l.ByFeature)
	if out.ByFeature == nil {
		out.ByFeature = map[string]Limit{}
	}
	for _, o := range ovs {
		lim, ok := out.ByFeature[o.Feature]
		if !ok {
			lim = Limit{Policy: PolicyHard}
		}
		// Both are at most MaxLimit, so the sum cannot overflow.
		lim.Limit = min(lim.Limit+o.Extra, MaxLimit)
		out.ByFeature[o.Feature] = lim
		if !o.ExpireTime.IsZero() && (out.ValidUntil.IsZero() || o.ExpireTime.Before(out.ValidUntil)) {
			out.ValidUntil = o.ExpireTime
		}
	}
	return out
}

// refresh asks the customer's limits at now (the plan's from the
// subscription service, the overrides from the database), and writes
// them to Redis unless they were marked stale meanwhile: the version is
// read first, so a SetOverride, DeleteOverride or subscription.changed
// that lands while this call reads cannot be overwritten by what it read
// before.
func (s *Service) refresh(ctx context.Context, customerID string, now time.Time) (Limits, error) {
	version, err := s.live.LimitsVersion(ctx, customerID)
	if err != nil {
		return Limits{}, err
	}
	l, err := s.ents.Limits(ctx, customerID, now)
	if err != nil {
		return Limits{}, err
	}
	ovs, err := s.store.LiveOverrides(ctx, customerID, now)
	if err != nil {
		return Limits{}, err
	}
	if l, err = s.withPeriods(ctx, customerID, withOverrides(l, ovs), now); err != nil {
		return Limits{}, err
	}
	return l, s.live.SetLimits(ctx, customerID, l, now, version)
}
