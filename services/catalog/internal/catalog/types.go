// Package catalog is the domain of the catalog service: features, versioned
// plans with their charges and entitlements, and service plans (compute
// plans, storage plans, offerings and their plan assignments). It owns the
// rules of what may be sold and the Store interface it needs; it knows
// nothing of protobuf or SQL.
package catalog

import (
	"time"

	"github.com/meterplane/meterplane/platform/money"
)

// FeatureKind says how a feature's quantity behaves over time.
type FeatureKind string

// The feature kinds.
const (
	// Gauge is a level at a point in time, such as sites that exist now.
	Gauge FeatureKind = "gauge"
	// Counter is consumption that accumulates in a period and resets.
	Counter FeatureKind = "counter"
)

// Feature is something a plan grants or meters.
type Feature struct {
	Key        string
	Name       string
	Unit       string
	Kind       FeatureKind
	CreateTime time.Time
}

// IntervalUnit is the calendar unit of a billing interval.
type IntervalUnit string

// The interval units.
const (
	Day     IntervalUnit = "day"
	Week    IntervalUnit = "week"
	Month   IntervalUnit = "month"
	Quarter IntervalUnit = "quarter"
	Year    IntervalUnit = "year"
)

// BillingInterval is how often a plan bills: Count times Unit.
type BillingInterval struct {
	Unit  IntervalUnit
	Count int32
}

// PlanStatus is the life-cycle state of a plan.
type PlanStatus string

// The plan statuses.
const (
	// PlanDraft means no version is published yet.
	PlanDraft PlanStatus = "draft"
	// PlanPublished means at least one version is published.
	PlanPublished PlanStatus = "published"
	// PlanArchived means the plan is closed for new subscriptions.
	PlanArchived PlanStatus = "archived"
)

// Plan is what is sold, in one currency and one billing interval. Its
// charges and entitlements live on its versions.
type Plan struct {
	ID          string
	Key         string
	Name        string
	Description string
	Currency    string
	Interval    BillingInterval
	OfferingKey string
	Status      PlanStatus
	// PublishedVersion is the number of the latest published version, 0 if none.
	PublishedVersion int32
	// DraftVersion is the number of the open draft version, 0 if none.
	DraftVersion int32
	CreateTime   time.Time
	UpdateTime   time.Time
}

// VersionStatus is the state of a plan version.
type VersionStatus string

// The version statuses.
const (
	// VersionDraft is editable and cannot be subscribed to.
	VersionDraft VersionStatus = "draft"
	// VersionPublished is immutable; subscriptions pin it.
	VersionPublished VersionStatus = "published"
)

// Content is what a plan version sells: its charges and entitlements.
type Content struct {
	Charges      []Charge
	Entitlements []Entitlement
}

// PlanVersion is one numbered, immutable-once-published Content of a plan.
type PlanVersion struct {
	PlanID  string
	Version int32
	Status  VersionStatus
	// Currency is the plan's, which the version's prices are in. Stores
	// leave it empty; the Service sets it on every version it returns.
	Currency string
	Content
	// PublishTime is zero for drafts.
	PublishTime time.Time
	CreateTime  time.Time
}

// Charge is one priced line of a plan version. Exactly one of Recurring,
// OneTime and Usage is set.
type Charge struct {
	Key         string
	Description string
	Recurring   *RecurringFee
	OneTime     *OneTimeFee
	Usage       *UsageCharge
}

// FeeTiming says when a recurring fee is billed.
type FeeTiming string

// The fee timings.
const (
	InAdvance FeeTiming = "in_advance"
	InArrears FeeTiming = "in_arrears"
)

// RecurringFee is a flat amount billed every period.
type RecurringFee struct {
	Amount   money.Decimal
	Timing   FeeTiming
	Prorated bool
}

// OneTimeFee is an amount billed once, when a subscription starts.
type OneTimeFee struct {
	Amount money.Decimal
}

// PricingModel says how a usage charge turns a quantity into an amount.
type PricingModel string

// The pricing models.
const (
	PerUnit    PricingModel = "per_unit"
	Graduated  PricingModel = "graduated"
	Volume     PricingModel = "volume"
	PackageFee PricingModel = "package"
)

// UsageCharge prices a feature's usage above its included quantity. Which
// of UnitPrice, Tiers and Package is set depends on Model.
type UsageCharge struct {
	FeatureKey string
	Model      PricingModel
	// UnitPrice is set for PerUnit only.
	UnitPrice *money.Decimal
	// Tiers are set for Graduated and Volume only.
	Tiers []PriceTier
	// Package is set for PackageFee only.
	Package *PackagePrice
}

// PriceTier is one band of a tiered price. UpTo is nil for the last, open
// band.
type PriceTier struct {
	UpTo      *money.Decimal
	UnitPrice money.Decimal
	FlatPrice money.Decimal
}

// PackagePrice sells units in packages of Size; a started package is billed
// whole.
type PackagePrice struct {
	Size         money.Decimal
	Price        money.Decimal
	FreePackages int64
}

// LimitPolicy says what happens when usage reaches the included quantity.
type LimitPolicy string

// The limit policies.
const (
	// Hard denies usage above the included quantity.
	Hard LimitPolicy = "hard"
	// Soft allows usage above the included quantity and bills the overage.
	Soft LimitPolicy = "soft"
	// Unlimited sets no limit; every unit above the included quantity is billed.
	Unlimited LimitPolicy = "none"
)

// ResetPeriod says when a counter feature's usage starts again from zero.
// The empty ResetPeriod means none, as gauges require.
type ResetPeriod string

// The reset periods.
const (
	ResetBillingPeriod ResetPeriod = "billing_period"
	ResetMonth         ResetPeriod = "month"
	ResetDay           ResetPeriod = "day"
	ResetNever         ResetPeriod = "never"
)

// Entitlement is a plan's grant for one feature: included quantity Q,
// what happens above it, and the overage price O when no usage charge of
// the same feature prices it.
type Entitlement struct {
	FeatureKey       string
	IncludedQuantity money.Decimal
	LimitPolicy      LimitPolicy
	OveragePrice     *money.Decimal
	ResetPeriod      ResetPeriod
}

// Money is an exact amount in one ISO 4217 currency.
type Money struct {
	Amount   money.Decimal
	Currency string
}

// SLA is the service level of a plan assignment.
type SLA string

// The service levels.
const (
	BestEffort SLA = "best_effort"
	Guaranteed SLA = "guaranteed"
)

// PriceUnit is the time a service plan price pays for.
type PriceUnit string

// The price units. A month counts as 30 days (720 hours), a year as 365
// days (8760 hours).
const (
	PerHour  PriceUnit = "hour"
	PerDay   PriceUnit = "day"
	PerMonth PriceUnit = "month"
	PerYear  PriceUnit = "year"
)

// ComputePlan is a size of service instance.
type ComputePlan struct {
	Key         string
	Name        string
	VCPURequest money.Decimal
	VCPULimit   money.Decimal
	// MemoryRequest and MemoryLimit are in Kubernetes notation, like "2Gi".
	MemoryRequest string
	MemoryLimit   string
}

// StoragePlan prices storage per GiB.
type StoragePlan struct {
	Key          string
	Name         string
	PricePerGiB  Money
	PriceUnit    PriceUnit
	ERPProductID string
	ERPUnitID    string
}

// PlanAssignment offers one compute plan at one SLA and price.
type PlanAssignment struct {
	ComputePlanKey   string
	SLA              SLA
	Price            Money
	PriceUnit        PriceUnit
	MinimumInstances int32
	ERPProductID     string
	ERPUnitID        string
	// PlanKey names the billing plan of this assignment; empty if none.
	PlanKey string
}

// Offering is a service on a control plane, for example Forgejo on
// cloudscale, with the compute plans it is sold with.
type Offering struct {
	Key          string
	Name         string
	Service      string
	ControlPlane string
	// StoragePlanKey is empty if the offering has no storage.
	StoragePlanKey string
	Assignments    []PlanAssignment
}

// OfferedPlan is one choice a frontend shows for an offering.
type OfferedPlan struct {
	Assignment   PlanAssignment
	ComputePlan  ComputePlan
	MonthlyPrice Money
}

// OfferingPlans is what a frontend shows when a user orders an offering.
type OfferingPlans struct {
	Offering Offering
	Plans    []OfferedPlan
	// StoragePlan is nil when the offering has no storage.
	StoragePlan *StoragePlan
	Orderable   bool
	// NotOrderableReason is empty when Orderable.
	NotOrderableReason string
}
