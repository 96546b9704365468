package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog/internal/catalog"
	"github.com/meterplane/meterplane/services/catalog/internal/store"
	"github.com/meterplane/meterplane/services/catalog/migrations"
)

var (
	t0 = time.Date(2026, 3, 1, 12, 30, 0, 123456000, time.UTC)
	t1 = t0.Add(time.Hour)
)

func dec(s string) money.Decimal { return money.MustParse(s) }

func decp(s string) *money.Decimal {
	d := money.MustParse(s)
	return &d
}

func wantKind(t *testing.T, err error, k errs.Kind, what string) {
	t.Helper()
	if !errs.Is(err, k) {
		t.Fatalf("%s: got %v (kind %d), want kind %d", what, err, errs.KindOf(err), k)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func features(t *testing.T, ctx context.Context, s *store.Store) {
	t.Helper()
	must(t, s.CreateFeature(ctx, catalog.Feature{Key: "sites", Name: "Sites", Unit: "site", Kind: catalog.Gauge, CreateTime: t0}))
	must(t, s.CreateFeature(ctx, catalog.Feature{Key: "bandwidth_gib", Name: "Bandwidth", Unit: "GiB", Kind: catalog.Counter, CreateTime: t0}))
}

func TestFeatures(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", migrations.FS, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		s := store.New(db)
		features(t, ctx, s)
		must(t, s.CreateFeature(ctx, catalog.Feature{Key: "disk_gib", Name: "Disk", Unit: "GiB", Kind: catalog.Gauge, CreateTime: t1}))

		got, err := s.GetFeature(ctx, "sites")
		must(t, err)
		diff(t, "feature", catalog.Feature{Key: "sites", Name: "Sites", Unit: "site", Kind: catalog.Gauge, CreateTime: t0}, got)

		_, err = s.GetFeature(ctx, "mailboxes")
		wantKind(t, err, errs.NotFound, "get a missing feature")
		err = s.CreateFeature(ctx, catalog.Feature{Key: "sites", Name: "Again", Unit: "site", Kind: catalog.Gauge, CreateTime: t0})
		wantKind(t, err, errs.AlreadyExists, "create a feature twice")

		m, err := s.GetFeatures(ctx, []string{"sites", "mailboxes", "disk_gib"})
		must(t, err)
		if len(m) != 2 || m["sites"].Key != "sites" || m["disk_gib"].Kind != catalog.Gauge {
			t.Errorf("GetFeatures = %v, want sites and disk_gib", m)
		}
		if m, err := s.GetFeatures(ctx, nil); err != nil || len(m) != 0 {
			t.Errorf("GetFeatures(nil) = %v, %v; want none", m, err)
		}

		page, err := s.ListFeatures(ctx, "", 2)
		must(t, err)
		if len(page) != 2 || page[0].Key != "bandwidth_gib" || page[1].Key != "disk_gib" {
			t.Errorf("first page = %v, want bandwidth_gib, disk_gib", page)
		}
		page, err = s.ListFeatures(ctx, "disk_gib", 2)
		must(t, err)
		if len(page) != 1 || page[0].Key != "sites" {
			t.Errorf("second page = %v, want sites", page)
		}
	})
}

// richContent has every kind of charge and every pricing model, with
// decimals that need all of NUMERIC(38, 18).
func richContent() catalog.Content {
	return catalog.Content{
		Charges: []catalog.Charge{
			{Key: "base", Description: "Monthly fee", Recurring: &catalog.RecurringFee{Amount: dec("49.5"), Timing: catalog.InAdvance, Prorated: true}},
			{Key: "setup", OneTime: &catalog.OneTimeFee{Amount: dec("12345678901234567890.123456789012345678")}},
			{Key: "sites", Usage: &catalog.UsageCharge{FeatureKey: "sites", Model: catalog.Volume, Tiers: []catalog.PriceTier{
				{UpTo: decp("10"), UnitPrice: dec("2"), FlatPrice: dec("0")},
				{UnitPrice: dec("1.5"), FlatPrice: dec("10")},
			}}},
			{Key: "bandwidth", Usage: &catalog.UsageCharge{FeatureKey: "bandwidth_gib", Model: catalog.PackageFee,
				Package: &catalog.PackagePrice{Size: dec("100"), Price: dec("5"), FreePackages: 2}}},
		},
		Entitlements: []catalog.Entitlement{
			{FeatureKey: "sites", IncludedQuantity: dec("0.000000000000000001"), LimitPolicy: catalog.Hard},
			{FeatureKey: "bandwidth_gib", IncludedQuantity: dec("500"), LimitPolicy: catalog.Soft, ResetPeriod: catalog.ResetBillingPeriod},
		},
	}
}

func newPlan(id, key string) catalog.Plan {
	return catalog.Plan{
		ID: id, Key: key, Name: "Plan " + key, Description: "A plan.", Currency: "EUR",
		Interval: catalog.BillingInterval{Unit: catalog.Month, Count: 1}, Status: catalog.PlanDraft,
		DraftVersion: 1, CreateTime: t0, UpdateTime: t0,
	}
}

func TestPlansAndVersions(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", migrations.FS, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		s := store.New(db)
		features(t, ctx, s)

		p := newPlan("plan_1", "hosting_50")
		v1 := catalog.PlanVersion{PlanID: p.ID, Version: 1, Status: catalog.VersionDraft, Content: richContent(), CreateTime: t0}
		must(t, s.CreatePlan(ctx, p))
		must(t, s.CreateVersion(ctx, v1))

		for _, ref := range []string{"plan_1", "hosting_50"} {
			got, err := s.GetPlan(ctx, ref)
			must(t, err)
			diff(t, "plan by "+ref, p, got)
		}
		_, err := s.GetPlan(ctx, "plan_2")
		wantKind(t, err, errs.NotFound, "get a missing plan")
		gotV, err := s.GetVersion(ctx, p.ID, 1)
		must(t, err)
		diff(t, "version", v1, gotV)
		if got := gotV.Charges[1].OneTime.Amount.String(); got != "12345678901234567890.123456789012345678" {
			t.Errorf("a 38-digit amount came back as %s", got)
		}
		_, err = s.GetVersion(ctx, p.ID, 2)
		wantKind(t, err, errs.NotFound, "get a missing version")

		wantKind(t, s.CreatePlan(ctx, newPlan("plan_2", "hosting_50")), errs.AlreadyExists, "create a second plan with the same key")
		wantKind(t, s.CreatePlan(ctx, newPlan("plan_1", "other")), errs.AlreadyExists, "create a second plan with the same id")
		wantKind(t, s.CreateVersion(ctx, catalog.PlanVersion{PlanID: p.ID, Version: 2, Status: catalog.VersionDraft, CreateTime: t0}),
			errs.FailedPrecondition, "open a second draft")

		// A plan whose key is another plan's id: the id wins.
		must(t, s.CreatePlan(ctx, newPlan("plan_3", "plan_1")))
		if got, err := s.GetPlan(ctx, "plan_1"); err != nil || got.ID != "plan_1" {
			t.Errorf("GetPlan(plan_1) = %v, %v; want the plan with id plan_1", got.ID, err)
		}

		// Publish version 1 in a transaction holding the plan's lock.
		err = s.InTx(ctx, func(ctx context.Context) error {
			locked, err := s.LockPlan(ctx, "hosting_50")
			if err != nil {
				return err
			}
			v1.Status, v1.PublishTime = catalog.VersionPublished, t1
			if err := s.UpdateVersion(ctx, v1); err != nil {
				return err
			}
			locked.Status, locked.PublishedVersion, locked.DraftVersion, locked.UpdateTime = catalog.PlanPublished, 1, 0, t1
			locked.Name, locked.OfferingKey = "Renamed", ""
			return s.UpdatePlan(ctx, locked)
		})
		must(t, err)
		got, err := s.GetPlan(ctx, "plan_1")
		must(t, err)
		want := p
		want.Status, want.PublishedVersion, want.DraftVersion, want.UpdateTime, want.Name = catalog.PlanPublished, 1, 0, t1, "Renamed"
		diff(t, "published plan", want, got)
		gotV, err = s.GetVersion(ctx, p.ID, 1)
		must(t, err)
		diff(t, "published version", v1, gotV)

		v1.Content = catalog.Content{}
		wantKind(t, s.UpdateVersion(ctx, v1), errs.FailedPrecondition, "change a published version")
		wantKind(t, s.UpdateVersion(ctx, catalog.PlanVersion{PlanID: p.ID, Version: 9, Status: catalog.VersionDraft}), errs.NotFound, "update a missing version")
		wantKind(t, s.UpdatePlan(ctx, newPlan("plan_9", "nine")), errs.NotFound, "update a missing plan")

		// After publishing, version 2 may be the new draft.
		must(t, s.CreateVersion(ctx, catalog.PlanVersion{PlanID: p.ID, Version: 2, Status: catalog.VersionDraft, CreateTime: t1}))
		wantKind(t, s.CreateVersion(ctx, catalog.PlanVersion{PlanID: p.ID, Version: 2, Status: catalog.VersionPublished, PublishTime: t1, CreateTime: t1}),
			errs.FailedPrecondition, "create version 2 twice")

		m, err := s.GetPlans(ctx, []string{"hosting_50", "nope"})
		must(t, err)
		if len(m) != 1 || m["hosting_50"].ID != "plan_1" {
			t.Errorf("GetPlans = %v, want hosting_50", m)
		}
	})
}

func TestListPlans(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", migrations.FS, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		s := store.New(db)
		must(t, s.CreateOffering(ctx, catalog.Offering{Key: "forgejo-cloudscale", Name: "Forgejo", Service: "forgejo", ControlPlane: "cloudscale"}))
		add := func(id, key, currency string, status catalog.PlanStatus, offering string) {
			p := newPlan(id, key)
			p.Currency, p.Status, p.OfferingKey = currency, status, offering
			must(t, s.CreatePlan(ctx, p))
		}
		add("plan_a", "c_chf", "CHF", catalog.PlanPublished, "forgejo-cloudscale")
		add("plan_b", "a_eur", "EUR", catalog.PlanDraft, "")
		add("plan_c", "b_eur", "EUR", catalog.PlanPublished, "")
		add("plan_d", "d_eur", "EUR", catalog.PlanArchived, "")

		wantWrongOffering := newPlan("plan_e", "e")
		wantWrongOffering.OfferingKey = "nope"
		wantKind(t, s.CreatePlan(ctx, wantWrongOffering), errs.FailedPrecondition, "create a plan of a missing offering")

		tests := []struct {
			name   string
			filter catalog.PlanFilter
			after  string
			limit  int
			want   []string
		}{
			{"all plans by key", catalog.PlanFilter{}, "", 10, []string{"a_eur", "b_eur", "c_chf", "d_eur"}},
			{"two plans after a_eur", catalog.PlanFilter{}, "a_eur", 2, []string{"b_eur", "c_chf"}},
			{"EUR plans", catalog.PlanFilter{Currency: "EUR"}, "", 10, []string{"a_eur", "b_eur", "d_eur"}},
			{"published plans", catalog.PlanFilter{Status: catalog.PlanPublished}, "", 10, []string{"b_eur", "c_chf"}},
			{"plans of forgejo-cloudscale", catalog.PlanFilter{OfferingKey: "forgejo-cloudscale"}, "", 10, []string{"c_chf"}},
			{"published EUR plans", catalog.PlanFilter{Status: catalog.PlanPublished, Currency: "EUR"}, "", 10, []string{"b_eur"}},
			{"archived CHF plans", catalog.PlanFilter{Status: catalog.PlanArchived, Currency: "CHF"}, "", 10, nil},
		}
		for _, tt := range tests {
			ps, err := s.ListPlans(ctx, tt.filter, tt.after, tt.limit)
			must(t, err)
			var keys []string
			for _, p := range ps {
				keys = append(keys, p.Key)
			}
			diff(t, tt.name, tt.want, keys)
		}
	})
}

func TestServicePlans(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", migrations.FS, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		s := store.New(db)
		std2 := catalog.ComputePlan{Key: "standard-2", Name: "Standard 2", VCPURequest: dec("0.5"), VCPULimit: dec("2"), MemoryRequest: "2Gi", MemoryLimit: "4Gi"}
		std4 := catalog.ComputePlan{Key: "standard-4", Name: "Standard 4", VCPURequest: dec("1"), VCPULimit: dec("4"), MemoryRequest: "4Gi", MemoryLimit: "8Gi"}
		ssd := catalog.StoragePlan{Key: "cloudscale-ssd", Name: "SSD", PricePerGiB: catalog.Money{Amount: dec("0.15"), Currency: "CHF"},
			PriceUnit: catalog.PerMonth, ERPProductID: "openshift-cloudscale-storage-ssd", ERPUnitID: "gib_month"}
		must(t, s.CreateComputePlan(ctx, std4))
		must(t, s.CreateComputePlan(ctx, std2))
		must(t, s.CreateStoragePlan(ctx, ssd))
		wantKind(t, s.CreateComputePlan(ctx, std2), errs.AlreadyExists, "create a compute plan twice")
		wantKind(t, s.CreateStoragePlan(ctx, ssd), errs.AlreadyExists, "create a storage plan twice")

		cps, err := s.ListComputePlans(ctx, "", 10)
		must(t, err)
		diff(t, "compute plans", []catalog.ComputePlan{std2, std4}, cps)
		m, err := s.GetComputePlans(ctx, []string{"standard-4", "standard-8"})
		must(t, err)
		diff(t, "compute plans by key", map[string]catalog.ComputePlan{"standard-4": std4}, m)
		sps, err := s.ListStoragePlans(ctx, "", 10)
		must(t, err)
		diff(t, "storage plans", []catalog.StoragePlan{ssd}, sps)
		got, err := s.GetStoragePlan(ctx, "cloudscale-ssd")
		must(t, err)
		diff(t, "storage plan", ssd, got)
		_, err = s.GetStoragePlan(ctx, "nvme")
		wantKind(t, err, errs.NotFound, "get a missing storage plan")

		chf := func(a string) catalog.Money { return catalog.Money{Amount: dec(a), Currency: "CHF"} }
		forgejo := catalog.Offering{
			Key: "forgejo-cloudscale", Name: "Forgejo", Service: "forgejo", ControlPlane: "cloudscale", StoragePlanKey: "cloudscale-ssd",
			Assignments: []catalog.PlanAssignment{
				{ComputePlanKey: "standard-2", SLA: catalog.Guaranteed, Price: chf("0.09"), PriceUnit: catalog.PerHour, MinimumInstances: 2,
					ERPProductID: "openshift-cloudscale-workervcpu-guaranteed", ERPUnitID: "instance_hour"},
				{ComputePlanKey: "standard-2", SLA: catalog.BestEffort, Price: chf("42"), PriceUnit: catalog.PerMonth, MinimumInstances: 1},
			},
		}
		redis := catalog.Offering{Key: "redis-exoscale", Name: "Redis", Service: "redis", ControlPlane: "exoscale"}
		must(t, s.CreateOffering(ctx, redis))
		must(t, s.CreateOffering(ctx, forgejo))
		wantKind(t, s.CreateOffering(ctx, redis), errs.AlreadyExists, "create an offering twice")

		gotO, err := s.GetOffering(ctx, "forgejo-cloudscale")
		must(t, err)
		diff(t, "offering", forgejo, gotO)
		os, err := s.ListOfferings(ctx, "", 10)
		must(t, err)
		diff(t, "offerings", []catalog.Offering{forgejo, redis}, os)
		_, err = s.GetOffering(ctx, "nope")
		wantKind(t, err, errs.NotFound, "get a missing offering")

		// Link a plan of the offering, then replace the assignments.
		p := newPlan("plan_f", "forgejo_small")
		p.OfferingKey = "forgejo-cloudscale"
		must(t, s.CreatePlan(ctx, p))
		replaced := []catalog.PlanAssignment{
			{ComputePlanKey: "standard-4", SLA: catalog.BestEffort, Price: chf("84"), PriceUnit: catalog.PerMonth, MinimumInstances: 1, PlanKey: "forgejo_small"},
		}
		must(t, s.SetAssignments(ctx, "forgejo-cloudscale", replaced))
		gotO, err = s.GetOffering(ctx, "forgejo-cloudscale")
		must(t, err)
		diff(t, "replaced assignments", replaced, gotO.Assignments)

		dup := []catalog.PlanAssignment{replaced[0], replaced[0]}
		wantKind(t, s.SetAssignments(ctx, "forgejo-cloudscale", dup), errs.AlreadyExists, "store one compute plan and SLA twice")
		dangling := []catalog.PlanAssignment{{ComputePlanKey: "standard-8", SLA: catalog.BestEffort, Price: chf("1"), PriceUnit: catalog.PerMonth, MinimumInstances: 1}}
		wantKind(t, s.SetAssignments(ctx, "forgejo-cloudscale", dangling), errs.FailedPrecondition, "assign a missing compute plan")
	})
}
