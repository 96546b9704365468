package subscription

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
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
}

// NewService returns a service keeping its data in store, reading plans
// from catalog and telling time with clk.
func NewService(store Store, catalog Catalog, clk clock.Clock) *Service {
	return &Service{store: store, catalog: catalog, clock: clk}
}

func newID(prefix string) string {
	return prefix + "_" + strings.ReplaceAll(uuid.Must(uuid.NewV7()).String(), "-", "")
}

// CustomerInput creates a customer.
type CustomerInput struct {
	ExternalID string
	Name       string
	Email      string
	Currency   string
	Anchor     AnchorKind // 0 means Calendar
	ParentID   string
}

func checkCustomerFields(v *errs.Violations, externalID, name, email string) {
	if len(externalID) > 255 {
		v.Add("external_id", "must be at most 255 characters")
	}
	if strings.TrimSpace(name) == "" || len(name) > 255 {
		v.Add("name", "must be 1 to 255 characters")
	}
	if email != "" {
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			v.Add("email", "must be a plain e-mail address such as billing@example.com")
		}
	}
}

func checkCurrency(v *errs.Violations, code string) {
	if _, ok := money.LookupCurrency(code); !ok {
		v.Add("currency", "must be an ISO 4217 code such as EUR")
	}
}

// CreateCustomer creates a customer.
func (s *Service) CreateCustomer(ctx context.Context, in CustomerInput) (Customer, error) {
	var v errs.Violations
	checkCustomerFields(&v, in.ExternalID, in.Name, in.Email)
	checkCurrency(&v, in.Currency)
	if in.Anchor == 0 {
		in.Anchor = Calendar
	}
	if _, ok := ParseAnchorKind(in.Anchor.String()); !ok {
		v.Add("billing_anchor", "must be CALENDAR or ANNIVERSARY")
	}
	if err := v.Err(); err != nil {
		return Customer{}, err
	}
	now := s.clock.Now()
	c := Customer{
		ID: newID("cus"), ExternalID: in.ExternalID, Name: in.Name, Email: in.Email, Currency: in.Currency,
		Anchor: Anchor{Kind: in.Anchor}, ParentID: in.ParentID, CreateTime: now, UpdateTime: now,
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		if err := s.checkParent(ctx, c.ID, c.ParentID); err != nil {
			return err
		}
		return s.store.CreateCustomer(ctx, c)
	})
	return c, err
}

// checkParent checks that parentID, if set, names a customer that is not id
// nor one of id's own customers, so resellers form no cycle.
func (s *Service) checkParent(ctx context.Context, id, parentID string) error {
	for p, depth := parentID, 0; p != ""; depth++ {
		if p == id || depth == 16 {
			return errs.Field("parent_customer_id", "would make a reseller cycle")
		}
		parent, err := s.store.GetCustomer(ctx, p)
		if errs.Is(err, errs.NotFound) {
			return errs.Field("parent_customer_id", "customer %q does not exist", p)
		} else if err != nil {
			return err
		}
		p = parent.ParentID
	}
	return nil
}

// GetCustomer returns a customer.
func (s *Service) GetCustomer(ctx context.Context, id string) (Customer, error) {
	return s.store.GetCustomer(ctx, id)
}

// ListCustomers lists customers by id.
func (s *Service) ListCustomers(ctx context.Context, f CustomerFilter, pr page.Request) (page.Page[Customer], error) {
	var v errs.Violations
	pr.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[Customer]{}, err
	}
	after, limit := pr.Cursor()
	cs, err := s.store.ListCustomers(ctx, f, after, limit+1)
	if err != nil {
		return page.Page[Customer]{}, err
	}
	return page.New(cs, limit, func(c Customer) string { return c.ID }), nil
}

// CustomerUpdate changes the fields that are not nil.
type CustomerUpdate struct {
	ID         string
	ExternalID *string
	Name       *string
	Email      *string
	Currency   *string
	Anchor     *AnchorKind
	ParentID   *string
}

// UpdateCustomer changes a customer. The currency and the anchor are fixed
// once the customer has a subscription.
func (s *Service) UpdateCustomer(ctx context.Context, in CustomerUpdate) (Customer, error) {
	var c Customer
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.store.LockCustomer(ctx, in.ID); err != nil {
			return err
		}
		set := func(dst *string, src *string) {
			if src != nil {
				*dst = *src
			}
		}
		set(&c.ExternalID, in.ExternalID)
		set(&c.Name, in.Name)
		set(&c.Email, in.Email)
		var v errs.Violations
		checkCustomerFields(&v, c.ExternalID, c.Name, c.Email)
		if in.Currency != nil {
			checkCurrency(&v, *in.Currency)
		}
		if in.Anchor != nil {
			if _, ok := ParseAnchorKind(in.Anchor.String()); !ok {
				v.Add("billing_anchor", "must be CALENDAR or ANNIVERSARY")
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		if (in.Currency != nil && *in.Currency != c.Currency) || (in.Anchor != nil && *in.Anchor != c.Anchor.Kind) {
			has, err := s.store.HasSubscriptions(ctx, c.ID)
			if err != nil {
				return err
			}
			if has {
				return errs.New(errs.FailedPrecondition, "customer %s has subscriptions: its currency and billing anchor are fixed", c.ID)
			}
			set(&c.Currency, in.Currency)
			if in.Anchor != nil {
				c.Anchor = Anchor{Kind: *in.Anchor}
			}
		}
		if in.ParentID != nil {
			if err := s.checkParent(ctx, c.ID, *in.ParentID); err != nil {
				return err
			}
			c.ParentID = *in.ParentID
		}
		c.UpdateTime = s.clock.Now()
		return s.store.UpdateCustomer(ctx, c)
	})
	return c, err
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

// planVersions returns the stored copies of plan versions, from the cache
// when it has them.
func (s *Service) planVersions(ctx context.Context, refs []VersionRef) (map[VersionRef]PlanVersion, error) {
	out := make(map[VersionRef]PlanVersion, len(refs))
	var missing []VersionRef
	for _, r := range refs {
		if v, ok := s.versions.Load(r); ok {
			out[r] = v.(PlanVersion)
		} else if !slices.Contains(missing, r) {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	vs, err := s.store.GetPlanVersions(ctx, missing)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		s.versions.Store(v.Ref(), v)
		out[v.Ref()] = v
	}
	for _, r := range missing {
		if _, ok := out[r]; !ok {
			return nil, fmt.Errorf("plan version %s/%d is not stored", r.PlanID, r.Version)
		}
	}
	return out, nil
}

// planVersion asks the catalog for a sellable plan version in the
// customer's currency and keeps a copy of it.
func (s *Service) planVersion(ctx context.Context, c Customer, ref string, version int32) (PlanVersion, error) {
	if ref == "" {
		return PlanVersion{}, errs.Field("plan_id", "is required")
	}
	if version < 0 {
		return PlanVersion{}, errs.Field("plan_version", "must not be negative")
	}
	pv, err := s.catalog.PlanVersion(ctx, ref, version)
	if err != nil {
		return PlanVersion{}, err
	}
	if pv.Currency != c.Currency {
		return PlanVersion{}, errs.New(errs.FailedPrecondition, "plan %s is in %s but customer %s pays in %s", pv.PlanKey, pv.Currency, c.ID, c.Currency)
	}
	if err := s.store.PutPlanVersion(ctx, pv); err != nil {
		return PlanVersion{}, err
	}
	return pv, nil
}

// SubscribeInput subscribes a customer to a plan.
type SubscribeInput struct {
	CustomerID     string
	Plan           string // id or key
	Version        int32  // 0 for the latest published
	Quantity       int64  // 0 for the minimum
	Start          time.Time
	BackdateReason string
	TrialDays      int32
	BillSeparately bool
}

// Subscribe subscribes a customer to a published plan version.
func (s *Service) Subscribe(ctx context.Context, in SubscribeInput) (View, error) {
	now := s.clock.Now()
	if in.Start.IsZero() {
		in.Start = now
	}
	var v errs.Violations
	if in.Quantity < 0 {
		v.Add("quantity", "must not be negative")
	}
	if in.TrialDays < 0 || in.TrialDays > 366 {
		v.Add("trial_days", "must be 0 to 366")
	}
	checkBackdate(&v, "start_time", in.Start, now, in.BackdateReason)
	if err := v.Err(); err != nil {
		return View{}, err
	}
	var out View
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.LockCustomer(ctx, in.CustomerID)
		if err != nil {
			return err
		}
		pv, err := s.planVersion(ctx, c, in.Plan, in.Version)
		if err != nil {
			return err
		}
		if in.Quantity == 0 {
			in.Quantity = pv.MinQuantity
		}
		if in.Quantity < pv.MinQuantity {
			return errs.Field("quantity", "must be at least %d, the plan's minimum", pv.MinQuantity)
		}
		if c.Anchor.Kind == Anniversary && c.Anchor.Date.IsZero() {
			c.Anchor.Date = day(in.Start)
			c.UpdateTime = now
			if err := s.store.UpdateCustomer(ctx, c); err != nil {
				return err
			}
		}
		first := Change{
			ID: newID("chg"), Kind: KindSubscribe, PlanID: pv.PlanID, PlanKey: pv.PlanKey, Version: pv.Version,
			Quantity: in.Quantity, Effective: in.Start, BackdateReason: in.BackdateReason, CreateTime: now, Seq: 1,
		}
		if in.TrialDays > 0 {
			first.TrialEnd = in.Start.AddDate(0, 0, int(in.TrialDays))
		}
		sub := Subscription{ID: newID("sub"), CustomerID: c.ID, BillSeparately: in.BillSeparately, CreateTime: now, Changes: []Change{first}}
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

func checkBackdate(v *errs.Violations, field string, at, now time.Time, reason string) {
	if at.Before(now.Add(-BackdateTolerance)) && strings.TrimSpace(reason) == "" {
		v.Add("backdate_reason", "is required when %s is in the past", field)
	}
	if len(reason) > 1000 {
		v.Add("backdate_reason", "must be at most 1000 characters")
	}
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
		add[i].ID = newID("seg")
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

// Timing says when a change takes effect.
type Timing int

// The timings. TimingDefault picks Immediate for upgrades and increases,
// EndOfPeriod for downgrades, decreases and cancellations.
const (
	TimingDefault Timing = iota
	Immediate
	EndOfPeriod
	At
)

// When says when a change takes effect.
type When struct {
	Timing Timing
	// At is the time for the At timing.
	At             time.Time
	BackdateReason string
}

// ChangePlanInput moves a subscription to another plan version.
type ChangePlanInput struct {
	SubscriptionID string
	Plan           string
	Version        int32
	When           When
}

// ChangePlan moves a subscription to another plan or plan version.
func (s *Service) ChangePlan(ctx context.Context, in ChangePlanInput) (View, Change, error) {
	return s.change(ctx, in.SubscriptionID, in.When, func(ctx context.Context, c Customer, cur View) (Change, bool, error) {
		pv, err := s.planVersion(ctx, c, in.Plan, in.Version)
		if err != nil {
			return Change{}, false, err
		}
		if pv.Ref() == cur.Terms.Ref() {
			return Change{}, false, errs.New(errs.FailedPrecondition, "subscription %s is already on version %d of plan %s", cur.ID, pv.Version, pv.PlanKey)
		}
		if cur.Terms.Quantity < pv.MinQuantity {
			return Change{}, false, errs.New(errs.FailedPrecondition, "plan %s needs a quantity of at least %d; change the quantity first", pv.PlanKey, pv.MinQuantity)
		}
		ch := Change{Kind: KindPlan, PlanID: pv.PlanID, PlanKey: pv.PlanKey, Version: pv.Version}
		return ch, isUpgrade(cur.Plan, pv), nil
	})
}

// isUpgrade reports whether moving from a to b costs at least as much per
// day in recurring fees.
func isUpgrade(a, b PlanVersion) bool {
	return b.Recurring.Mul(a.Interval.days()).GreaterThanOrEqual(a.Recurring.Mul(b.Interval.days()))
}

// ChangeQuantityInput changes a subscription's quantity.
type ChangeQuantityInput struct {
	SubscriptionID string
	Quantity       int64
	When           When
}

// ChangeQuantity changes how many units a subscription has.
func (s *Service) ChangeQuantity(ctx context.Context, in ChangeQuantityInput) (View, Change, error) {
	if in.Quantity < 1 {
		return View{}, Change{}, errs.Field("quantity", "must be at least 1")
	}
	return s.change(ctx, in.SubscriptionID, in.When, func(ctx context.Context, c Customer, cur View) (Change, bool, error) {
		if in.Quantity < cur.Plan.MinQuantity {
			return Change{}, false, errs.Field("quantity", "must be at least %d, the plan's minimum", cur.Plan.MinQuantity)
		}
		if in.Quantity == cur.Terms.Quantity {
			return Change{}, false, errs.New(errs.FailedPrecondition, "subscription %s already has quantity %d", cur.ID, in.Quantity)
		}
		return Change{Kind: KindQuantity, Quantity: in.Quantity}, in.Quantity > cur.Terms.Quantity, nil
	})
}

// Cancel ends a subscription. A cancellation that has not taken effect is
// replaced by the new one.
func (s *Service) Cancel(ctx context.Context, subscriptionID string, w When) (View, Change, error) {
	return s.change(ctx, subscriptionID, w, func(ctx context.Context, c Customer, cur View) (Change, bool, error) {
		return Change{Kind: KindCancel}, false, nil
	})
}

// change records a change made by make, which gets the customer and the
// subscription as it is now and returns the change without its time, and
// whether it is an upgrade (taking effect now by default).
func (s *Service) change(ctx context.Context, subID string, w When, make func(context.Context, Customer, View) (Change, bool, error)) (View, Change, error) {
	now := s.clock.Now()
	var v errs.Violations
	switch w.Timing {
	case At:
		if w.At.IsZero() {
			v.Add("effective_time", "is required when timing is AT")
		}
		checkBackdate(&v, "effective_time", w.At, now, w.BackdateReason)
	case TimingDefault, Immediate, EndOfPeriod:
		if !w.At.IsZero() {
			v.Add("effective_time", "must be unset unless timing is AT")
		}
	default:
		v.Add("timing", "is not a known timing")
	}
	if err := v.Err(); err != nil {
		return View{}, Change{}, err
	}
	var (
		out View
		ch  Change
	)
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		sub, err := s.store.LockSubscription(ctx, subID)
		if err != nil {
			return err
		}
		c, err := s.store.GetCustomer(ctx, sub.CustomerID)
		if err != nil {
			return err
		}
		cur, err := s.view(ctx, sub, Fold(sub))
		if err != nil {
			return err
		}
		if cur.Status == Canceled {
			return errs.New(errs.FailedPrecondition, "subscription %s ended at %s", sub.ID, cur.End.Format(time.RFC3339))
		}
		var upgrade bool
		if ch, upgrade, err = make(ctx, c, cur); err != nil {
			return err
		}
		timing := w.Timing
		if timing == TimingDefault {
			timing = EndOfPeriod
			if upgrade {
				timing = Immediate
			}
		}
		switch timing {
		case Immediate:
			ch.Effective = now
		case EndOfPeriod:
			at := now
			if at.Before(cur.Start) {
				at = cur.Start
			}
			ch.Effective = PeriodAt(c.Anchor, cur.Plan.Interval, at).End
		case At:
			ch.Effective = w.At.UTC()
			ch.BackdateReason = w.BackdateReason
		}
		if ch.Effective.Before(cur.Start) {
			if ch.Kind != KindCancel {
				return errs.Field("effective_time", "is before the subscription starts at %s", cur.Start.Format(time.RFC3339))
			}
			ch.Effective = cur.Start // cancelled before it started: it never runs
		}
		var withdraw []string
		for _, old := range sub.Changes {
			if old.Withdrawn() || old.Kind == KindSubscribe {
				continue
			}
			switch {
			case ch.Kind == KindCancel && (old.Kind == KindCancel || old.Effective.After(ch.Effective)):
				// The new cancellation replaces an earlier one, and changes
				// after it would never take effect.
				if !old.Effective.After(now) && old.Kind == KindCancel {
					return errs.New(errs.FailedPrecondition, "subscription %s ended at %s", sub.ID, old.Effective.Format(time.RFC3339))
				}
				withdraw = append(withdraw, old.ID)
			case old.Kind == KindCancel && !ch.Effective.Before(old.Effective):
				return errs.New(errs.FailedPrecondition, "subscription %s ends at %s; a change at %s would never take effect",
					sub.ID, old.Effective.Format(time.RFC3339), ch.Effective.Format(time.RFC3339))
			}
		}
		if len(withdraw) > 0 {
			if err := s.store.WithdrawChanges(ctx, withdraw, now); err != nil {
				return err
			}
			for i := range sub.Changes {
				if slices.Contains(withdraw, sub.Changes[i].ID) {
					sub.Changes[i].WithdrawTime = now
				}
			}
		}
		ch.ID, ch.SubscriptionID, ch.CreateTime = newID("chg"), sub.ID, now
		ch.Seq = int64(len(sub.Changes)) + 1
		if err := s.store.AddChange(ctx, ch); err != nil {
			return err
		}
		sub.Changes = append(sub.Changes, ch)
		out, err = s.commit(ctx, sub, ch)
		return err
	})
	return out, ch, err
}

// Reactivate withdraws a cancellation that has not taken effect.
func (s *Service) Reactivate(ctx context.Context, subID string) (View, error) {
	var out View
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		sub, err := s.store.LockSubscription(ctx, subID)
		if err != nil {
			return err
		}
		cancel, ok := sub.cancellation()
		if !ok {
			return errs.New(errs.FailedPrecondition, "subscription %s is not cancelled", sub.ID)
		}
		out, err = s.withdraw(ctx, sub, cancel)
		return err
	})
	return out, err
}

// ScheduledChanges lists a subscription's changes that take effect after
// now, in the order they take effect.
func (s *Service) ScheduledChanges(ctx context.Context, subID string) ([]Change, error) {
	sub, err := s.store.GetSubscription(ctx, subID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var out []Change
	for _, c := range liveChanges(sub.Changes) {
		if c.Effective.After(now) {
			out = append(out, c)
		}
	}
	return out, nil
}

// CancelScheduledChange withdraws a change that has not taken effect.
func (s *Service) CancelScheduledChange(ctx context.Context, subID, changeID string) (View, error) {
	var out View
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		sub, err := s.store.LockSubscription(ctx, subID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(sub.Changes, func(c Change) bool { return c.ID == changeID })
		if i < 0 {
			return errs.New(errs.NotFound, "subscription %s has no change %s", subID, changeID)
		}
		if sub.Changes[i].Kind == KindSubscribe {
			return errs.New(errs.FailedPrecondition, "change %s starts the subscription; cancel the subscription instead", changeID)
		}
		out, err = s.withdraw(ctx, sub, sub.Changes[i])
		return err
	})
	return out, err
}

// withdraw withdraws a change of a locked subscription if it has not taken
// effect.
func (s *Service) withdraw(ctx context.Context, sub Subscription, c Change) (View, error) {
	now := s.clock.Now()
	if c.Withdrawn() {
		return View{}, errs.New(errs.FailedPrecondition, "change %s was already withdrawn", c.ID)
	}
	if !c.Effective.After(now) {
		return View{}, errs.New(errs.FailedPrecondition, "change %s took effect at %s", c.ID, c.Effective.Format(time.RFC3339))
	}
	if err := s.store.WithdrawChanges(ctx, []string{c.ID}, now); err != nil {
		return View{}, err
	}
	for i := range sub.Changes {
		if sub.Changes[i].ID == c.ID {
			sub.Changes[i].WithdrawTime = now
		}
	}
	c.WithdrawTime = now
	return s.commit(ctx, sub, c)
}
