package catalog

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
)

// Seed fills the catalog behind c with the demo catalog: Aegir-style
// hosting plans in EUR and a Servala-style offering in CHF. It can run
// again on a seeded catalog: every call carries an idempotency key
// "demo-…", and what exists already is left as it is.
func Seed(ctx context.Context, c catalogv1.CatalogServiceClient) error {
	for _, f := range demoFeatures {
		_, err := c.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{Feature: f, IdempotencyKey: "demo-feature-" + f.Key})
		if err := exists(err, "feature "+f.Key); err != nil {
			return err
		}
	}
	for _, p := range demoPlans {
		if err := seedPlan(ctx, c, p); err != nil {
			return err
		}
	}
	for _, cp := range demoComputePlans {
		_, err := c.CreateComputePlan(ctx, &catalogv1.CreateComputePlanRequest{ComputePlan: cp, IdempotencyKey: "demo-compute-plan-" + cp.Key})
		if err := exists(err, "compute plan "+cp.Key); err != nil {
			return err
		}
	}
	for _, sp := range demoStoragePlans {
		_, err := c.CreateStoragePlan(ctx, &catalogv1.CreateStoragePlanRequest{StoragePlan: sp, IdempotencyKey: "demo-storage-plan-" + sp.Key})
		if err := exists(err, "storage plan "+sp.Key); err != nil {
			return err
		}
	}
	for _, o := range demoOfferings {
		_, err := c.CreateOffering(ctx, &catalogv1.CreateOfferingRequest{Offering: o, IdempotencyKey: "demo-offering-" + o.Key})
		if err := exists(err, "offering "+o.Key); err != nil {
			return err
		}
	}
	return nil
}

// seedPlan creates the plan of p unless it exists and publishes it unless
// it is published.
func seedPlan(ctx context.Context, c catalogv1.CatalogServiceClient, p *catalogv1.CreatePlanRequest) error {
	// A copy: the demo plans are shared by every caller, and a test may
	// seed several catalogs at once.
	p = proto.CloneOf(p)
	key := p.GetPlan().GetKey()
	p.IdempotencyKey = "demo-plan-" + key
	if _, err := c.CreatePlan(ctx, p); exists(err, "plan "+key) != nil {
		return exists(err, "plan "+key)
	}
	got, err := c.GetPlan(ctx, &catalogv1.GetPlanRequest{PlanId: key})
	if err != nil {
		return fmt.Errorf("demo: get plan %s: %w", key, err)
	}
	if got.GetPlan().GetStatus() != catalogv1.PlanStatus_PLAN_STATUS_DRAFT {
		return nil
	}
	if _, err := c.PublishPlan(ctx, &catalogv1.PublishPlanRequest{PlanId: key, IdempotencyKey: "demo-publish-" + key}); err != nil {
		return fmt.Errorf("demo: publish plan %s: %w", key, err)
	}
	return nil
}

// exists returns nil if err is nil or says that what already exists.
func exists(err error, what string) error {
	if err == nil || status.Code(err) == codes.AlreadyExists {
		return nil
	}
	return fmt.Errorf("demo: create %s: %w", what, err)
}

var demoFeatures = []*catalogv1.Feature{
	{Key: "sites", Name: "Sites", Unit: "site", Kind: catalogv1.FeatureKind_FEATURE_KIND_GAUGE},
	{Key: "bandwidth_gib", Name: "Bandwidth", Unit: "GiB", Kind: catalogv1.FeatureKind_FEATURE_KIND_COUNTER},
	{Key: "disk_gib", Name: "Disk", Unit: "GiB", Kind: catalogv1.FeatureKind_FEATURE_KIND_GAUGE},
}

var monthly = &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}

func monthlyFee(amount string) *catalogv1.Charge {
	return &catalogv1.Charge{Key: "base", Description: "Monthly fee", Kind: &catalogv1.Charge_Recurring{Recurring: &catalogv1.RecurringFee{
		Amount: amount, Timing: catalogv1.FeeTiming_FEE_TIMING_IN_ADVANCE, Prorated: true,
	}}}
}

func perUnit(key, description, feature, price string) *catalogv1.Charge {
	return &catalogv1.Charge{Key: key, Description: description, Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{
		FeatureKey: feature, Model: catalogv1.PricingModel_PRICING_MODEL_PER_UNIT, UnitPrice: price,
	}}}
}

var demoPlans = []*catalogv1.CreatePlanRequest{
	{
		Plan: &catalogv1.Plan{Key: "hosting_single", Name: "Single site", Description: "One site for 5 EUR a month.", Currency: "EUR", BillingInterval: monthly},
		Draft: &catalogv1.PlanVersion{
			Charges: []*catalogv1.Charge{monthlyFee("5.00")},
			Entitlements: []*catalogv1.Entitlement{
				{FeatureKey: "sites", IncludedQuantity: "1", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_HARD},
			},
		},
	},
	{
		Plan: &catalogv1.Plan{Key: "hosting_50", Name: "50 sites", Description: "Up to 50 sites and 500 GiB of bandwidth a month; more bandwidth at 0.10 EUR/GiB.", Currency: "EUR", BillingInterval: monthly},
		Draft: &catalogv1.PlanVersion{
			Charges: []*catalogv1.Charge{monthlyFee("49.00")},
			Entitlements: []*catalogv1.Entitlement{
				{FeatureKey: "sites", IncludedQuantity: "50", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_HARD},
				{
					FeatureKey: "bandwidth_gib", IncludedQuantity: "500", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_SOFT,
					OveragePrice: "0.10", ResetPeriod: catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD,
				},
			},
		},
	},
	{
		Plan: &catalogv1.Plan{Key: "hosting_payg", Name: "Pay as you go", Description: "2 EUR per site and month, 0.08 EUR per GiB of bandwidth, no flat fee.", Currency: "EUR", BillingInterval: monthly},
		Draft: &catalogv1.PlanVersion{
			Charges: []*catalogv1.Charge{
				perUnit("sites", "Sites (per site-month)", "sites", "2.00"),
				perUnit("bandwidth", "Bandwidth (per GiB)", "bandwidth_gib", "0.08"),
			},
			Entitlements: []*catalogv1.Entitlement{
				{FeatureKey: "sites", IncludedQuantity: "0", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_NONE},
				{
					FeatureKey: "bandwidth_gib", IncludedQuantity: "0", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_NONE,
					ResetPeriod: catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD,
				},
			},
		},
	},
}

var demoComputePlans = []*catalogv1.ComputePlan{
	{Key: "standard-2", Name: "Standard 2", VcpuRequest: "0.5", VcpuLimit: "2", MemoryRequest: "2Gi", MemoryLimit: "4Gi"},
	{Key: "standard-4", Name: "Standard 4", VcpuRequest: "1", VcpuLimit: "4", MemoryRequest: "4Gi", MemoryLimit: "8Gi"},
}

func chf(amount string) *commonv1.Money { return &commonv1.Money{Amount: amount, Currency: "CHF"} }

var demoStoragePlans = []*catalogv1.StoragePlan{{
	Key: "cloudscale-ssd", Name: "cloudscale SSD", PricePerGib: chf("0.15"), PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_MONTH,
	ErpProductId: "openshift-cloudscale-storage-ssd", ErpUnitId: "gib_month",
}}

func assignment(computePlan string, sla catalogv1.Sla, price string, unit catalogv1.PriceUnit, minimum int32, erpProduct, erpUnit string) *catalogv1.PlanAssignment {
	return &catalogv1.PlanAssignment{
		ComputePlanKey: computePlan, Sla: sla, Price: chf(price), PriceUnit: unit,
		MinimumInstances: minimum, ErpProductId: erpProduct, ErpUnitId: erpUnit,
	}
}

var demoOfferings = []*catalogv1.Offering{
	{
		Key: "forgejo-cloudscale", Name: "Forgejo on cloudscale", Service: "forgejo", ControlPlane: "cloudscale",
		StoragePlanKey: "cloudscale-ssd",
		Assignments: []*catalogv1.PlanAssignment{
			assignment("standard-2", catalogv1.Sla_SLA_BEST_EFFORT, "42.00", catalogv1.PriceUnit_PRICE_UNIT_MONTH, 1,
				"openshift-cloudscale-workervcpu-besteffort", "instance_month"),
			assignment("standard-2", catalogv1.Sla_SLA_GUARANTEED, "0.09", catalogv1.PriceUnit_PRICE_UNIT_HOUR, 2,
				"openshift-cloudscale-workervcpu-guaranteed", "instance_hour"),
			assignment("standard-4", catalogv1.Sla_SLA_BEST_EFFORT, "84.00", catalogv1.PriceUnit_PRICE_UNIT_MONTH, 1,
				"openshift-cloudscale-workervcpu-besteffort", "instance_month"),
			assignment("standard-4", catalogv1.Sla_SLA_GUARANTEED, "0.18", catalogv1.PriceUnit_PRICE_UNIT_HOUR, 2,
				"openshift-cloudscale-workervcpu-guaranteed", "instance_hour"),
		},
	},
	{Key: "redis-exoscale", Name: "Redis on Exoscale", Service: "redis", ControlPlane: "exoscale"},
}
