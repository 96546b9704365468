package subscription

import (
	"context"
	"slices"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/page"
)

// ChangePlan moves a subscription to another plan or plan version.
func (s *Service) ChangePlan(ctx context.Context, in ChangePlanInput) (View, Change, error) {
	if err := in.Validate(s.clock.Now()); err != nil {
		return View{}, Change{}, err
	}
	// The catalog first, outside any transaction: a peer call must never
	// hold this service's database (one connection on SQLite).
	sub, err := s.store.GetSubscription(ctx, in.SubscriptionID)
	if err != nil {
		return View{}, Change{}, err
	}
	c, err := s.store.GetCustomer(ctx, sub.CustomerID)
	if err != nil {
		return View{}, Change{}, err
	}
	pv, err := s.sellable(ctx, c, in.Plan, in.Version)
	if err != nil {
		return View{}, Change{}, err
	}
	return s.change(ctx, in.SubscriptionID, in.When, func(ctx context.Context, c Customer, cur View) (Change, bool, error) {
		if err := checkPlanCurrency(pv, c); err != nil {
			return Change{}, false, err
		}
		if err := s.keep(ctx, pv); err != nil {
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
	return b.Recurring.Mul(days(a.Interval)).GreaterThanOrEqual(a.Recurring.Mul(days(b.Interval)))
}

// ChangeQuantity changes how many units a subscription has.
func (s *Service) ChangeQuantity(ctx context.Context, in ChangeQuantityInput) (View, Change, error) {
	if err := in.Validate(s.clock.Now()); err != nil {
		return View{}, Change{}, err
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
	if err := w.Validate(now); err != nil {
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
		ch.ID, ch.SubscriptionID, ch.CreateTime = ids.New("chg"), sub.ID, now
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

// ScheduledChanges lists one page of a subscription's changes that take
// effect after now, in the order they take effect.
func (s *Service) ScheduledChanges(ctx context.Context, subID string, pr page.Request) (page.Page[Change], error) {
	if err := checkPage(pr); err != nil {
		return page.Page[Change]{}, err
	}
	sub, err := s.store.GetSubscription(ctx, subID)
	if err != nil {
		return page.Page[Change]{}, err
	}
	now := s.clock.Now()
	var out []Change
	for _, c := range liveChanges(sub.Changes) {
		if c.Effective.After(now) {
			out = append(out, c)
		}
	}
	return pageOf(out, pr, func(c Change) string { return c.ID })
}

// Changes lists one page of every change recorded for a subscription,
// withdrawn ones included, in the order they were recorded.
func (s *Service) Changes(ctx context.Context, subID string, pr page.Request) (page.Page[Change], error) {
	if err := checkPage(pr); err != nil {
		return page.Page[Change]{}, err
	}
	sub, err := s.store.GetSubscription(ctx, subID)
	if err != nil {
		return page.Page[Change]{}, err
	}
	return pageOf(sub.Changes, pr, func(c Change) string { return c.ID })
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
			return errs.New(errs.NotFound, "subscription %s has no change %q", sub.ID, shortID(changeID))
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
