package catalog

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
)

// wantViolation checks that err is an Invalid error with exactly one
// violation, of field, whose description contains desc; or, when field is
// empty, that err is nil.
func wantViolation(t *testing.T, err error, field, desc string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
		return
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		t.Fatalf("got %v, want an Invalid error on %s", err, field)
	}
	if len(e.Violations) != 1 || e.Violations[0].Field != field || !strings.Contains(e.Violations[0].Description, desc) {
		t.Fatalf("got violations %+v, want exactly one on %s saying %q", e.Violations, field, desc)
	}
}

func dec(s string) money.Decimal { return money.MustParse(s) }

func decp(s string) *money.Decimal {
	d := money.MustParse(s)
	return &d
}

var testFeatures = map[string]Feature{
	"sites":         {Key: "sites", Name: "Sites", Unit: "site", Kind: Gauge},
	"bandwidth_gib": {Key: "bandwidth_gib", Name: "Bandwidth", Unit: "GiB", Kind: Counter},
}

// validPlan is a plan with a flat fee, a hard site limit and soft bandwidth
// billed by a usage charge; each test row breaks one thing.
func validPlan() CreatePlanInput {
	return CreatePlanInput{
		Plan: Plan{Key: "hosting_50", Name: "50 sites", Currency: "EUR", Interval: BillingInterval{Unit: Month, Count: 1}},
		Draft: Content{
			Charges: []Charge{
				{Key: "base", Recurring: &RecurringFee{Amount: dec("49.00"), Timing: InAdvance, Prorated: true}},
				{Key: "bandwidth", Usage: &UsageCharge{FeatureKey: "bandwidth_gib", Model: PerUnit, UnitPrice: decp("0.10")}},
			},
			Entitlements: []Entitlement{
				{FeatureKey: "sites", IncludedQuantity: dec("50"), LimitPolicy: Hard},
				{FeatureKey: "bandwidth_gib", IncludedQuantity: dec("500"), LimitPolicy: Soft, ResetPeriod: ResetBillingPeriod},
			},
		},
	}
}

func TestCreatePlanInputValidate(t *testing.T) {
	t.Parallel()
	known := Known{Features: testFeatures, Offerings: map[string]Offering{"forgejo-cloudscale": {Key: "forgejo-cloudscale"}}}
	tests := []struct {
		name        string
		edit        func(in *CreatePlanInput)
		field, desc string
	}{
		{"a plan with a fee, a hard limit and priced soft usage is valid", func(*CreatePlanInput) {}, "", ""},
		{"a plan with an empty draft is valid", func(in *CreatePlanInput) { in.Draft = Content{} }, "", ""},
		{"a plan sold under an existing offering is valid", func(in *CreatePlanInput) { in.Plan.OfferingKey = "forgejo-cloudscale" }, "", ""},
		{"a plan under an unknown offering is refused", func(in *CreatePlanInput) { in.Plan.OfferingKey = "nope" }, "plan.offering_key", "does not exist"},
		{"a plan without a key is refused", func(in *CreatePlanInput) { in.Plan.Key = "" }, "plan.key", "is required"},
		{"a plan key in camel case is refused", func(in *CreatePlanInput) { in.Plan.Key = "hostingFifty" }, "plan.key", "lower snake case"},
		{"a plan key with a dash is refused", func(in *CreatePlanInput) { in.Plan.Key = "hosting-50" }, "plan.key", "lower snake case"},
		{"a plan without a name is refused", func(in *CreatePlanInput) { in.Plan.Name = "" }, "plan.name", "is required"},
		{"a plan without a currency is refused", func(in *CreatePlanInput) { in.Plan.Currency = "" }, "plan.currency", "is required"},
		{"a lower-case currency is refused", func(in *CreatePlanInput) { in.Plan.Currency = "eur" }, "plan.currency", "ISO 4217"},
		{"a currency that is not ISO 4217 is refused", func(in *CreatePlanInput) { in.Plan.Currency = "XYZ" }, "plan.currency", "ISO 4217"},
		{"an interval of zero months is refused", func(in *CreatePlanInput) { in.Plan.Interval.Count = 0 }, "plan.billing_interval.count", "1 to 100"},
		{"an interval of the largest int32 count is refused", func(in *CreatePlanInput) { in.Plan.Interval.Count = 2147483647 }, "plan.billing_interval.count", "1 to 100"},
		{"an interval of 100 months is valid", func(in *CreatePlanInput) { in.Plan.Interval.Count = 100 }, "", ""},
		{"an interval of 11 years is refused", func(in *CreatePlanInput) {
			in.Plan.Interval = BillingInterval{Unit: Year, Count: 11}
		}, "plan.billing_interval.count", "at most 10 years"},
		{"an interval of 41 quarters is refused", func(in *CreatePlanInput) {
			in.Plan.Interval = BillingInterval{Unit: Quarter, Count: 41}
		}, "plan.billing_interval.count", "at most 10 years"},
		{"a recurring fee finer than the currency's cent is refused", func(in *CreatePlanInput) { in.Draft.Charges[0].Recurring.Amount = dec("9.001") }, "draft.charges[0].recurring.amount", "at most 2 fraction digits"},
		{"a recurring fee with trailing zeros is valid", func(in *CreatePlanInput) { in.Draft.Charges[0].Recurring.Amount = dec("9.000") }, "", ""},
		{"a recurring fee of 10^12 is refused", func(in *CreatePlanInput) { in.Draft.Charges[0].Recurring.Amount = dec("1000000000000") }, "draft.charges[0].recurring.amount", "below 10^12"},
		{"a unit price of 0.0004 is valid", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PerUnit, UnitPrice: decp("0.0004")}
		}, "", ""},
		{"a unit price of nine fraction digits is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PerUnit, UnitPrice: decp("0.000000001")}
		}, "draft.charges[1].usage.unit_price", "at most 8 fraction digits"},
		{"an included quantity of seven fraction digits is refused", func(in *CreatePlanInput) {
			in.Draft.Entitlements[0].IncludedQuantity = dec("0.0000001")
		}, "draft.entitlements[0].included_quantity", "at most 6 fraction digits"},
		{"an interval without a unit is refused", func(in *CreatePlanInput) { in.Plan.Interval.Unit = "" }, "plan.billing_interval.unit", "is required"},
		{"an interval in an unknown unit is refused", func(in *CreatePlanInput) { in.Plan.Interval.Unit = "7" }, "plan.billing_interval.unit", "unknown value"},
		{"a recurring fee without timing is refused", func(in *CreatePlanInput) { in.Draft.Charges[0].Recurring.Timing = "" }, "draft.charges[0].recurring.timing", "is required"},
		{"a negative recurring fee is refused", func(in *CreatePlanInput) { in.Draft.Charges[0].Recurring.Amount = dec("-1") }, "draft.charges[0].recurring.amount", "negative"},
		{"a recurring fee of zero is valid", func(in *CreatePlanInput) { in.Draft.Charges[0].Recurring.Amount = dec("0") }, "", ""},
		{"a negative one-time fee is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[0] = Charge{Key: "setup", OneTime: &OneTimeFee{Amount: dec("-0.01")}}
		}, "draft.charges[0].one_time.amount", "negative"},
		{"a charge of no kind is refused", func(in *CreatePlanInput) { in.Draft.Charges[0].Recurring = nil }, "draft.charges[0]", "exactly one"},
		{"a charge of two kinds is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[0].OneTime = &OneTimeFee{Amount: dec("1")}
		}, "draft.charges[0]", "exactly one"},
		{"a charge without a key is refused", func(in *CreatePlanInput) { in.Draft.Charges[0].Key = "" }, "draft.charges[0].key", "is required"},
		{"two charges with the same key are refused", func(in *CreatePlanInput) { in.Draft.Charges[1].Key = "base" }, "draft.charges[1].key", "repeats the key of charges[0]"},
		{"a usage charge of an unknown feature is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage.FeatureKey = "mailboxes"
		}, "draft.charges[1].usage.feature_key", `feature "mailboxes" does not exist`},
		{"two usage charges of one feature are refused", func(in *CreatePlanInput) {
			in.Draft.Charges = append(in.Draft.Charges, Charge{Key: "bandwidth2", Usage: &UsageCharge{FeatureKey: "bandwidth_gib", Model: PerUnit, UnitPrice: decp("1")}})
		}, "draft.charges[2].usage.feature_key", "already priced by charges[1]"},
		{"a usage charge without a model is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib"}
		}, "draft.charges[1].usage.model", "is required"},
		{"a per-unit charge without a unit price is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage.UnitPrice = nil
		}, "draft.charges[1].usage.unit_price", "required for the per-unit model"},
		{"a per-unit charge with a negative unit price is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage.UnitPrice = decp("-0.10")
		}, "draft.charges[1].usage.unit_price", "negative"},
		{"a per-unit charge with tiers is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage.Tiers = []PriceTier{{UnitPrice: dec("1")}}
		}, "draft.charges[1].usage.tiers", "only for the graduated and volume models"},
		{"a per-unit charge with a package is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage.Package = &PackagePrice{Size: dec("10"), Price: dec("1")}
		}, "draft.charges[1].usage.package", "only for the package model"},
		{"a graduated charge with a unit price is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage.Model = Graduated
			in.Draft.Charges[1].Usage.Tiers = []PriceTier{{UnitPrice: dec("1")}}
		}, "draft.charges[1].usage.unit_price", "only for the per-unit model"},
		{"a volume charge with a package is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: Volume, Tiers: []PriceTier{{UnitPrice: dec("1")}}, Package: &PackagePrice{Size: dec("1")}}
		}, "draft.charges[1].usage.package", "only for the package model"},
		{"a package charge with tiers is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PackageFee, Package: &PackagePrice{Size: dec("100"), Price: dec("5")}, Tiers: []PriceTier{{UnitPrice: dec("1")}}}
		}, "draft.charges[1].usage.tiers", "only for the graduated and volume models"},
		{"a package charge of 100 GiB for 5 EUR with 1 free package is valid", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PackageFee, Package: &PackagePrice{Size: dec("100"), Price: dec("5"), FreePackages: 1}}
		}, "", ""},
		{"a package charge without a package is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PackageFee}
		}, "draft.charges[1].usage.package", "required for the package model"},
		{"a package of size 0 is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PackageFee, Package: &PackagePrice{Size: dec("0"), Price: dec("5")}}
		}, "draft.charges[1].usage.package.size", "greater than 0"},
		{"a package of negative size is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PackageFee, Package: &PackagePrice{Size: dec("-10"), Price: dec("5")}}
		}, "draft.charges[1].usage.package.size", "greater than 0"},
		{"a package with a negative price is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PackageFee, Package: &PackagePrice{Size: dec("10"), Price: dec("-5")}}
		}, "draft.charges[1].usage.package.price", "negative"},
		{"a package with negative free packages is refused", func(in *CreatePlanInput) {
			in.Draft.Charges[1].Usage = &UsageCharge{FeatureKey: "bandwidth_gib", Model: PackageFee, Package: &PackagePrice{Size: dec("10"), Price: dec("5"), FreePackages: -1}}
		}, "draft.charges[1].usage.package.free_packages", "0 to"},
		{"an entitlement of an unknown feature is refused", func(in *CreatePlanInput) {
			in.Draft.Entitlements[0].FeatureKey = "mailboxes"
		}, "draft.entitlements[0].feature_key", `feature "mailboxes" does not exist`},
		{"two entitlements of one feature are refused", func(in *CreatePlanInput) {
			in.Draft.Entitlements = append(in.Draft.Entitlements, Entitlement{FeatureKey: "sites", IncludedQuantity: dec("1"), LimitPolicy: Hard})
		}, "draft.entitlements[2].feature_key", "already has entitlements[0]"},
		{"a negative included quantity is refused", func(in *CreatePlanInput) {
			in.Draft.Entitlements[0].IncludedQuantity = dec("-1")
		}, "draft.entitlements[0].included_quantity", "negative"},
		{"an entitlement without a limit policy is refused", func(in *CreatePlanInput) {
			in.Draft.Entitlements[0].LimitPolicy = ""
		}, "draft.entitlements[0].limit_policy", "is required"},
		{"an overage price on a hard limit is refused", func(in *CreatePlanInput) {
			in.Draft.Entitlements[0].OveragePrice = decp("1")
		}, "draft.entitlements[0].overage_price", "hard limit sells no overage"},
		{"an overage price for a feature that a usage charge also prices is ambiguous", func(in *CreatePlanInput) {
			in.Draft.Entitlements[1].OveragePrice = decp("0.10")
		}, "draft.entitlements[1].overage_price", "ambiguous"},
		{"a soft limit with an overage price and no usage charge is valid", func(in *CreatePlanInput) {
			in.Draft.Charges = in.Draft.Charges[:1]
			in.Draft.Entitlements[1].OveragePrice = decp("0.10")
		}, "", ""},
		{"a negative overage price is refused", func(in *CreatePlanInput) {
			in.Draft.Charges = in.Draft.Charges[:1]
			in.Draft.Entitlements[1].OveragePrice = decp("-0.10")
		}, "draft.entitlements[1].overage_price", "negative"},
		{"a gauge with a reset period is refused", func(in *CreatePlanInput) {
			in.Draft.Entitlements[0].ResetPeriod = ResetMonth
		}, "draft.entitlements[0].reset_period", "gauge"},
		{"a counter without a reset period is refused", func(in *CreatePlanInput) {
			in.Draft.Entitlements[1].ResetPeriod = ""
		}, "draft.entitlements[1].reset_period", "is required"},
		{"a counter that never resets is valid", func(in *CreatePlanInput) {
			in.Draft.Entitlements[1].ResetPeriod = ResetNever
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := validPlan()
			tt.edit(&in)
			wantViolation(t, in.Validate(known), tt.field, tt.desc)
		})
	}
}

// tier is a price tier up to upTo ("" for the open last tier) at unitPrice
// per unit.
func tier(upTo, unitPrice string) PriceTier {
	t := PriceTier{UnitPrice: dec(unitPrice)}
	if upTo != "" {
		t.UpTo = decp(upTo)
	}
	return t
}

func TestTierShapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		tiers       []PriceTier
		field, desc string
	}{
		{"one open tier is valid", []PriceTier{tier("", "0.1")}, "", ""},
		{"three ascending tiers ending open are valid", []PriceTier{tier("100", "0"), tier("1000", "0.08"), tier("", "0.05")}, "", ""},
		{"fractional bounds are valid", []PriceTier{tier("0.5", "0"), tier("", "1")}, "", ""},
		{"no tiers are refused", nil, "tiers", "at least one tier"},
		{"a closed last tier is refused", []PriceTier{tier("100", "0"), tier("200", "1")}, "tiers[1].up_to", "last tier is open"},
		{"a single closed tier is refused", []PriceTier{tier("100", "0")}, "tiers[0].up_to", "last tier is open"},
		{"an open tier before the last is refused", []PriceTier{tier("", "0"), tier("", "1")}, "tiers[0].up_to", "required on every tier but the last"},
		{"an up_to of zero is refused", []PriceTier{tier("0", "0"), tier("", "1")}, "tiers[0].up_to", "greater than 0"},
		{"a negative up_to is refused", []PriceTier{tier("-5", "0"), tier("", "1")}, "tiers[0].up_to", "greater than 0"},
		{"descending tiers are refused", []PriceTier{tier("200", "0"), tier("100", "1"), tier("", "2")}, "tiers[1].up_to", "tiers ascend"},
		{"tiers ending at the same quantity overlap", []PriceTier{tier("100", "0"), tier("100.0", "1"), tier("", "2")}, "tiers[1].up_to", "overlaps tiers[0]"},
		{"a negative unit price is refused", []PriceTier{tier("100", "-1"), tier("", "1")}, "tiers[0].unit_price", "negative"},
		{"a negative flat price is refused", []PriceTier{{UpTo: decp("100"), FlatPrice: dec("-10")}, tier("", "1")}, "tiers[0].flat_price", "negative"},
		{"a flat price alone is valid", []PriceTier{{UpTo: decp("100"), FlatPrice: dec("10")}, tier("", "1")}, "", ""},
	}
	for _, model := range []PricingModel{Graduated, Volume} {
		for _, tt := range tests {
			t.Run(string(model)+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				in := UpdatePlanVersionInput{PlanRef: "p", Version: 1, Content: Content{Charges: []Charge{{
					Key: "bandwidth", Usage: &UsageCharge{FeatureKey: "bandwidth_gib", Model: model, Tiers: tt.tiers},
				}}}}
				field := tt.field
				if field != "" {
					field = "charges[0].usage." + field
				}
				wantViolation(t, in.Validate(Known{Features: testFeatures}), field, tt.desc)
			})
		}
	}
}

func TestUpdatePlanVersionInputValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          UpdatePlanVersionInput
		field, desc string
	}{
		{"emptying a draft is valid", UpdatePlanVersionInput{PlanRef: "hosting_50", Version: 2}, "", ""},
		{"version 0 is refused", UpdatePlanVersionInput{PlanRef: "hosting_50"}, "version", "at least 1"},
		{"a missing plan is refused", UpdatePlanVersionInput{Version: 1}, "plan_id", "is required"},
		{"charge paths start at the request", UpdatePlanVersionInput{PlanRef: "p", Version: 1, Content: Content{Charges: []Charge{{Key: "Base", OneTime: &OneTimeFee{}}}}}, "charges[0].key", "snake case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantViolation(t, tt.in.Validate(Known{Features: testFeatures}), tt.field, tt.desc)
		})
	}
}

func TestCreateFeatureInputValidate(t *testing.T) {
	t.Parallel()
	valid := Feature{Key: "bandwidth_gib", Name: "Bandwidth", Unit: "GiB", Kind: Counter}
	tests := []struct {
		name        string
		edit        func(f *Feature)
		field, desc string
	}{
		{"a counter with key, name and unit is valid", func(*Feature) {}, "", ""},
		{"a key with digits is valid", func(f *Feature) { f.Key = "cpu_core_hours_2" }, "", ""},
		{"a key starting with a digit is refused", func(f *Feature) { f.Key = "2sites" }, "feature.key", "snake case"},
		{"a key with a double underscore is refused", func(f *Feature) { f.Key = "disk__gib" }, "feature.key", "snake case"},
		{"a key ending in an underscore is refused", func(f *Feature) { f.Key = "sites_" }, "feature.key", "snake case"},
		{"a key with a dash is refused", func(f *Feature) { f.Key = "disk-gib" }, "feature.key", "snake case"},
		{"a key of 65 characters is refused", func(f *Feature) { f.Key = strings.Repeat("a", 65) }, "feature.key", "at most 64"},
		{"a feature without a name is refused", func(f *Feature) { f.Name = "" }, "feature.name", "is required"},
		{"a name of 201 characters is refused", func(f *Feature) { f.Name = strings.Repeat("é", 201) }, "feature.name", "at most 200"},
		{"a feature without a unit is refused", func(f *Feature) { f.Unit = "" }, "feature.unit", "is required"},
		{"a feature without a kind is refused", func(f *Feature) { f.Kind = "" }, "feature.kind", "is required"},
		{"a feature of an unknown kind is refused", func(f *Feature) { f.Kind = "9" }, "feature.kind", "unknown value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := valid
			tt.edit(&f)
			wantViolation(t, CreateFeatureInput{Feature: f}.Validate(), tt.field, tt.desc)
		})
	}
}

func TestCreateComputePlanInputValidate(t *testing.T) {
	t.Parallel()
	valid := ComputePlan{Key: "standard-2", Name: "Standard 2", VCPURequest: dec("0.5"), VCPULimit: dec("2"), MemoryRequest: "2Gi", MemoryLimit: "4Gi"}
	tests := []struct {
		name        string
		edit        func(c *ComputePlan)
		field, desc string
	}{
		{"0.5 of 2 vCPU and 2Gi of 4Gi is valid", func(*ComputePlan) {}, "", ""},
		{"requests equal to limits are valid", func(c *ComputePlan) { c.VCPURequest, c.MemoryRequest = dec("2"), "4096Mi" }, "", ""},
		{"512Mi of 1.5Gi is valid", func(c *ComputePlan) { c.MemoryRequest, c.MemoryLimit = "512Mi", "1.5Gi" }, "", ""},
		{"1G of 1Gi is valid, as 1G is less than 1Gi", func(c *ComputePlan) { c.MemoryRequest, c.MemoryLimit = "1G", "1Gi" }, "", ""},
		{"a key with an underscore and a dash is valid", func(c *ComputePlan) { c.Key = "standard_x-2" }, "", ""},
		{"a key in upper case is refused", func(c *ComputePlan) { c.Key = "Standard-2" }, "compute_plan.key", "lower case"},
		{"a key ending in a dash is refused", func(c *ComputePlan) { c.Key = "standard-" }, "compute_plan.key", "lower case"},
		{"a compute plan without a name is refused", func(c *ComputePlan) { c.Name = "" }, "compute_plan.name", "is required"},
		{"a vCPU request above the limit is refused", func(c *ComputePlan) { c.VCPURequest = dec("2.5") }, "compute_plan.vcpu_request", "at most the vCPU limit"},
		{"a negative vCPU request is refused", func(c *ComputePlan) { c.VCPURequest = dec("-0.5") }, "compute_plan.vcpu_request", "negative"},
		{"a vCPU limit of zero is refused", func(c *ComputePlan) { c.VCPURequest, c.VCPULimit = dec("0"), dec("0") }, "compute_plan.vcpu_limit", "greater than 0"},
		{"a memory request above the limit is refused", func(c *ComputePlan) { c.MemoryRequest = "5Gi" }, "compute_plan.memory_request", "at most the memory limit"},
		{"a memory request of 4.5Gi above 4Gi is refused", func(c *ComputePlan) { c.MemoryRequest = "4.5Gi" }, "compute_plan.memory_request", "at most the memory limit"},
		{"memory in GB notation is refused", func(c *ComputePlan) { c.MemoryRequest = "2GB" }, "compute_plan.memory_request", "Kubernetes notation"},
		{"memory with an exponent is refused", func(c *ComputePlan) { c.MemoryLimit = "4e9" }, "compute_plan.memory_limit", "Kubernetes notation"},
		{"a missing memory limit is refused", func(c *ComputePlan) { c.MemoryLimit = "" }, "compute_plan.memory_limit", "Kubernetes notation"},
		{"a memory limit of zero is refused", func(c *ComputePlan) { c.MemoryRequest, c.MemoryLimit = "0", "0Gi" }, "compute_plan.memory_limit", "greater than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := valid
			tt.edit(&c)
			wantViolation(t, CreateComputePlanInput{ComputePlan: c}.Validate(), tt.field, tt.desc)
		})
	}
}

func TestParseMemory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, bytes string
	}{
		{"512Mi", "536870912"},
		{"2Gi", "2147483648"},
		{"1.5Gi", "1610612736"},
		{"1G", "1000000000"},
		{"100k", "100000"},
		{"1024", "1024"},
		{"1Ei", "1152921504606846976"},
	}
	for _, tt := range tests {
		t.Run(tt.in+" is "+tt.bytes+" bytes", func(t *testing.T) {
			t.Parallel()
			got, err := ParseMemory(tt.in)
			if err != nil || !got.Equal(dec(tt.bytes)) {
				t.Fatalf("ParseMemory(%q) = %v, %v; want %s", tt.in, got, err, tt.bytes)
			}
		})
	}
	for _, bad := range []string{"", "Gi", "2 Gi", "2gi", "-1Gi", "1e3", "500m", ".5Gi"} {
		t.Run(bad+" is refused", func(t *testing.T) {
			t.Parallel()
			if got, err := ParseMemory(bad); err == nil {
				t.Fatalf("ParseMemory(%q) = %v, want an error", bad, got)
			}
		})
	}
}

func TestCreateStoragePlanInputValidate(t *testing.T) {
	t.Parallel()
	valid := StoragePlan{Key: "cloudscale-ssd", Name: "SSD", PricePerGiB: Money{Amount: dec("0.15"), Currency: "CHF"}, PriceUnit: PerMonth}
	tests := []struct {
		name        string
		edit        func(s *StoragePlan)
		field, desc string
	}{
		{"0.15 CHF per GiB-month is valid", func(*StoragePlan) {}, "", ""},
		{"free storage is valid", func(s *StoragePlan) { s.PricePerGiB.Amount = dec("0") }, "", ""},
		{"a negative price is refused", func(s *StoragePlan) { s.PricePerGiB.Amount = dec("-0.15") }, "storage_plan.price_per_gib.amount", "negative"},
		{"a price without a currency is refused", func(s *StoragePlan) { s.PricePerGiB.Currency = "" }, "storage_plan.price_per_gib.currency", "is required"},
		{"a price in an unknown currency is refused", func(s *StoragePlan) { s.PricePerGiB.Currency = "CHX" }, "storage_plan.price_per_gib.currency", "ISO 4217"},
		{"a price without a unit is refused", func(s *StoragePlan) { s.PriceUnit = "" }, "storage_plan.price_unit", "is required"},
		{"a storage plan without a key is refused", func(s *StoragePlan) { s.Key = "" }, "storage_plan.key", "is required"},
		{"a storage plan without a name is refused", func(s *StoragePlan) { s.Name = "" }, "storage_plan.name", "is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := valid
			tt.edit(&s)
			wantViolation(t, CreateStoragePlanInput{StoragePlan: s}.Validate(), tt.field, tt.desc)
		})
	}
}

func TestCreateOfferingInputValidate(t *testing.T) {
	t.Parallel()
	known := Known{
		ComputePlans: map[string]ComputePlan{"standard-2": {Key: "standard-2"}, "standard-4": {Key: "standard-4"}},
		StoragePlans: map[string]StoragePlan{"cloudscale-ssd": {Key: "cloudscale-ssd"}},
		Plans: map[string]Plan{
			"forgejo_small": {Key: "forgejo_small", OfferingKey: "forgejo-cloudscale", Currency: "CHF"},
			"forgejo_eur":   {Key: "forgejo_eur", OfferingKey: "forgejo-cloudscale", Currency: "EUR"},
			"hosting_50":    {Key: "hosting_50"},
		},
	}
	valid := func() Offering {
		return Offering{
			Key: "forgejo-cloudscale", Name: "Forgejo", Service: "forgejo", ControlPlane: "cloudscale", StoragePlanKey: "cloudscale-ssd",
			Assignments: []PlanAssignment{
				{ComputePlanKey: "standard-2", SLA: BestEffort, Price: Money{Amount: dec("42.00"), Currency: "CHF"}, PriceUnit: PerMonth, MinimumInstances: 1},
				{ComputePlanKey: "standard-2", SLA: Guaranteed, Price: Money{Amount: dec("0.09"), Currency: "CHF"}, PriceUnit: PerHour, MinimumInstances: 2},
			},
		}
	}
	tests := []struct {
		name        string
		edit        func(o *Offering)
		field, desc string
	}{
		{"an offering with two SLAs of one compute plan is valid", func(*Offering) {}, "", ""},
		{"an offering without assignments or storage is valid", func(o *Offering) { o.Assignments, o.StoragePlanKey = nil, "" }, "", ""},
		{"an assignment linked to a plan of the offering is valid", func(o *Offering) { o.Assignments[0].PlanKey = "forgejo_small" }, "", ""},
		{"an assignment linked to a plan of no offering is refused", func(o *Offering) { o.Assignments[0].PlanKey = "hosting_50" }, "offering.assignments[0].plan_key", "not sold under offering"},
		{"an assignment in CHF linked to a plan billing in EUR is refused", func(o *Offering) { o.Assignments[0].PlanKey = "forgejo_eur" }, "offering.assignments[0].plan_key", "bills in EUR"},
		{"an assignment linked to an unknown plan is refused", func(o *Offering) { o.Assignments[0].PlanKey = "nope" }, "offering.assignments[0].plan_key", "does not exist"},
		{"an unknown storage plan is refused", func(o *Offering) { o.StoragePlanKey = "nvme" }, "offering.storage_plan_key", "does not exist"},
		{"an offering without a service is refused", func(o *Offering) { o.Service = "" }, "offering.service", "is required"},
		{"an offering without a control plane is refused", func(o *Offering) { o.ControlPlane = "" }, "offering.control_plane", "is required"},
		{"an offering key with a space is refused", func(o *Offering) { o.Key = "forgejo cloudscale" }, "offering.key", "lower case"},
		{"an unknown compute plan is refused", func(o *Offering) { o.Assignments[1].ComputePlanKey = "standard-8" }, "offering.assignments[1].compute_plan_key", "does not exist"},
		{"an assignment without a compute plan is refused", func(o *Offering) { o.Assignments[1].ComputePlanKey = "" }, "offering.assignments[1].compute_plan_key", "is required"},
		{"two assignments of one compute plan and SLA are refused", func(o *Offering) { o.Assignments[1].SLA = BestEffort }, "offering.assignments[1]", "repeats the compute plan and SLA of assignments[0]"},
		{"an assignment without an SLA is refused", func(o *Offering) { o.Assignments[0].SLA = "" }, "offering.assignments[0].sla", "is required"},
		{"zero minimum instances are refused", func(o *Offering) { o.Assignments[0].MinimumInstances = 0 }, "offering.assignments[0].minimum_instances", "1 to"},
		{"a negative price is refused", func(o *Offering) { o.Assignments[0].Price.Amount = dec("-42") }, "offering.assignments[0].price.amount", "negative"},
		{"a price in a bad currency is refused", func(o *Offering) { o.Assignments[0].Price.Currency = "chf" }, "offering.assignments[0].price.currency", "ISO 4217"},
		{"a price without a unit is refused", func(o *Offering) { o.Assignments[0].PriceUnit = "" }, "offering.assignments[0].price_unit", "is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := valid()
			tt.edit(&o)
			wantViolation(t, CreateOfferingInput{Offering: o}.Validate(known), tt.field, tt.desc)
		})
	}
}

func TestSetOfferingAssignmentsInputValidate(t *testing.T) {
	t.Parallel()
	known := Known{ComputePlans: map[string]ComputePlan{"standard-2": {Key: "standard-2"}}}
	a := PlanAssignment{ComputePlanKey: "standard-2", SLA: BestEffort, Price: Money{Amount: dec("42"), Currency: "CHF"}, PriceUnit: PerMonth, MinimumInstances: 1}
	tests := []struct {
		name        string
		in          SetOfferingAssignmentsInput
		field, desc string
	}{
		{"one assignment is valid", SetOfferingAssignmentsInput{OfferingKey: "forgejo-cloudscale", Assignments: []PlanAssignment{a}}, "", ""},
		{"no assignments are valid", SetOfferingAssignmentsInput{OfferingKey: "forgejo-cloudscale"}, "", ""},
		{"a missing offering key is refused", SetOfferingAssignmentsInput{}, "offering_key", "is required"},
		{"assignment paths start at the request", SetOfferingAssignmentsInput{OfferingKey: "o", Assignments: []PlanAssignment{a, a}}, "assignments[1]", "repeats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantViolation(t, tt.in.Validate(known), tt.field, tt.desc)
		})
	}
}

func TestListPlansInputValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		in          ListPlansInput
		field, desc string
	}{
		{"no filters are valid", ListPlansInput{}, "", ""},
		{"published EUR plans of an offering are valid", ListPlansInput{Status: PlanPublished, Currency: "EUR", OfferingKey: "x"}, "", ""},
		{"an unknown currency is refused", ListPlansInput{Currency: "EURO"}, "currency", "ISO 4217"},
		{"an unknown status is refused", ListPlansInput{Status: "7"}, "status", "unknown value"},
		{"a negative page size is refused", ListPlansInput{Page: PageRequest{Size: -1}}, "page_size", "negative"},
		{"a page size above 500 is valid and clamped", ListPlansInput{Page: PageRequest{Size: 10000}}, "", ""},
		{"a token that is not base64 is refused", ListPlansInput{Page: PageRequest{Token: "!!"}}, "page_token", "not a token"},
		{"a token that is not a key is refused", ListPlansInput{Page: PageRequest{Token: page.Token("' OR 1=1")}}, "page_token", "not a token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			wantViolation(t, tt.in.Validate(), tt.field, tt.desc)
		})
	}
}

func TestPageCursor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		page      PageRequest
		after     string
		wantLimit int
	}{
		{"no size means 50", PageRequest{}, "", 50},
		{"size 7 means 7", PageRequest{Size: 7}, "", 7},
		{"size 501 is clamped to 500", PageRequest{Size: 501}, "", 500},
		{"a token continues after its key", PageRequest{Token: page.Token("hosting_50")}, "hosting_50", 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			after, limit := tt.page.Cursor()
			if after != tt.after || limit != tt.wantLimit {
				t.Fatalf("cursor() = %q, %d; want %q, %d", after, limit, tt.after, tt.wantLimit)
			}
		})
	}
}

func TestNewPage(t *testing.T) {
	t.Parallel()
	key := func(s string) string { return s }
	if p := page.New([]string{"a", "b"}, 2, key); p.NextToken != "" || len(p.Items) != 2 {
		t.Errorf("a full last page = %+v, want 2 items and no token", p)
	}
	p := page.New([]string{"a", "b", "c"}, 2, key)
	if len(p.Items) != 2 || p.NextToken != page.Token("b") {
		t.Errorf("a page with more = %+v, want 2 items and a token after b", p)
	}
}

func TestMonthlyPrice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		amount string
		unit   PriceUnit
		want   string
	}{
		{"0.09 CHF an hour is 64.80 CHF a month of 720 hours", "0.09", PerHour, "64.8"},
		{"1.5 CHF a day is 45 CHF a month of 30 days", "1.5", PerDay, "45"},
		{"42.00 CHF a month stays 42 CHF", "42.00", PerMonth, "42"},
		{"100 CHF a year is 8.33 CHF a month, a twelfth rounded", "100", PerYear, "8.33"},
		{"0.0001 CHF an hour is 0.072 CHF, rounded to 0.07", "0.0001", PerHour, "0.07"},
		{"0.00625 CHF an hour is 4.50 CHF", "0.00625", PerHour, "4.5"},
		{"a twelfth of 0.06 CHF a year rounds half away from zero to 0.01", "0.06", PerYear, "0.01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := MonthlyPrice(Money{Amount: dec(tt.amount), Currency: "CHF"}, tt.unit)
			if !got.Amount.Equal(dec(tt.want)) || got.Currency != "CHF" {
				t.Fatalf("MonthlyPrice(%s per %s) = %s %s, want %s CHF", tt.amount, tt.unit, got.Amount, got.Currency, tt.want)
			}
		})
	}
	if got := MonthlyPrice(Money{Amount: dec("1.5"), Currency: "JPY"}, PerHour); !got.Amount.Equal(dec("1080")) {
		t.Errorf("1.5 JPY an hour = %s JPY a month, want 1080", got.Amount)
	}
	if got := MonthlyPrice(Money{Amount: dec("0.001"), Currency: "JPY"}, PerHour); !got.Amount.Equal(dec("1")) {
		t.Errorf("0.001 JPY an hour = %s JPY a month, want 0.72 rounded to 1", got.Amount)
	}
}

func TestTooManyAssignments(t *testing.T) {
	t.Parallel()
	known := Known{ComputePlans: map[string]ComputePlan{}}
	var as []PlanAssignment
	for i := range MaxAssignments + 1 {
		key := fmt.Sprintf("c%d", i)
		known.ComputePlans[key] = ComputePlan{Key: key}
		as = append(as, PlanAssignment{ComputePlanKey: key, SLA: BestEffort, Price: Money{Amount: dec("1"), Currency: "CHF"}, PriceUnit: PerHour, MinimumInstances: 1})
	}
	for _, tt := range []struct {
		name  string
		n     int
		field string
	}{
		{"the most assignments are valid", MaxAssignments, ""},
		{"one more is refused", MaxAssignments + 1, "assignments"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := SetOfferingAssignmentsInput{OfferingKey: "o", Assignments: as[:tt.n]}.Validate(known)
			var e *errs.Error
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.field != "" && (!errors.As(err, &e) || len(e.Violations) != 1 || e.Violations[0].Field != tt.field):
				t.Errorf("got %v, want one violation on %s", err, tt.field)
			}
		})
	}
}
