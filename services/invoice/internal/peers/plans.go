package peers

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/peer"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// maxCachedPlans bounds the plan versions and features kept: far more
// than a catalog holds, so a run asks the catalog once per version.
const maxCachedPlans = 10_000

// versionKey names one plan version.
type versionKey struct {
	planID  string
	version int32
}

func versionOf(sg *subscriptionv1.Segment) versionKey {
	return versionKey{sg.GetPlanId(), sg.GetPlanVersion()}
}

// planCache keeps the rating plans of published plan versions, which never
// change, and the units of features. When full it starts again empty.
type planCache struct {
	mu    sync.Mutex
	max   int
	plans map[versionKey]*rating.Plan
	unit  map[string]string
}

func newPlanCache(max int) *planCache {
	return &planCache{max: max, plans: map[versionKey]*rating.Plan{}, unit: map[string]string{}}
}

// get returns the plan of every segment's version, asking the catalog for
// those it does not hold.
func (c *planCache) get(ctx context.Context, catalog catalogv1.CatalogServiceClient, segs []*subscriptionv1.Segment) (map[versionKey]*rating.Plan, error) {
	out := map[versionKey]*rating.Plan{}
	var missing []*subscriptionv1.Segment
	c.mu.Lock()
	for _, sg := range segs {
		k := versionOf(sg)
		if p, ok := c.plans[k]; ok {
			out[k] = p
		} else if _, seen := out[k]; !seen {
			out[k] = nil
			missing = append(missing, sg)
		}
	}
	c.mu.Unlock()
	// The catalog is asked with no lock held; two runs may both ask for a
	// new version, and both get the same answer.
	for _, sg := range missing {
		p, err := fetchPlan(ctx, catalog, sg)
		if err != nil {
			return nil, err
		}
		out[versionOf(sg)] = p
		c.mu.Lock()
		if len(c.plans) >= c.max {
			clear(c.plans)
		}
		c.plans[versionOf(sg)] = p
		c.mu.Unlock()
	}
	return out, nil
}

// units returns the unit of every meter's feature, asking the catalog for
// those it does not hold.
func (c *planCache) units(ctx context.Context, catalog catalogv1.CatalogServiceClient, meters []*meteringv1.Meter) (map[string]string, error) {
	out := map[string]string{}
	var missing []string
	c.mu.Lock()
	for _, m := range meters {
		f := m.GetFeatureKey()
		if u, ok := c.unit[f]; ok {
			out[f] = u
		} else if _, seen := out[f]; !seen {
			out[f] = ""
			missing = append(missing, f)
		}
	}
	c.mu.Unlock()
	for _, f := range missing {
		res, err := catalog.GetFeature(ctx, &catalogv1.GetFeatureRequest{FeatureKey: f})
		if status.Code(err) == codes.NotFound {
			continue // a meter of a feature the catalog no longer has: no unit to show
		}
		if err != nil {
			return nil, peer.Failed("catalog", "GetFeature", err)
		}
		out[f] = res.GetFeature().GetUnit()
		c.mu.Lock()
		if len(c.unit) >= c.max {
			clear(c.unit)
		}
		c.unit[f] = out[f]
		c.mu.Unlock()
	}
	return out, nil
}

// fetchPlan reads a segment's plan version from the catalog, with the ERP
// ids of the offering assignment the plan is linked to, if any, and of its
// offering's storage plan.
func fetchPlan(ctx context.Context, catalog catalogv1.CatalogServiceClient, sg *subscriptionv1.Segment) (*rating.Plan, error) {
	res, err := catalog.GetPlanVersion(ctx, &catalogv1.GetPlanVersionRequest{PlanId: sg.GetPlanId(), Version: sg.GetPlanVersion()})
	if err != nil {
		return nil, peer.Failed("catalog", "GetPlanVersion", err)
	}
	iv := sg.GetBillingInterval()
	p := &rating.Plan{Key: sg.GetPlanKey(), Version: int(sg.GetPlanVersion()),
		Interval: rating.Interval{Unit: intervalUnitOf[iv.GetUnit()], Count: int(iv.GetCount())}}
	if err := fillCharges(p, res.GetVersion()); err != nil {
		return nil, fmt.Errorf("peers: plan %s version %d: %w", sg.GetPlanKey(), sg.GetPlanVersion(), err)
	}
	plan, err := catalog.GetPlan(ctx, &catalogv1.GetPlanRequest{PlanId: sg.GetPlanId()})
	if err != nil {
		return nil, peer.Failed("catalog", "GetPlan", err)
	}
	if key := plan.GetPlan().GetOfferingKey(); key != "" {
		off, err := catalog.GetOffering(ctx, &catalogv1.GetOfferingRequest{OfferingKey: key})
		if err != nil {
			return nil, peer.Failed("catalog", "GetOffering", err)
		}
		for _, a := range off.GetOffering().GetAssignments() {
			if a.GetPlanKey() == p.Key {
				p.ERPProductID, p.ERPUnitID = a.GetErpProductId(), a.GetErpUnitId()
				break
			}
		}
		if key := off.GetOffering().GetStoragePlanKey(); key != "" {
			sp, err := catalog.GetStoragePlan(ctx, &catalogv1.GetStoragePlanRequest{StoragePlanKey: key})
			if err != nil {
				return nil, peer.Failed("catalog", "GetStoragePlan", err)
			}
			p.StorageERPProductID, p.StorageERPUnitID = sp.GetStoragePlan().GetErpProductId(), sp.GetStoragePlan().GetErpUnitId()
		}
	}
	return p, nil
}

// fillCharges converts a plan version's charges and entitlements.
func fillCharges(p *rating.Plan, v *catalogv1.PlanVersion) error {
	var bad error
	dec := func(s string) money.Decimal {
		if s == "" {
			return money.Zero
		}
		d, err := money.Parse(s)
		if err != nil && bad == nil {
			bad = err
		}
		return d
	}
	for _, c := range v.GetCharges() {
		switch k := c.GetKind().(type) {
		case *catalogv1.Charge_Recurring:
			timing := rating.InAdvance
			if k.Recurring.GetTiming() == catalogv1.FeeTiming_FEE_TIMING_IN_ARREARS {
				timing = rating.InArrears
			}
			p.Fees = append(p.Fees, rating.RecurringFee{Description: c.GetDescription(), Amount: dec(k.Recurring.GetAmount()),
				Timing: timing, Prorated: k.Recurring.GetProrated()})
		case *catalogv1.Charge_OneTime:
			p.OneTimeFees = append(p.OneTimeFees, rating.OneTimeFee{Description: c.GetDescription(), Amount: dec(k.OneTime.GetAmount())})
		case *catalogv1.Charge_Usage:
			u := k.Usage
			uc := rating.UsageCharge{Description: c.GetDescription(), Feature: u.GetFeatureKey(), Model: modelOf[u.GetModel()],
				UnitPrice: dec(u.GetUnitPrice()), PackageSize: dec(u.GetPackage().GetSize()),
				PackagePrice: dec(u.GetPackage().GetPrice()), FreePackages: u.GetPackage().GetFreePackages()}
			for _, t := range u.GetTiers() {
				uc.Tiers = append(uc.Tiers, rating.Tier{UpTo: dec(t.GetUpTo()), UnitPrice: dec(t.GetUnitPrice()), FlatPrice: dec(t.GetFlatPrice())})
			}
			p.UsageCharges = append(p.UsageCharges, uc)
		}
	}
	for _, e := range v.GetEntitlements() {
		p.Entitlements = append(p.Entitlements, rating.Entitlement{Feature: e.GetFeatureKey(), Included: dec(e.GetIncludedQuantity()),
			HasOverage: e.GetOveragePrice() != "", Overage: dec(e.GetOveragePrice())})
	}
	return bad
}

var modelOf = map[catalogv1.PricingModel]rating.Model{
	catalogv1.PricingModel_PRICING_MODEL_PER_UNIT:  rating.PerUnit,
	catalogv1.PricingModel_PRICING_MODEL_GRADUATED: rating.Graduated,
	catalogv1.PricingModel_PRICING_MODEL_VOLUME:    rating.Volume,
	catalogv1.PricingModel_PRICING_MODEL_PACKAGE:   rating.Package,
}

var intervalUnitOf = map[catalogv1.IntervalUnit]rating.IntervalUnit{
	catalogv1.IntervalUnit_INTERVAL_UNIT_DAY:     rating.Day,
	catalogv1.IntervalUnit_INTERVAL_UNIT_WEEK:    rating.Week,
	catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH:   rating.Month,
	catalogv1.IntervalUnit_INTERVAL_UNIT_QUARTER: rating.Quarter,
	catalogv1.IntervalUnit_INTERVAL_UNIT_YEAR:    rating.Year,
}
