package subscription

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/page"
)

// BackdateTolerance is how far in the past a start or change may take
// effect without a backdate reason, to allow for clock skew and retries.
const BackdateTolerance = time.Minute

// Service is the subscription service's domain logic.
type Service struct {
	store   Store
	catalog Catalog
	clock   clock.Clock

	// versions caches plan version copies: published versions never change.
	versions sync.Map // VersionRef → PlanVersion

	// keyChanged is told of each expired or revoked key (OnKeyChange).
	keyChanged func(keyID string)
}

// NewService returns a service keeping its data in store, reading plans
// from catalog and telling time with clk.
func NewService(store Store, catalog Catalog, clk clock.Clock) *Service {
	return &Service{store: store, catalog: catalog, clock: clk}
}

// View is a subscription as the API shows it: with its segments, status
// now, and the terms and plan version in effect now.
type View struct {
	Subscription
	Segments []Segment
	Status   Status
	Start    time.Time
	TrialEnd time.Time
	// End is when the subscription ends; zero while no cancellation is
	// recorded.
	End   time.Time
	Terms Segment
	Plan  PlanVersion
}

func (s *Service) view(ctx context.Context, sub Subscription, segs []Segment) (View, error) {
	now := s.clock.Now()
	start := sub.start()
	v := View{Subscription: sub, Segments: segs, Status: sub.StatusAt(now), Start: start.Effective, TrialEnd: start.TrialEnd}
	if c, ok := sub.cancellation(); ok {
		v.End = c.Effective
	}
	terms, ok := termsAt(segs, now)
	if !ok {
		terms = Segment{SubscriptionID: sub.ID, CustomerID: sub.CustomerID, PlanID: start.PlanID, PlanKey: start.PlanKey, Version: start.Version, Quantity: start.Quantity}
	}
	v.Terms = terms
	pvs, err := s.planVersions(ctx, []VersionRef{terms.Ref()})
	if err != nil {
		return View{}, err
	}
	v.Plan = pvs[terms.Ref()]
	return v, nil
}

// Subscribe subscribes a customer to a published plan version.
func (s *Service) Subscribe(ctx context.Context, in SubscribeInput) (View, error) {
	now := s.clock.Now()
	if err := in.Validate(now); err != nil {
		return View{}, err
	}
	if in.Start.IsZero() {
		in.Start = now
	}
	// The catalog first, outside any transaction: a peer call must never
	// hold this service's database (one connection on SQLite).
	c, err := s.store.GetCustomer(ctx, in.CustomerID)
	if err != nil {
		return View{}, err
	}
	pv, err := s.sellable(ctx, c, in.Plan, in.Version)
	if err != nil {
		return View{}, err
	}
	if in.Quantity == 0 {
		in.Quantity = pv.MinQuantity
	}
	if in.Quantity < pv.MinQuantity {
		return View{}, errs.Field("quantity", "must be at least %d, the plan's minimum", pv.MinQuantity)
	}
	var out View
	err = s.store.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.LockCustomer(ctx, in.CustomerID)
		if err != nil {
			return err
		}
		// The customer may have changed its currency since it was read.
		if err := checkPlanCurrency(pv, c); err != nil {
			return err
		}
		if err := s.keep(ctx, pv); err != nil {
			return err
		}
		if c.Anchor.Kind == Anniversary && c.Anchor.Date.IsZero() {
			c.Anchor.Date = day(in.Start)
			c.UpdateTime = now
			if err := s.store.UpdateCustomer(ctx, c); err != nil {
				return err
			}
		}
		first := Change{
			ID: ids.New("chg"), Kind: KindSubscribe, PlanID: pv.PlanID, PlanKey: pv.PlanKey, Version: pv.Version,
			Quantity: in.Quantity, Effective: in.Start, BackdateReason: in.BackdateReason, CreateTime: now, Seq: 1,
		}
		if in.TrialDays > 0 {
			first.TrialEnd = in.Start.AddDate(0, 0, int(in.TrialDays))
		}
		sub := Subscription{ID: ids.New("sub"), CustomerID: c.ID, BillSeparately: in.BillSeparately, CreateTime: now, Changes: []Change{first}}
		first.SubscriptionID = sub.ID
		sub.Changes[0] = first
		if err := s.store.CreateSubscription(ctx, sub); err != nil {
			return err
		}
		out, err = s.commit(ctx, sub, first)
		return err
	})
	return out, err
}

// day returns the start of t's UTC day.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// commit refolds a changed subscription, replaces the segments that
// changed, and writes the subscription.changed event, all in the
// transaction of ctx. change is the change that caused it.
func (s *Service) commit(ctx context.Context, sub Subscription, change Change) (View, error) {
	now := s.clock.Now()
	stored, err := s.store.CurrentSegments(ctx, sub.ID)
	if err != nil {
		return View{}, err
	}
	wanted := Fold(sub)
	supersede, add := diffSegments(stored, wanted)
	for i := range add {
		add[i].ID = ids.New("seg")
	}
	if err := s.store.ReplaceSegments(ctx, supersede, add, now); err != nil {
		return View{}, err
	}
	payload, err := json.Marshal(ChangedEvent{
		CustomerID: sub.CustomerID, SubscriptionID: sub.ID, ChangeID: change.ID,
		Kind: change.Kind.apiName(), EffectiveTime: change.Effective, Withdrawn: change.Withdrawn(),
	})
	if err != nil {
		return View{}, err
	}
	if err := s.store.Publish(ctx, TopicChanged, sub.CustomerID, payload, now); err != nil {
		return View{}, err
	}
	return s.view(ctx, sub, withBilling(wanted, sub))
}

// GetSubscription returns a subscription as it is now.
func (s *Service) GetSubscription(ctx context.Context, id string) (View, error) {
	sub, err := s.store.GetSubscription(ctx, id)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, sub, withBilling(Fold(sub), sub))
}

func withBilling(segs []Segment, sub Subscription) []Segment {
	for i := range segs {
		segs[i].BillSeparately = sub.BillSeparately
	}
	return segs
}

// ListSubscriptions lists a customer's subscriptions, oldest first.
func (s *Service) ListSubscriptions(ctx context.Context, customerID string, pr page.Request) (page.Page[View], error) {
	var v errs.Violations
	pr.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[View]{}, err
	}
	if _, err := s.store.GetCustomer(ctx, customerID); err != nil {
		return page.Page[View]{}, err
	}
	after, limit := pr.Cursor()
	subs, err := s.store.ListSubscriptions(ctx, customerID, after, limit+1)
	if err != nil {
		return page.Page[View]{}, err
	}
	views := make([]View, len(subs))
	for i, sub := range subs {
		if views[i], err = s.view(ctx, sub, withBilling(Fold(sub), sub)); err != nil {
			return page.Page[View]{}, err
		}
	}
	return page.New(views, limit, func(v View) string { return v.ID }), nil
}
