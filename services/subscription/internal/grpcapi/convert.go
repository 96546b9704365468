package grpcapi

import (
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/subscription/internal/subscription"
)

func intervalOut(iv subscription.Interval) *catalogv1.BillingInterval {
	return &catalogv1.BillingInterval{Unit: intervalUnits.out(iv.Unit), Count: int32(iv.Count)}
}

func periodIn(p *commonv1.Period) subscription.Period {
	return subscription.Period{Start: pbtime.Time(p.GetStart()), End: pbtime.Time(p.GetEnd())}
}

func periodOut(p subscription.Period) *commonv1.Period {
	return &commonv1.Period{Start: pbtime.New(p.Start), End: pbtime.New(p.End)}
}

func anchorIn(a subscriptionv1.BillingAnchor) subscription.AnchorKind {
	return anchorKinds.in(a)
}

func customerOut(c subscription.Customer) *subscriptionv1.Customer {
	return &subscriptionv1.Customer{
		CustomerId: c.ID, ExternalId: c.ExternalID, Name: c.Name, Email: c.Email, Currency: c.Currency,
		BillingAnchor: anchorKinds.out(c.Anchor.Kind), AnchorTime: pbtime.New(c.Anchor.Date),
		ParentCustomerId: c.ParentID, CreateTime: pbtime.New(c.CreateTime), UpdateTime: pbtime.New(c.UpdateTime),
	}
}

func subscriptionOut(v subscription.View) *subscriptionv1.Subscription {
	return &subscriptionv1.Subscription{
		SubscriptionId: v.ID, CustomerId: v.CustomerID, PlanId: v.Terms.PlanID, PlanKey: v.Terms.PlanKey,
		PlanVersion: v.Terms.Version, Quantity: v.Terms.Quantity, Status: statuses.out(v.Status),
		StartTime: pbtime.New(v.Start), TrialEndTime: pbtime.New(v.TrialEnd), EndTime: pbtime.New(v.End), BillSeparately: v.BillSeparately,
		Currency: v.Plan.Currency, BillingInterval: intervalOut(v.Plan.Interval), CreateTime: pbtime.New(v.CreateTime),
	}
}

func changeOut(c subscription.Change) *subscriptionv1.Change {
	return &subscriptionv1.Change{
		ChangeId: c.ID, SubscriptionId: c.SubscriptionID, Kind: changeKinds.out(c.Kind),
		PlanId: c.PlanID, PlanKey: c.PlanKey, PlanVersion: c.Version, Quantity: c.Quantity,
		EffectiveTime: pbtime.New(c.Effective), CreateTime: pbtime.New(c.CreateTime), BackdateReason: c.BackdateReason,
		WithdrawTime: pbtime.New(c.WithdrawTime),
	}
}

func segmentOut(s subscription.SegmentTerms) *subscriptionv1.Segment {
	return &subscriptionv1.Segment{
		SubscriptionId: s.SubscriptionID, CustomerId: s.CustomerID, PlanId: s.PlanID, PlanKey: s.PlanKey,
		PlanVersion: s.Version, Quantity: s.Quantity, StartTime: pbtime.New(s.Start), EndTime: pbtime.New(s.End), Trial: s.Trial,
		Currency: s.Plan.Currency, BillingInterval: intervalOut(s.Plan.Interval), BillSeparately: s.BillSeparately,
	}
}

func priceOut(p *money.Decimal, currency string) *commonv1.Money {
	if p == nil {
		return nil
	}
	return &commonv1.Money{Amount: money.FormatPrice(*p, currency), Currency: currency}
}

func entitlementOut(e subscription.Entitlement) *subscriptionv1.Entitlement {
	out := &subscriptionv1.Entitlement{
		FeatureKey: e.Feature, IncludedQuantity: money.Format(e.Included), LimitPolicy: limitPolicies.out(e.Policy),
		OveragePrice: priceOut(e.Overage, e.Currency), ResetPeriod: resetPeriods.out(e.Reset),
	}
	for _, s := range e.Sources {
		out.Sources = append(out.Sources, &subscriptionv1.EntitlementSource{
			SubscriptionId: s.SubscriptionID, PlanKey: s.PlanKey, PlanVersion: s.Version, Quantity: s.Quantity,
			IncludedQuantity: money.Format(s.Included), LimitPolicy: limitPolicies.out(s.Policy),
			OveragePrice: priceOut(s.Overage, e.Currency),
		})
	}
	return out
}

func whenIn(timing subscriptionv1.ChangeTiming, at *timestamppb.Timestamp, reason string) subscription.When {
	return subscription.When{Timing: timings.in(timing), At: pbtime.Time(at), BackdateReason: reason}
}
