package grpcapi

import (
	"fmt"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/services/catalog/internal/catalog"
)

// enum maps the values of a protobuf enum, but for UNSPECIFIED, to the
// domain's names.
type enum[P ~int32, D ~string] map[P]D

// in returns the domain name of p: empty for UNSPECIFIED, which the domain
// refuses where a value is required, and the number itself for values this
// server does not know, which the domain refuses as unknown.
func (m enum[P, D]) in(p P) D {
	if d, ok := m[p]; ok {
		return d
	}
	if p == 0 {
		return ""
	}
	return D(fmt.Sprint(int32(p)))
}

// out returns the protobuf value of d, UNSPECIFIED for the empty name.
func (m enum[P, D]) out(d D) P {
	for p, name := range m {
		if name == d {
			return p
		}
	}
	return 0
}

var (
	featureKinds = enum[catalogv1.FeatureKind, catalog.FeatureKind]{
		catalogv1.FeatureKind_FEATURE_KIND_GAUGE:   catalog.Gauge,
		catalogv1.FeatureKind_FEATURE_KIND_COUNTER: catalog.Counter,
	}
	intervalUnits = enum[catalogv1.IntervalUnit, catalog.IntervalUnit]{
		catalogv1.IntervalUnit_INTERVAL_UNIT_DAY:     catalog.Day,
		catalogv1.IntervalUnit_INTERVAL_UNIT_WEEK:    catalog.Week,
		catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH:   catalog.Month,
		catalogv1.IntervalUnit_INTERVAL_UNIT_QUARTER: catalog.Quarter,
		catalogv1.IntervalUnit_INTERVAL_UNIT_YEAR:    catalog.Year,
	}
	planStatuses = enum[catalogv1.PlanStatus, catalog.PlanStatus]{
		catalogv1.PlanStatus_PLAN_STATUS_DRAFT:     catalog.PlanDraft,
		catalogv1.PlanStatus_PLAN_STATUS_PUBLISHED: catalog.PlanPublished,
		catalogv1.PlanStatus_PLAN_STATUS_ARCHIVED:  catalog.PlanArchived,
	}
	versionStatuses = enum[catalogv1.VersionStatus, catalog.VersionStatus]{
		catalogv1.VersionStatus_VERSION_STATUS_DRAFT:     catalog.VersionDraft,
		catalogv1.VersionStatus_VERSION_STATUS_PUBLISHED: catalog.VersionPublished,
	}
	feeTimings = enum[catalogv1.FeeTiming, catalog.FeeTiming]{
		catalogv1.FeeTiming_FEE_TIMING_IN_ADVANCE: catalog.InAdvance,
		catalogv1.FeeTiming_FEE_TIMING_IN_ARREARS: catalog.InArrears,
	}
	pricingModels = enum[catalogv1.PricingModel, catalog.PricingModel]{
		catalogv1.PricingModel_PRICING_MODEL_PER_UNIT:  catalog.PerUnit,
		catalogv1.PricingModel_PRICING_MODEL_GRADUATED: catalog.Graduated,
		catalogv1.PricingModel_PRICING_MODEL_VOLUME:    catalog.Volume,
		catalogv1.PricingModel_PRICING_MODEL_PACKAGE:   catalog.PackageFee,
	}
	limitPolicies = enum[catalogv1.LimitPolicy, catalog.LimitPolicy]{
		catalogv1.LimitPolicy_LIMIT_POLICY_HARD: catalog.Hard,
		catalogv1.LimitPolicy_LIMIT_POLICY_SOFT: catalog.Soft,
		catalogv1.LimitPolicy_LIMIT_POLICY_NONE: catalog.Unlimited,
	}
	resetPeriods = enum[catalogv1.ResetPeriod, catalog.ResetPeriod]{
		catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD: catalog.ResetBillingPeriod,
		catalogv1.ResetPeriod_RESET_PERIOD_MONTH:          catalog.ResetMonth,
		catalogv1.ResetPeriod_RESET_PERIOD_DAY:            catalog.ResetDay,
		catalogv1.ResetPeriod_RESET_PERIOD_NEVER:          catalog.ResetNever,
	}
	slas = enum[catalogv1.Sla, catalog.SLA]{
		catalogv1.Sla_SLA_BEST_EFFORT: catalog.BestEffort,
		catalogv1.Sla_SLA_GUARANTEED:  catalog.Guaranteed,
	}
	priceUnits = enum[catalogv1.PriceUnit, catalog.PriceUnit]{
		catalogv1.PriceUnit_PRICE_UNIT_HOUR:  catalog.PerHour,
		catalogv1.PriceUnit_PRICE_UNIT_DAY:   catalog.PerDay,
		catalogv1.PriceUnit_PRICE_UNIT_MONTH: catalog.PerMonth,
		catalogv1.PriceUnit_PRICE_UNIT_YEAR:  catalog.PerYear,
	}
)

// decoder parses the decimal strings of a request, collecting a violation
// for each bad one under its field path.
type decoder struct {
	v errs.Violations
}

// required parses s, which must not be empty.
func (d *decoder) required(field, s string) money.Decimal {
	if s == "" {
		d.v.Add(field, "is required")
		return money.Zero
	}
	x, err := money.Parse(s)
	if err != nil {
		d.v.Add(field, "%v", err)
	}
	return x
}

// optional parses s, returning nil when it is empty.
func (d *decoder) optional(field, s string) *money.Decimal {
	if s == "" {
		return nil
	}
	x := d.required(field, s)
	return &x
}

// zeroIfEmpty parses s, returning zero when it is empty.
func (d *decoder) zeroIfEmpty(field, s string) money.Decimal {
	if s == "" {
		return money.Zero
	}
	return d.required(field, s)
}

func (d *decoder) err() error { return d.v.Err() }

func formatOptional(d *money.Decimal, currency string) string {
	if d == nil {
		return ""
	}
	return money.FormatPrice(*d, currency)
}

func featureIn(f *catalogv1.Feature) catalog.Feature {
	return catalog.Feature{Key: f.GetKey(), Name: f.GetName(), Unit: f.GetUnit(), Kind: featureKinds.in(f.GetKind())}
}

func featureOut(f catalog.Feature) *catalogv1.Feature {
	return &catalogv1.Feature{Key: f.Key, Name: f.Name, Unit: f.Unit, Kind: featureKinds.out(f.Kind), CreateTime: pbtime.New(f.CreateTime)}
}

func planIn(p *catalogv1.Plan) catalog.Plan {
	return catalog.Plan{
		Key: p.GetKey(), Name: p.GetName(), Description: p.GetDescription(), Currency: p.GetCurrency(),
		Interval: catalog.BillingInterval{
			Unit:  intervalUnits.in(p.GetBillingInterval().GetUnit()),
			Count: p.GetBillingInterval().GetCount(),
		},
		OfferingKey: p.GetOfferingKey(),
	}
}

func planOut(p catalog.Plan) *catalogv1.Plan {
	return &catalogv1.Plan{
		PlanId: p.ID, Key: p.Key, Name: p.Name, Description: p.Description, Currency: p.Currency,
		BillingInterval:  &catalogv1.BillingInterval{Unit: intervalUnits.out(p.Interval.Unit), Count: p.Interval.Count},
		OfferingKey:      p.OfferingKey,
		Status:           planStatuses.out(p.Status),
		PublishedVersion: p.PublishedVersion, DraftVersion: p.DraftVersion,
		CreateTime: pbtime.New(p.CreateTime), UpdateTime: pbtime.New(p.UpdateTime),
	}
}

// contentIn converts charges and entitlements whose field path starts with
// prefix, like "draft." or "".
func contentIn(d *decoder, prefix string, charges []*catalogv1.Charge, entitlements []*catalogv1.Entitlement) catalog.Content {
	var c catalog.Content
	for i, ch := range charges {
		p := fmt.Sprintf("%scharges[%d]", prefix, i)
		out := catalog.Charge{Key: ch.GetKey(), Description: ch.GetDescription()}
		if r := ch.GetRecurring(); r != nil {
			out.Recurring = &catalog.RecurringFee{
				Amount: d.required(p+".recurring.amount", r.GetAmount()), Timing: feeTimings.in(r.GetTiming()), Prorated: r.GetProrated(),
			}
		}
		if o := ch.GetOneTime(); o != nil {
			out.OneTime = &catalog.OneTimeFee{Amount: d.required(p+".one_time.amount", o.GetAmount())}
		}
		if u := ch.GetUsage(); u != nil {
			out.Usage = usageIn(d, p+".usage", u)
		}
		c.Charges = append(c.Charges, out)
	}
	for i, e := range entitlements {
		p := fmt.Sprintf("%sentitlements[%d]", prefix, i)
		c.Entitlements = append(c.Entitlements, catalog.Entitlement{
			FeatureKey:       e.GetFeatureKey(),
			IncludedQuantity: d.zeroIfEmpty(p+".included_quantity", e.GetIncludedQuantity()),
			LimitPolicy:      limitPolicies.in(e.GetLimitPolicy()),
			OveragePrice:     d.optional(p+".overage_price", e.GetOveragePrice()),
			ResetPeriod:      resetPeriods.in(e.GetResetPeriod()),
		})
	}
	return c
}

func usageIn(d *decoder, p string, u *catalogv1.UsageCharge) *catalog.UsageCharge {
	out := &catalog.UsageCharge{
		FeatureKey: u.GetFeatureKey(),
		Model:      pricingModels.in(u.GetModel()),
		UnitPrice:  d.optional(p+".unit_price", u.GetUnitPrice()),
	}
	for i, t := range u.GetTiers() {
		tp := fmt.Sprintf("%s.tiers[%d]", p, i)
		out.Tiers = append(out.Tiers, catalog.PriceTier{
			UpTo:      d.optional(tp+".up_to", t.GetUpTo()),
			UnitPrice: d.required(tp+".unit_price", t.GetUnitPrice()),
			FlatPrice: d.zeroIfEmpty(tp+".flat_price", t.GetFlatPrice()),
		})
	}
	if pk := u.GetPackage(); pk != nil {
		out.Package = &catalog.PackagePrice{
			Size:         d.required(p+".package.size", pk.GetSize()),
			Price:        d.required(p+".package.price", pk.GetPrice()),
			FreePackages: pk.GetFreePackages(),
		}
	}
	return out
}

func versionOut(v catalog.PlanVersion) *catalogv1.PlanVersion {
	out := &catalogv1.PlanVersion{
		PlanId: v.PlanID, Version: v.Version, Status: versionStatuses.out(v.Status),
		PublishTime: pbtime.New(v.PublishTime), CreateTime: pbtime.New(v.CreateTime),
	}
	for _, ch := range v.Charges {
		out.Charges = append(out.Charges, chargeOut(ch, v.Currency))
	}
	for _, e := range v.Entitlements {
		out.Entitlements = append(out.Entitlements, &catalogv1.Entitlement{
			FeatureKey:       e.FeatureKey,
			IncludedQuantity: money.Format(e.IncludedQuantity),
			LimitPolicy:      limitPolicies.out(e.LimitPolicy),
			OveragePrice:     formatOptional(e.OveragePrice, v.Currency),
			ResetPeriod:      resetPeriods.out(e.ResetPeriod),
		})
	}
	return out
}

func chargeOut(ch catalog.Charge, currency string) *catalogv1.Charge {
	out := &catalogv1.Charge{Key: ch.Key, Description: ch.Description}
	switch {
	case ch.Recurring != nil:
		out.Kind = &catalogv1.Charge_Recurring{Recurring: &catalogv1.RecurringFee{
			Amount: money.FormatPrice(ch.Recurring.Amount, currency), Timing: feeTimings.out(ch.Recurring.Timing), Prorated: ch.Recurring.Prorated,
		}}
	case ch.OneTime != nil:
		out.Kind = &catalogv1.Charge_OneTime{OneTime: &catalogv1.OneTimeFee{Amount: money.FormatPrice(ch.OneTime.Amount, currency)}}
	case ch.Usage != nil:
		u := ch.Usage
		pu := &catalogv1.UsageCharge{FeatureKey: u.FeatureKey, Model: pricingModels.out(u.Model), UnitPrice: formatOptional(u.UnitPrice, currency)}
		for _, t := range u.Tiers {
			pu.Tiers = append(pu.Tiers, &catalogv1.PriceTier{
				UpTo: formatOptional(t.UpTo, ""), UnitPrice: money.FormatPrice(t.UnitPrice, currency), FlatPrice: money.FormatPrice(t.FlatPrice, currency),
			})
		}
		if pk := u.Package; pk != nil {
			pu.Package = &catalogv1.PackagePrice{Size: money.Format(pk.Size), Price: money.FormatPrice(pk.Price, currency), FreePackages: pk.FreePackages}
		}
		out.Kind = &catalogv1.Charge_Usage{Usage: pu}
	}
	return out
}

func moneyIn(d *decoder, field string, m *commonv1.Money) catalog.Money {
	return catalog.Money{Amount: d.required(field+".amount", m.GetAmount()), Currency: m.GetCurrency()}
}

func moneyOut(m catalog.Money) *commonv1.Money {
	return &commonv1.Money{Amount: money.FormatPrice(m.Amount, m.Currency), Currency: m.Currency}
}

func computePlanIn(d *decoder, p string, c *catalogv1.ComputePlan) catalog.ComputePlan {
	return catalog.ComputePlan{
		Key: c.GetKey(), Name: c.GetName(),
		VCPURequest:   d.required(p+".vcpu_request", c.GetVcpuRequest()),
		VCPULimit:     d.required(p+".vcpu_limit", c.GetVcpuLimit()),
		MemoryRequest: c.GetMemoryRequest(), MemoryLimit: c.GetMemoryLimit(),
	}
}

func computePlanOut(c catalog.ComputePlan) *catalogv1.ComputePlan {
	return &catalogv1.ComputePlan{
		Key: c.Key, Name: c.Name, VcpuRequest: money.Format(c.VCPURequest), VcpuLimit: money.Format(c.VCPULimit),
		MemoryRequest: c.MemoryRequest, MemoryLimit: c.MemoryLimit,
	}
}

func storagePlanIn(d *decoder, p string, s *catalogv1.StoragePlan) catalog.StoragePlan {
	return catalog.StoragePlan{
		Key: s.GetKey(), Name: s.GetName(), PricePerGiB: moneyIn(d, p+".price_per_gib", s.GetPricePerGib()),
		PriceUnit: priceUnits.in(s.GetPriceUnit()), ERPProductID: s.GetErpProductId(), ERPUnitID: s.GetErpUnitId(),
	}
}

func storagePlanOut(s catalog.StoragePlan) *catalogv1.StoragePlan {
	return &catalogv1.StoragePlan{
		Key: s.Key, Name: s.Name, PricePerGib: moneyOut(s.PricePerGiB), PriceUnit: priceUnits.out(s.PriceUnit),
		ErpProductId: s.ERPProductID, ErpUnitId: s.ERPUnitID,
	}
}

// assignmentsIn converts assignments whose field path starts with prefix,
// like "offering." or "".
func assignmentsIn(d *decoder, prefix string, as []*catalogv1.PlanAssignment) []catalog.PlanAssignment {
	var out []catalog.PlanAssignment
	for i, a := range as {
		p := fmt.Sprintf("%sassignments[%d]", prefix, i)
		out = append(out, catalog.PlanAssignment{
			ComputePlanKey: a.GetComputePlanKey(), SLA: slas.in(a.GetSla()),
			Price: moneyIn(d, p+".price", a.GetPrice()), PriceUnit: priceUnits.in(a.GetPriceUnit()),
			MinimumInstances: a.GetMinimumInstances(), ERPProductID: a.GetErpProductId(), ERPUnitID: a.GetErpUnitId(),
			PlanKey: a.GetPlanKey(),
		})
	}
	return out
}

func assignmentOut(a catalog.PlanAssignment) *catalogv1.PlanAssignment {
	return &catalogv1.PlanAssignment{
		ComputePlanKey: a.ComputePlanKey, Sla: slas.out(a.SLA), Price: moneyOut(a.Price), PriceUnit: priceUnits.out(a.PriceUnit),
		MinimumInstances: a.MinimumInstances, ErpProductId: a.ERPProductID, ErpUnitId: a.ERPUnitID, PlanKey: a.PlanKey,
	}
}

func offeringIn(d *decoder, o *catalogv1.Offering) catalog.Offering {
	return catalog.Offering{
		Key: o.GetKey(), Name: o.GetName(), Service: o.GetService(), ControlPlane: o.GetControlPlane(),
		StoragePlanKey: o.GetStoragePlanKey(), Assignments: assignmentsIn(d, "offering.", o.GetAssignments()),
	}
}

func offeringOut(o catalog.Offering) *catalogv1.Offering {
	out := &catalogv1.Offering{
		Key: o.Key, Name: o.Name, Service: o.Service, ControlPlane: o.ControlPlane, StoragePlanKey: o.StoragePlanKey,
	}
	for _, a := range o.Assignments {
		out.Assignments = append(out.Assignments, assignmentOut(a))
	}
	return out
}
