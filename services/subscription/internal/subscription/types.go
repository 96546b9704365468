package subscription

import (
	"strings"
	"time"

	"github.com/meterplane/meterplane/platform/money"
)

// Customer is the account that is billed.
type Customer struct {
	ID         string
	ExternalID string
	Name       string
	Email      string
	Currency   string
	// Anchor aligns the customer's billing periods. For Anniversary its
	// Date is zero until the first subscription starts.
	Anchor     Anchor
	ParentID   string
	CreateTime time.Time
	UpdateTime time.Time
}

// LimitPolicy says what happens above an entitlement's included quantity.
// The values are the domain's own, ordered from strictest to most
// permissive, so that the larger of two is the more permissive; the API
// maps its values to these by name.
type LimitPolicy int

// The limit policies, from strictest to most permissive.
const (
	Hard LimitPolicy = iota + 1
	Soft
	Unlimited
)

// ResetPeriod says when a counter's usage starts again from zero. The zero
// value is for gauges, which never reset.
type ResetPeriod int32

// The reset periods.
const (
	ResetBillingPeriod ResetPeriod = iota + 1
	ResetMonth
	ResetDay
	ResetNever
)

// Grant is a plan version's entitlement for one feature.
type Grant struct {
	Feature  string         `json:"feature"`
	Included money.Decimal  `json:"included"`
	Policy   LimitPolicy    `json:"policy"`
	Overage  *money.Decimal `json:"overage,omitempty"`
	// Reset is when usage resets, 0 for gauges.
	Reset ResetPeriod `json:"reset,omitempty"`
}

// PlanVersion is what a subscription needs of a published catalog plan
// version. Published versions never change, so the service keeps a copy.
type PlanVersion struct {
	PlanID   string   `json:"plan_id"`
	PlanKey  string   `json:"plan_key"`
	Version  int32    `json:"version"`
	Currency string   `json:"currency"`
	Interval Interval `json:"interval"`
	// Recurring is the sum of the version's recurring fees per interval; it
	// tells upgrades from downgrades.
	Recurring money.Decimal `json:"recurring"`
	// MinQuantity is the fewest units a subscription may have: the
	// offering's minimum instances, or 1.
	MinQuantity int64   `json:"min_quantity"`
	Grants      []Grant `json:"grants"`
}

// Ref names the plan version.
func (v PlanVersion) Ref() VersionRef { return VersionRef{PlanID: v.PlanID, Version: v.Version} }

// VersionRef names a plan version.
type VersionRef struct {
	PlanID  string
	Version int32
}

// ChangeKind says what a change does.
type ChangeKind int

// The change kinds.
const (
	KindSubscribe ChangeKind = iota + 1
	KindPlan
	KindQuantity
	KindCancel
)

// apiName is the kind's name in the API.
func (k ChangeKind) apiName() string { return "CHANGE_KIND_" + strings.ToUpper(k.String()) }

func (k ChangeKind) String() string {
	switch k {
	case KindSubscribe:
		return "subscribe"
	case KindPlan:
		return "plan"
	case KindQuantity:
		return "quantity"
	case KindCancel:
		return "cancel"
	}
	return "unknown"
}

// Change is one recorded change of a subscription. Changes are appended and
// never edited, except that one which has not taken effect can be
// withdrawn. A subscription's segments are its changes folded in order.
type Change struct {
	ID             string
	SubscriptionID string
	// Seq orders changes recorded for the same effective time.
	Seq       int64
	Kind      ChangeKind
	PlanID    string
	PlanKey   string
	Version   int32
	Quantity  int64
	Effective time.Time
	// TrialEnd is when a subscription's free trial ends, for KindSubscribe;
	// zero without a trial.
	TrialEnd       time.Time
	BackdateReason string
	CreateTime     time.Time
	// WithdrawTime is when the change was withdrawn before taking effect;
	// zero if it was not.
	WithdrawTime time.Time
}

// Withdrawn reports whether the change was withdrawn.
func (c Change) Withdrawn() bool { return !c.WithdrawTime.IsZero() }

// Subscription is a customer's use of plan versions over time.
type Subscription struct {
	ID             string
	CustomerID     string
	BillSeparately bool
	CreateTime     time.Time
	// Changes, in the order they were recorded.
	Changes []Change
}

// Segment is a stretch [Start, End) of a subscription with one plan version
// and quantity. End is zero while the segment is open.
type Segment struct {
	ID             string
	SubscriptionID string
	CustomerID     string
	PlanID         string
	PlanKey        string
	Version        int32
	Quantity       int64
	Start          time.Time
	End            time.Time
	Trial          bool
	// BillSeparately is the subscription's: set by the store on reads.
	BillSeparately bool
}

// Ref names the segment's plan version.
func (s Segment) Ref() VersionRef { return VersionRef{PlanID: s.PlanID, Version: s.Version} }

// Contains reports whether t is inside the segment.
func (s Segment) Contains(t time.Time) bool {
	return !t.Before(s.Start) && (s.End.IsZero() || t.Before(s.End))
}

// Overlaps reports whether the segment overlaps the period.
func (s Segment) Overlaps(p Period) bool {
	return s.Start.Before(p.End) && (s.End.IsZero() || s.End.After(p.Start))
}

// sameTerms reports whether two segments bill the same.
func (s Segment) sameTerms(o Segment) bool {
	return s.PlanID == o.PlanID && s.Version == o.Version && s.Quantity == o.Quantity && s.Trial == o.Trial
}

// Status is where a subscription is in its life.
type Status int

// The statuses.
const (
	Pending Status = iota + 1
	Trialing
	Active
	Canceled
)

// Entitlement is a customer's effective grant for one feature.
type Entitlement struct {
	Feature  string
	Included money.Decimal
	Policy   LimitPolicy
	// Overage is the lowest overage price of the sources, nil if none sells
	// overage.
	Overage  *money.Decimal
	Currency string
	Reset    ResetPeriod
	Sources  []Source
}

// Source is one subscription's part of an entitlement.
type Source struct {
	SubscriptionID string
	PlanKey        string
	Version        int32
	Quantity       int64
	Included       money.Decimal
	Policy         LimitPolicy
	Overage        *money.Decimal
}

// DuePeriod is an ended billing period of a customer.
type DuePeriod struct {
	CustomerID string
	Currency   string
	Period     Period
}

// ChangedEvent is the payload of the "subscription.changed" event. Its
// JSON is that of the API's SubscriptionChanged message.
type ChangedEvent struct {
	CustomerID     string    `json:"customerId"`
	SubscriptionID string    `json:"subscriptionId"`
	ChangeID       string    `json:"changeId"`
	Kind           string    `json:"kind"`
	EffectiveTime  time.Time `json:"effectiveTime"`
	Withdrawn      bool      `json:"withdrawn,omitempty"`
}

// TopicChanged is the bus topic of subscription changes.
const TopicChanged = "subscription.changed"
