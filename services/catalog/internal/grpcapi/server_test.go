package grpcapi_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog/internal/catalog"
	"github.com/meterplane/meterplane/services/catalog/internal/grpcapi"
	"github.com/meterplane/meterplane/services/catalog/internal/store"
	"github.com/meterplane/meterplane/services/catalog/migrations"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// client serves a catalog on a fresh SQLite database in process and returns
// a client of it.
func client(t *testing.T) catalogv1.CatalogServiceClient {
	t.Helper()
	db := storagetest.SQLite(t, "catalog", migrations.FS)
	srv := grpc.NewServer(grpc.UnaryInterceptor(server.UnaryErrors(slog.New(slog.DiscardHandler))))
	catalogv1.RegisterCatalogServiceServer(srv, grpcapi.New(catalog.NewService(store.New(db), clock.NewFake(t0))))
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///catalog",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return catalogv1.NewCatalogServiceClient(conn)
}

// must(call(…))(t) returns the response of call, failing t on an error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func diff(t *testing.T, what string, want, got proto.Message, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, append(opts, protocmp.Transform())...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func seedFeatures(t *testing.T, c catalogv1.CatalogServiceClient) {
	t.Helper()
	for _, f := range []*catalogv1.Feature{
		{Key: "sites", Name: "Sites", Unit: "site", Kind: catalogv1.FeatureKind_FEATURE_KIND_GAUGE},
		{Key: "bandwidth_gib", Name: "Bandwidth", Unit: "GiB", Kind: catalogv1.FeatureKind_FEATURE_KIND_COUNTER},
	} {
		must(c.CreateFeature(t.Context(), &catalogv1.CreateFeatureRequest{Feature: f}))(t)
	}
}

// everyCharge is a draft with every kind of charge and pricing model, in
// the normal form the server answers with.
func everyCharge() *catalogv1.PlanVersion {
	return &catalogv1.PlanVersion{
		Charges: []*catalogv1.Charge{
			{Key: "base", Description: "Monthly fee", Kind: &catalogv1.Charge_Recurring{Recurring: &catalogv1.RecurringFee{
				Amount: "49.50", Timing: catalogv1.FeeTiming_FEE_TIMING_IN_ARREARS, Prorated: true}}},
			{Key: "setup", Kind: &catalogv1.Charge_OneTime{OneTime: &catalogv1.OneTimeFee{Amount: "100.00"}}},
			{Key: "sites", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{
				FeatureKey: "sites", Model: catalogv1.PricingModel_PRICING_MODEL_GRADUATED,
				Tiers: []*catalogv1.PriceTier{
					{UpTo: "10", UnitPrice: "0.00", FlatPrice: "5.00"},
					{UpTo: "100", UnitPrice: "1.50", FlatPrice: "0.00"},
					{UnitPrice: "1.00", FlatPrice: "0.00"},
				}}}},
			{Key: "bandwidth", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{
				FeatureKey: "bandwidth_gib", Model: catalogv1.PricingModel_PRICING_MODEL_PACKAGE,
				Package: &catalogv1.PackagePrice{Size: "100", Price: "5.00", FreePackages: 1}}}},
		},
		Entitlements: []*catalogv1.Entitlement{
			{FeatureKey: "sites", IncludedQuantity: "0", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_NONE},
			{FeatureKey: "bandwidth_gib", IncludedQuantity: "500", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_SOFT,
				ResetPeriod: catalogv1.ResetPeriod_RESET_PERIOD_MONTH},
		},
	}
}

func TestCreatePublishList(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := client(t)
	seedFeatures(t, c)

	plan := &catalogv1.Plan{
		Key: "hosting_payg", Name: "Pay as you go", Description: "Usage only.", Currency: "EUR",
		BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1},
	}
	created := must(c.CreatePlan(ctx, &catalogv1.CreatePlanRequest{Plan: plan, Draft: everyCharge(), IdempotencyKey: "k1"}))(t)
	id := created.GetPlan().GetPlanId()
	wantPlan := proto.Clone(plan).(*catalogv1.Plan)
	wantPlan.PlanId, wantPlan.Status, wantPlan.DraftVersion = id, catalogv1.PlanStatus_PLAN_STATUS_DRAFT, 1
	wantPlan.CreateTime, wantPlan.UpdateTime = timestamppb.New(t0), timestamppb.New(t0)
	diff(t, "created plan", wantPlan, created.GetPlan())
	wantDraft := everyCharge()
	wantDraft.PlanId, wantDraft.Version, wantDraft.Status, wantDraft.CreateTime = id, 1, catalogv1.VersionStatus_VERSION_STATUS_DRAFT, timestamppb.New(t0)
	diff(t, "created draft", wantDraft, created.GetDraft())

	published := must(c.PublishPlan(ctx, &catalogv1.PublishPlanRequest{PlanId: "hosting_payg"}))(t)
	wantPlan.Status, wantPlan.PublishedVersion, wantPlan.DraftVersion = catalogv1.PlanStatus_PLAN_STATUS_PUBLISHED, 1, 0
	diff(t, "published plan", wantPlan, published.GetPlan())
	wantDraft.Status, wantDraft.PublishTime = catalogv1.VersionStatus_VERSION_STATUS_PUBLISHED, timestamppb.New(t0)
	diff(t, "published version", wantDraft, published.GetVersion())

	got := must(c.GetPlan(ctx, &catalogv1.GetPlanRequest{PlanId: id}))(t)
	diff(t, "got plan", &catalogv1.GetPlanResponse{Plan: wantPlan, LatestVersion: wantDraft}, got)

	// A draft plan of another currency is filtered out.
	other := proto.Clone(plan).(*catalogv1.Plan)
	other.Key, other.Currency = "other_chf", "CHF"
	must(c.CreatePlan(ctx, &catalogv1.CreatePlanRequest{Plan: other}))(t)
	list := must(c.ListPlans(ctx, &catalogv1.ListPlansRequest{Status: catalogv1.PlanStatus_PLAN_STATUS_PUBLISHED, Currency: "EUR"}))(t)
	diff(t, "published EUR plans", &catalogv1.ListPlansResponse{Plans: []*catalogv1.Plan{wantPlan}}, list)

	first := must(c.ListPlans(ctx, &catalogv1.ListPlansRequest{PageSize: 1}))(t)
	if len(first.GetPlans()) != 1 || first.GetPlans()[0].GetKey() != "hosting_payg" || first.GetNextPageToken() == "" {
		t.Fatalf("first page of 1 = %v", first)
	}
	second := must(c.ListPlans(ctx, &catalogv1.ListPlansRequest{PageSize: 1, PageToken: first.GetNextPageToken()}))(t)
	if len(second.GetPlans()) != 1 || second.GetPlans()[0].GetKey() != "other_chf" || second.GetNextPageToken() != "" {
		t.Fatalf("second page of 1 = %v", second)
	}

	_, err := c.UpdatePlanVersion(ctx, &catalogv1.UpdatePlanVersionRequest{PlanId: id, Version: 1, Charges: everyCharge().GetCharges()})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("editing the published version: %v, want FailedPrecondition", err)
	}
	v2 := must(c.CreatePlanVersion(ctx, &catalogv1.CreatePlanVersionRequest{PlanId: id}))(t)
	if v2.GetVersion().GetVersion() != 2 || len(v2.GetVersion().GetCharges()) != 4 {
		t.Errorf("new version = %v, want version 2 with the 4 charges of version 1", v2.GetVersion())
	}
	archived := must(c.ArchivePlan(ctx, &catalogv1.ArchivePlanRequest{PlanId: "hosting_payg"}))(t)
	if archived.GetPlan().GetStatus() != catalogv1.PlanStatus_PLAN_STATUS_ARCHIVED {
		t.Errorf("archived plan = %v", archived.GetPlan())
	}
	v1 := must(c.GetPlanVersion(ctx, &catalogv1.GetPlanVersionRequest{PlanId: "hosting_payg", Version: 1}))(t)
	diff(t, "version 1 of the archived plan", wantDraft, v1.GetVersion())
}

func TestRoundTrips(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	c := client(t)
	seedFeatures(t, c)

	feature := &catalogv1.Feature{Key: "disk_gib", Name: "Disk", Unit: "GiB", Kind: catalogv1.FeatureKind_FEATURE_KIND_GAUGE}
	f := must(c.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{Feature: feature}))(t)
	feature.CreateTime = timestamppb.New(t0)
	diff(t, "created feature", feature, f.GetFeature())
	diff(t, "got feature", feature, must(c.GetFeature(ctx, &catalogv1.GetFeatureRequest{FeatureKey: "disk_gib"}))(t).GetFeature())
	features := must(c.ListFeatures(ctx, &catalogv1.ListFeaturesRequest{}))(t)
	if len(features.GetFeatures()) != 3 || features.GetFeatures()[1].GetKey() != "disk_gib" {
		t.Errorf("features = %v, want bandwidth_gib, disk_gib, sites", features)
	}

	// Decimals come back in one normal form: quantities without trailing
	// fraction zeros, money with the currency's minor digits and no more
	// zeros.
	volume := &catalogv1.UsageCharge{FeatureKey: "sites", Model: catalogv1.PricingModel_PRICING_MODEL_VOLUME,
		Tiers: []*catalogv1.PriceTier{{UpTo: "10.0", UnitPrice: "2.00"}, {UnitPrice: "1.50", FlatPrice: "3.10"}}}
	perUnit := &catalogv1.UsageCharge{FeatureKey: "bandwidth_gib", Model: catalogv1.PricingModel_PRICING_MODEL_PER_UNIT, UnitPrice: "0.080"}
	plan := must(c.CreatePlan(ctx, &catalogv1.CreatePlanRequest{
		Plan: &catalogv1.Plan{Key: "tiers", Name: "Tiers", Currency: "EUR", BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_QUARTER, Count: 2}},
		Draft: &catalogv1.PlanVersion{
			Charges: []*catalogv1.Charge{
				{Key: "sites", Kind: &catalogv1.Charge_Usage{Usage: volume}},
				{Key: "bandwidth", Kind: &catalogv1.Charge_Usage{Usage: perUnit}},
			},
			Entitlements: []*catalogv1.Entitlement{{FeatureKey: "sites", IncludedQuantity: "", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_HARD}},
		},
	}))(t)
	wantCharges := []*catalogv1.Charge{
		{Key: "sites", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{FeatureKey: "sites", Model: catalogv1.PricingModel_PRICING_MODEL_VOLUME,
			Tiers: []*catalogv1.PriceTier{{UpTo: "10", UnitPrice: "2.00", FlatPrice: "0.00"}, {UnitPrice: "1.50", FlatPrice: "3.10"}}}}},
		{Key: "bandwidth", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{FeatureKey: "bandwidth_gib", Model: catalogv1.PricingModel_PRICING_MODEL_PER_UNIT, UnitPrice: "0.08"}}},
	}
	wantVersion := &catalogv1.PlanVersion{
		PlanId: plan.GetPlan().GetPlanId(), Version: 1, Status: catalogv1.VersionStatus_VERSION_STATUS_DRAFT, CreateTime: timestamppb.New(t0),
		Charges:      wantCharges,
		Entitlements: []*catalogv1.Entitlement{{FeatureKey: "sites", IncludedQuantity: "0", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_HARD}},
	}
	diff(t, "draft in normal form", wantVersion, plan.GetDraft())
	diff(t, "draft read back", wantVersion, must(c.GetPlanVersion(ctx, &catalogv1.GetPlanVersionRequest{PlanId: "tiers", Version: 1}))(t).GetVersion())

	updated := must(c.UpdatePlanVersion(ctx, &catalogv1.UpdatePlanVersionRequest{PlanId: "tiers", Version: 1, Charges: wantCharges[1:]}))(t)
	wantVersion.Charges, wantVersion.Entitlements = wantCharges[1:], nil
	diff(t, "updated draft", wantVersion, updated.GetVersion())

	compute := &catalogv1.ComputePlan{Key: "standard-2", Name: "Standard 2", VcpuRequest: "0.5", VcpuLimit: "2", MemoryRequest: "512Mi", MemoryLimit: "1.5Gi"}
	diff(t, "compute plan", compute, must(c.CreateComputePlan(ctx, &catalogv1.CreateComputePlanRequest{ComputePlan: compute}))(t).GetComputePlan())
	diff(t, "compute plans", &catalogv1.ListComputePlansResponse{ComputePlans: []*catalogv1.ComputePlan{compute}},
		must(c.ListComputePlans(ctx, &catalogv1.ListComputePlansRequest{}))(t))

	ssd := &catalogv1.StoragePlan{Key: "cloudscale-ssd", Name: "SSD", PricePerGib: &commonv1.Money{Amount: "0.15", Currency: "CHF"},
		PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_MONTH, ErpProductId: "openshift-cloudscale-storage-ssd", ErpUnitId: "gib_month"}
	diff(t, "storage plan", ssd, must(c.CreateStoragePlan(ctx, &catalogv1.CreateStoragePlanRequest{StoragePlan: ssd}))(t).GetStoragePlan())
	diff(t, "storage plans", &catalogv1.ListStoragePlansResponse{StoragePlans: []*catalogv1.StoragePlan{ssd}},
		must(c.ListStoragePlans(ctx, &catalogv1.ListStoragePlansRequest{}))(t))

	assignment := &catalogv1.PlanAssignment{ComputePlanKey: "standard-2", Sla: catalogv1.Sla_SLA_GUARANTEED,
		Price: &commonv1.Money{Amount: "0.09", Currency: "CHF"}, PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_HOUR, MinimumInstances: 2,
		ErpProductId: "openshift-cloudscale-workervcpu-guaranteed", ErpUnitId: "instance_hour"}
	offering := &catalogv1.Offering{Key: "forgejo-cloudscale", Name: "Forgejo", Service: "forgejo", ControlPlane: "cloudscale",
		StoragePlanKey: "cloudscale-ssd", Assignments: []*catalogv1.PlanAssignment{assignment}}
	diff(t, "offering", offering, must(c.CreateOffering(ctx, &catalogv1.CreateOfferingRequest{Offering: offering}))(t).GetOffering())
	diff(t, "got offering", offering, must(c.GetOffering(ctx, &catalogv1.GetOfferingRequest{OfferingKey: "forgejo-cloudscale"}))(t).GetOffering())
	diff(t, "offerings", &catalogv1.ListOfferingsResponse{Offerings: []*catalogv1.Offering{offering}},
		must(c.ListOfferings(ctx, &catalogv1.ListOfferingsRequest{}))(t))
	diff(t, "plans for the offering", &catalogv1.ListPlansForOfferingResponse{
		Offering:    offering,
		Plans:       []*catalogv1.OfferedPlan{{Assignment: assignment, ComputePlan: compute, MonthlyPrice: &commonv1.Money{Amount: "64.80", Currency: "CHF"}}},
		StoragePlan: ssd,
		Orderable:   true,
	}, must(c.ListPlansForOffering(ctx, &catalogv1.ListPlansForOfferingRequest{OfferingKey: "forgejo-cloudscale"}))(t))

	offering.Assignments = nil
	diff(t, "offering without assignments", offering, must(c.SetOfferingAssignments(ctx, &catalogv1.SetOfferingAssignmentsRequest{OfferingKey: "forgejo-cloudscale"}))(t).GetOffering())
	diff(t, "plans for an offering without assignments", &catalogv1.ListPlansForOfferingResponse{
		Offering: offering, StoragePlan: ssd, NotOrderableReason: "offering has no plans",
	}, must(c.ListPlansForOffering(ctx, &catalogv1.ListPlansForOfferingRequest{OfferingKey: "forgejo-cloudscale"}))(t))
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	c := client(t)
	seedFeatures(t, c)
	month := &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}
	fee := func(amount string) *catalogv1.Charge {
		return &catalogv1.Charge{Key: "base", Kind: &catalogv1.Charge_Recurring{Recurring: &catalogv1.RecurringFee{Amount: amount, Timing: catalogv1.FeeTiming_FEE_TIMING_IN_ADVANCE}}}
	}
	planWith := func(p *catalogv1.Plan, charges ...*catalogv1.Charge) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := c.CreatePlan(ctx, &catalogv1.CreatePlanRequest{Plan: p, Draft: &catalogv1.PlanVersion{Charges: charges}})
			return err
		}
	}
	tests := []struct {
		name  string
		call  func(ctx context.Context) error
		field string
	}{
		{"a feature of unspecified kind is refused", func(ctx context.Context) error {
			_, err := c.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: "x", Name: "X", Unit: "x"}})
			return err
		}, "feature.kind"},
		{"a feature of a kind this server does not know is refused", func(ctx context.Context) error {
			_, err := c.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: "x", Name: "X", Unit: "x", Kind: 99}})
			return err
		}, "feature.kind"},
		{"a request without a feature is refused", func(ctx context.Context) error {
			_, err := c.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{})
			return err
		}, "feature.key"},
		{"a plan without a billing interval is refused",
			planWith(&catalogv1.Plan{Key: "p", Name: "P", Currency: "EUR"}), "plan.billing_interval.unit"},
		{"a fee with a comma is refused",
			planWith(&catalogv1.Plan{Key: "p", Name: "P", Currency: "EUR", BillingInterval: month}, fee("1,50")), "draft.charges[0].recurring.amount"},
		{"a fee with an exponent is refused",
			planWith(&catalogv1.Plan{Key: "p", Name: "P", Currency: "EUR", BillingInterval: month}, fee("1e3")), "draft.charges[0].recurring.amount"},
		{"a fee without an amount is refused",
			planWith(&catalogv1.Plan{Key: "p", Name: "P", Currency: "EUR", BillingInterval: month}, fee("")), "draft.charges[0].recurring.amount"},
		{"a tier bound that is not a number is refused",
			planWith(&catalogv1.Plan{Key: "p", Name: "P", Currency: "EUR", BillingInterval: month}, &catalogv1.Charge{Key: "sites", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{
				FeatureKey: "sites", Model: catalogv1.PricingModel_PRICING_MODEL_GRADUATED,
				Tiers: []*catalogv1.PriceTier{{UpTo: "ten", UnitPrice: "1"}, {UnitPrice: "1"}}}}}), "draft.charges[0].usage.tiers[0].up_to"},
		{"a usage charge of unspecified model is refused",
			planWith(&catalogv1.Plan{Key: "p", Name: "P", Currency: "EUR", BillingInterval: month}, &catalogv1.Charge{Key: "sites", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{
				FeatureKey: "sites"}}}), "draft.charges[0].usage.model"},
		{"a charge of no kind is refused",
			planWith(&catalogv1.Plan{Key: "p", Name: "P", Currency: "EUR", BillingInterval: month}, &catalogv1.Charge{Key: "nothing"}), "draft.charges[0]"},
		{"an assignment of unspecified SLA is refused", func(ctx context.Context) error {
			_, err := c.SetOfferingAssignments(ctx, &catalogv1.SetOfferingAssignmentsRequest{OfferingKey: "o", Assignments: []*catalogv1.PlanAssignment{{
				ComputePlanKey: "standard-2", Price: &commonv1.Money{Amount: "1", Currency: "CHF"}, PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_HOUR, MinimumInstances: 1,
			}}})
			return err
		}, "assignments[0].sla"},
		{"an assignment without a price is refused", func(ctx context.Context) error {
			_, err := c.CreateOffering(ctx, &catalogv1.CreateOfferingRequest{Offering: &catalogv1.Offering{Key: "o", Name: "O", Service: "s", ControlPlane: "c",
				Assignments: []*catalogv1.PlanAssignment{{ComputePlanKey: "standard-2", Sla: catalogv1.Sla_SLA_GUARANTEED, PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_HOUR, MinimumInstances: 1}}}})
			return err
		}, "offering.assignments[0].price.amount"},
		{"a compute plan with a vCPU limit of 2 cores written as 2c is refused", func(ctx context.Context) error {
			_, err := c.CreateComputePlan(ctx, &catalogv1.CreateComputePlanRequest{ComputePlan: &catalogv1.ComputePlan{
				Key: "c", Name: "C", VcpuRequest: "1", VcpuLimit: "2c", MemoryRequest: "1Gi", MemoryLimit: "1Gi"}})
			return err
		}, "compute_plan.vcpu_limit"},
		{"a storage plan of unspecified price unit is refused", func(ctx context.Context) error {
			_, err := c.CreateStoragePlan(ctx, &catalogv1.CreateStoragePlanRequest{StoragePlan: &catalogv1.StoragePlan{
				Key: "s", Name: "S", PricePerGib: &commonv1.Money{Amount: "0.1", Currency: "CHF"}}})
			return err
		}, "storage_plan.price_unit"},
		{"a negative page size is refused", func(ctx context.Context) error {
			_, err := c.ListOfferings(ctx, &catalogv1.ListOfferingsRequest{PageSize: -1})
			return err
		}, "page_size"},
		{"a made-up page token is refused", func(ctx context.Context) error {
			_, err := c.ListComputePlans(ctx, &catalogv1.ListComputePlansRequest{PageToken: "not a token"})
			return err
		}, "page_token"},
		{"a plan status filter this server does not know is refused", func(ctx context.Context) error {
			_, err := c.ListPlans(ctx, &catalogv1.ListPlansRequest{Status: 42})
			return err
		}, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call(t.Context())
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("got %v, want InvalidArgument", err)
			}
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, v := range br.GetFieldViolations() {
						if v.GetField() == tt.field {
							return
						}
					}
				}
			}
			t.Fatalf("got %v, want a violation of %s", err, tt.field)
		})
	}
}

// TestMoneyHasTheCurrencysScale creates a plan with amounts written without
// their cents and reads them back with them; prices keep finer digits.
func TestMoneyHasTheCurrencysScale(t *testing.T) {
	t.Parallel()
	c := client(t)
	seedFeatures(t, c)
	ctx := t.Context()
	usage := &catalogv1.UsageCharge{FeatureKey: "bandwidth_gib", Model: catalogv1.PricingModel_PRICING_MODEL_GRADUATED, Tiers: []*catalogv1.PriceTier{
		{UpTo: "100", UnitPrice: "0", FlatPrice: "5"},
		{UnitPrice: "0.0004", FlatPrice: "0"},
	}}
	created := must(c.CreatePlan(ctx, &catalogv1.CreatePlanRequest{
		Plan: &catalogv1.Plan{Key: "scale", Name: "Scale", Currency: "EUR",
			BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}},
		Draft: &catalogv1.PlanVersion{
			Charges: []*catalogv1.Charge{
				{Key: "base", Kind: &catalogv1.Charge_Recurring{Recurring: &catalogv1.RecurringFee{Amount: "9", Timing: catalogv1.FeeTiming_FEE_TIMING_IN_ADVANCE}}},
				{Key: "setup", Kind: &catalogv1.Charge_OneTime{OneTime: &catalogv1.OneTimeFee{Amount: "0.1"}}},
				{Key: "bandwidth", Kind: &catalogv1.Charge_Usage{Usage: usage}},
			},
			Entitlements: []*catalogv1.Entitlement{{FeatureKey: "sites", IncludedQuantity: "50", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_SOFT, OveragePrice: "2"}},
		},
	}))(t)
	read := must(c.GetPlan(ctx, &catalogv1.GetPlanRequest{PlanId: created.GetPlan().GetPlanId()}))(t)
	for _, v := range []*catalogv1.PlanVersion{created.GetDraft(), read.GetLatestVersion()} {
		ch := v.GetCharges()
		tiers := ch[2].GetUsage().GetTiers()
		for _, tt := range []struct{ name, got, want string }{
			{"a recurring fee", ch[0].GetRecurring().GetAmount(), "9.00"},
			{"a one-time fee", ch[1].GetOneTime().GetAmount(), "0.10"},
			{"a flat tier fee", tiers[0].GetFlatPrice(), "5.00"},
			{"a tier bound, a quantity", tiers[0].GetUpTo(), "100"},
			{"a zero unit price", tiers[0].GetUnitPrice(), "0.00"},
			{"a fine unit price", tiers[1].GetUnitPrice(), "0.0004"},
			{"an included quantity", v.GetEntitlements()[0].GetIncludedQuantity(), "50"},
			{"an overage price", v.GetEntitlements()[0].GetOveragePrice(), "2.00"},
		} {
			if tt.got != tt.want {
				t.Errorf("%s reads %q, want %q", tt.name, tt.got, tt.want)
			}
		}
	}
}

// TestGetAndUpdate reads single compute and storage plans and updates each
// kind of catalog entry.
func TestGetAndUpdate(t *testing.T) {
	t.Parallel()
	c := client(t)
	seedFeatures(t, c)
	ctx := t.Context()
	compute := &catalogv1.ComputePlan{Key: "standard-2", Name: "Standard 2", VcpuRequest: "0.5", VcpuLimit: "2", MemoryRequest: "512Mi", MemoryLimit: "1.5Gi"}
	must(c.CreateComputePlan(ctx, &catalogv1.CreateComputePlanRequest{ComputePlan: compute}))(t)
	ssd := &catalogv1.StoragePlan{Key: "ssd", Name: "SSD", PricePerGib: &commonv1.Money{Amount: "0.15", Currency: "CHF"}, PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_MONTH}
	must(c.CreateStoragePlan(ctx, &catalogv1.CreateStoragePlanRequest{StoragePlan: ssd}))(t)
	must(c.CreateOffering(ctx, &catalogv1.CreateOfferingRequest{Offering: &catalogv1.Offering{Key: "forgejo", Name: "Forgejo", Service: "forgejo", ControlPlane: "cloudscale"}}))(t)
	plan := must(c.CreatePlan(ctx, &catalogv1.CreatePlanRequest{Plan: &catalogv1.Plan{Key: "basic", Name: "Basic", Currency: "EUR",
		BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}}}))(t).GetPlan()

	diff(t, "compute plan", compute, must(c.GetComputePlan(ctx, &catalogv1.GetComputePlanRequest{ComputePlanKey: "standard-2"}))(t).GetComputePlan())
	diff(t, "storage plan", ssd, must(c.GetStoragePlan(ctx, &catalogv1.GetStoragePlanRequest{StoragePlanKey: "ssd"}))(t).GetStoragePlan())

	compute.VcpuLimit, compute.Name = "4", "Standard 4"
	must(c.UpdateComputePlan(ctx, &catalogv1.UpdateComputePlanRequest{ComputePlan: compute}))(t)
	diff(t, "updated compute plan", compute, must(c.GetComputePlan(ctx, &catalogv1.GetComputePlanRequest{ComputePlanKey: "standard-2"}))(t).GetComputePlan())
	ssd.PricePerGib.Amount = "0.20"
	must(c.UpdateStoragePlan(ctx, &catalogv1.UpdateStoragePlanRequest{StoragePlan: ssd}))(t)
	diff(t, "updated storage plan", ssd, must(c.GetStoragePlan(ctx, &catalogv1.GetStoragePlanRequest{StoragePlanKey: "ssd"}))(t).GetStoragePlan())

	name, empty := "Basic plus", ""
	got := must(c.UpdatePlan(ctx, &catalogv1.UpdatePlanRequest{PlanId: plan.GetPlanId(), Name: &name, Description: &empty}))(t).GetPlan()
	if got.GetName() != name || got.GetKey() != "basic" || got.GetCurrency() != "EUR" {
		t.Errorf("updated plan = %v", got)
	}
	unit := "domain"
	f := must(c.UpdateFeature(ctx, &catalogv1.UpdateFeatureRequest{FeatureKey: "sites", Unit: &unit}))(t).GetFeature()
	if f.GetUnit() != "domain" || f.GetName() != "Sites" || f.GetKind() != catalogv1.FeatureKind_FEATURE_KIND_GAUGE {
		t.Errorf("updated feature = %v", f)
	}
	key := "ssd"
	o := must(c.UpdateOffering(ctx, &catalogv1.UpdateOfferingRequest{OfferingKey: "forgejo", StoragePlanKey: &key}))(t).GetOffering()
	if o.GetStoragePlanKey() != "ssd" || o.GetName() != "Forgejo" {
		t.Errorf("updated offering = %v", o)
	}

	for _, tt := range []struct {
		name string
		call func() error
		code codes.Code
	}{
		{"a missing compute plan", func() error {
			_, err := c.GetComputePlan(ctx, &catalogv1.GetComputePlanRequest{ComputePlanKey: "nope"})
			return err
		}, codes.NotFound},
		{"updating a missing storage plan", func() error {
			_, err := c.UpdateStoragePlan(ctx, &catalogv1.UpdateStoragePlanRequest{StoragePlan: &catalogv1.StoragePlan{Key: "nope", Name: "x",
				PricePerGib: &commonv1.Money{Amount: "1", Currency: "CHF"}, PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_MONTH}})
			return err
		}, codes.NotFound},
		{"an offering's unknown storage plan", func() error {
			missing := "nope"
			_, err := c.UpdateOffering(ctx, &catalogv1.UpdateOfferingRequest{OfferingKey: "forgejo", StoragePlanKey: &missing})
			return err
		}, codes.InvalidArgument},
		{"an empty plan name", func() error {
			_, err := c.UpdatePlan(ctx, &catalogv1.UpdatePlanRequest{PlanId: "basic", Name: &empty})
			return err
		}, codes.InvalidArgument},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := status.Code(tt.call()); got != tt.code {
				t.Errorf("got %v, want %v", got, tt.code)
			}
		})
	}
}
