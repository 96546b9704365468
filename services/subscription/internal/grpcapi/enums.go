package grpcapi

import (
	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/services/subscription/internal/subscription"
)

// enum maps the values of a protobuf enum, but for UNSPECIFIED, to the
// domain's values, by name rather than by number.
type enum[P ~int32, D ~int | ~int32] map[P]D

// in returns the domain value of p: zero for UNSPECIFIED, which the domain
// reads as its default or refuses, and -1 for values this server does not
// know, which the domain refuses as unknown.
func (m enum[P, D]) in(p P) D {
	if d, ok := m[p]; ok {
		return d
	}
	if p == 0 {
		return 0
	}
	return -1
}

// out returns the protobuf value of d, UNSPECIFIED for values without one.
func (m enum[P, D]) out(d D) P {
	for p, v := range m {
		if v == d {
			return p
		}
	}
	return 0
}

var (
	intervalUnits = enum[catalogv1.IntervalUnit, subscription.IntervalUnit]{
		catalogv1.IntervalUnit_INTERVAL_UNIT_DAY:     subscription.Day,
		catalogv1.IntervalUnit_INTERVAL_UNIT_WEEK:    subscription.Week,
		catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH:   subscription.Month,
		catalogv1.IntervalUnit_INTERVAL_UNIT_QUARTER: subscription.Quarter,
		catalogv1.IntervalUnit_INTERVAL_UNIT_YEAR:    subscription.Year,
	}
	anchorKinds = enum[subscriptionv1.BillingAnchor, subscription.AnchorKind]{
		subscriptionv1.BillingAnchor_BILLING_ANCHOR_CALENDAR:    subscription.Calendar,
		subscriptionv1.BillingAnchor_BILLING_ANCHOR_ANNIVERSARY: subscription.Anniversary,
	}
	statuses = enum[subscriptionv1.SubscriptionStatus, subscription.Status]{
		subscriptionv1.SubscriptionStatus_SUBSCRIPTION_STATUS_PENDING:  subscription.Pending,
		subscriptionv1.SubscriptionStatus_SUBSCRIPTION_STATUS_TRIALING: subscription.Trialing,
		subscriptionv1.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE:   subscription.Active,
		subscriptionv1.SubscriptionStatus_SUBSCRIPTION_STATUS_CANCELED: subscription.Canceled,
	}
	changeKinds = enum[subscriptionv1.ChangeKind, subscription.ChangeKind]{
		subscriptionv1.ChangeKind_CHANGE_KIND_SUBSCRIBE: subscription.KindSubscribe,
		subscriptionv1.ChangeKind_CHANGE_KIND_PLAN:      subscription.KindPlan,
		subscriptionv1.ChangeKind_CHANGE_KIND_QUANTITY:  subscription.KindQuantity,
		subscriptionv1.ChangeKind_CHANGE_KIND_CANCEL:    subscription.KindCancel,
	}
	timings = enum[subscriptionv1.ChangeTiming, subscription.Timing]{
		subscriptionv1.ChangeTiming_CHANGE_TIMING_IMMEDIATE:     subscription.Immediate,
		subscriptionv1.ChangeTiming_CHANGE_TIMING_END_OF_PERIOD: subscription.EndOfPeriod,
		subscriptionv1.ChangeTiming_CHANGE_TIMING_AT:            subscription.At,
	}
	limitPolicies = enum[catalogv1.LimitPolicy, subscription.LimitPolicy]{
		catalogv1.LimitPolicy_LIMIT_POLICY_HARD: subscription.Hard,
		catalogv1.LimitPolicy_LIMIT_POLICY_SOFT: subscription.Soft,
		catalogv1.LimitPolicy_LIMIT_POLICY_NONE: subscription.Unlimited,
	}
	resetPeriods = enum[catalogv1.ResetPeriod, subscription.ResetPeriod]{
		catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD: subscription.ResetBillingPeriod,
		catalogv1.ResetPeriod_RESET_PERIOD_MONTH:          subscription.ResetMonth,
		catalogv1.ResetPeriod_RESET_PERIOD_DAY:            subscription.ResetDay,
		catalogv1.ResetPeriod_RESET_PERIOD_NEVER:          subscription.ResetNever,
	}
)
