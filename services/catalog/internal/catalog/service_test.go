package catalog_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog/internal/catalog"
	"github.com/meterplane/meterplane/services/catalog/internal/store"
	"github.com/meterplane/meterplane/services/catalog/migrations"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func dec(s string) money.Decimal { return money.MustParse(s) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	if !errs.Is(err, k) {
		t.Fatalf("got %v (kind %d), want kind %d", err, errs.KindOf(err), k)
	}
}

// newService returns a Service on db with the features sites (gauge) and
// bandwidth_gib (counter), and its fake clock.
func newService(t *testing.T, db *storage.DB) (*catalog.Service, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(t0)
	svc := catalog.NewService(store.New(db), clk)
	for _, f := range []catalog.Feature{
		{Key: "sites", Name: "Sites", Unit: "site", Kind: catalog.Gauge},
		{Key: "bandwidth_gib", Name: "Bandwidth", Unit: "GiB", Kind: catalog.Counter},
	} {
		_, err := svc.CreateFeature(t.Context(), catalog.CreateFeatureInput{Feature: f})
		must(t, err)
	}
	return svc, clk
}

func planInput(key string, charges ...catalog.Charge) catalog.CreatePlanInput {
	return catalog.CreatePlanInput{
		Plan:  catalog.Plan{Key: key, Name: "Plan " + key, Currency: "EUR", Interval: catalog.BillingInterval{Unit: catalog.Month, Count: 1}},
		Draft: catalog.Content{Charges: charges},
	}
}

func fee(amount string) catalog.Charge {
	return catalog.Charge{Key: "base", Recurring: &catalog.RecurringFee{Amount: dec(amount), Timing: catalog.InAdvance, Prorated: true}}
}

var planID = regexp.MustCompile(`^plan_[0-9a-f]{32}$`)

func TestPlanLifecycle(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", migrations.FS, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		svc, clk := newService(t, db)

		in := planInput("hosting_50", fee("49.00"))
		in.Plan.Status, in.Plan.PublishedVersion = catalog.PlanArchived, 7 // ignored
		in.Draft.Entitlements = []catalog.Entitlement{{FeatureKey: "sites", IncludedQuantity: dec("50"), LimitPolicy: catalog.Hard}}
		plan, draft, err := svc.CreatePlan(ctx, in)
		must(t, err)
		if !planID.MatchString(plan.ID) {
			t.Errorf("plan id %q is not plan_ and 32 hex digits", plan.ID)
		}
		wantPlan := catalog.Plan{
			ID: plan.ID, Key: "hosting_50", Name: "Plan hosting_50", Currency: "EUR", Interval: catalog.BillingInterval{Unit: catalog.Month, Count: 1},
			Status: catalog.PlanDraft, DraftVersion: 1, CreateTime: t0, UpdateTime: t0,
		}
		diff(t, "created plan", wantPlan, plan)
		wantDraft := catalog.PlanVersion{PlanID: plan.ID, Version: 1, Status: catalog.VersionDraft, Currency: "EUR", Content: in.Draft, CreateTime: t0}
		diff(t, "created draft", wantDraft, draft)

		for _, ref := range []string{plan.ID, "hosting_50"} {
			p, v, err := svc.GetPlan(ctx, ref)
			must(t, err)
			diff(t, "plan by "+ref, wantPlan, p)
			diff(t, "draft by "+ref, wantDraft, v)
		}

		clk.Advance(time.Hour)
		newContent := catalog.Content{Charges: []catalog.Charge{fee("39.00")}}
		v, err := svc.UpdatePlanVersion(ctx, catalog.UpdatePlanVersionInput{PlanRef: "hosting_50", Version: 1, Content: newContent})
		must(t, err)
		wantDraft.Content = newContent
		diff(t, "updated draft", wantDraft, v)

		clk.Advance(time.Hour)
		plan, v1, err := svc.PublishPlan(ctx, plan.ID)
		must(t, err)
		wantPlan.Status, wantPlan.PublishedVersion, wantPlan.DraftVersion, wantPlan.UpdateTime = catalog.PlanPublished, 1, 0, t0.Add(2*time.Hour)
		diff(t, "published plan", wantPlan, plan)
		wantV1 := wantDraft
		wantV1.Status, wantV1.PublishTime = catalog.VersionPublished, t0.Add(2*time.Hour)
		diff(t, "published version", wantV1, v1)

		clk.Advance(time.Hour)
		v2, err := svc.CreatePlanVersion(ctx, "hosting_50")
		must(t, err)
		wantV2 := catalog.PlanVersion{PlanID: plan.ID, Version: 2, Status: catalog.VersionDraft, Currency: "EUR", Content: newContent, CreateTime: t0.Add(3 * time.Hour)}
		diff(t, "new draft copied from version 1", wantV2, v2)
		_, latest, err := svc.GetPlan(ctx, "hosting_50")
		must(t, err)
		diff(t, "latest version while a draft is open", wantV1, latest)

		_, err = svc.UpdatePlanVersion(ctx, catalog.UpdatePlanVersionInput{PlanRef: "hosting_50", Version: 2, Content: catalog.Content{Charges: []catalog.Charge{fee("45")}}})
		must(t, err)
		plan, _, err = svc.PublishPlan(ctx, "hosting_50")
		must(t, err)
		if plan.PublishedVersion != 2 || plan.DraftVersion != 0 {
			t.Errorf("after publishing version 2 the plan has published %d, draft %d", plan.PublishedVersion, plan.DraftVersion)
		}
		old, err := svc.GetPlanVersion(ctx, "hosting_50", 1)
		must(t, err)
		diff(t, "version 1 after version 2 is published", wantV1, old)

		clk.Advance(time.Hour)
		plan, err = svc.ArchivePlan(ctx, "hosting_50")
		must(t, err)
		if plan.Status != catalog.PlanArchived || plan.PublishedVersion != 2 || !plan.UpdateTime.Equal(t0.Add(4*time.Hour)) {
			t.Errorf("archived plan = %+v", plan)
		}
		if _, err := svc.GetPlanVersion(ctx, plan.ID, 2); err != nil {
			t.Errorf("version 2 of an archived plan is not readable: %v", err)
		}
	})
}

func TestServiceRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// act does the thing under test with a key unique to the row.
		act  func(t *testing.T, svc *catalog.Service, key string) error
		want errs.Kind
	}{
		{"editing a published version is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			publishedPlan(ctx, t, svc, key)
			_, err := svc.UpdatePlanVersion(ctx, catalog.UpdatePlanVersionInput{PlanRef: key, Version: 1, Content: catalog.Content{Charges: []catalog.Charge{fee("1")}}})
			return err
		}, errs.FailedPrecondition},
		{"publishing a draft without charges is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, _, err := svc.CreatePlan(ctx, planInput(key))
			must(t, err)
			_, _, err = svc.PublishPlan(ctx, key)
			return err
		}, errs.FailedPrecondition},
		{"publishing a plan without a draft is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			publishedPlan(ctx, t, svc, key)
			_, _, err := svc.PublishPlan(ctx, key)
			return err
		}, errs.FailedPrecondition},
		{"creating a version while draft 1 is open is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, _, err := svc.CreatePlan(ctx, planInput(key, fee("1")))
			must(t, err)
			_, err = svc.CreatePlanVersion(ctx, key)
			return err
		}, errs.FailedPrecondition},
		{"creating a version while draft 2 is open is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			publishedPlan(ctx, t, svc, key)
			_, err := svc.CreatePlanVersion(ctx, key)
			must(t, err)
			_, err = svc.CreatePlanVersion(ctx, key)
			return err
		}, errs.FailedPrecondition},
		{"archiving an archived plan is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			publishedPlan(ctx, t, svc, key)
			_, err := svc.ArchivePlan(ctx, key)
			must(t, err)
			_, err = svc.ArchivePlan(ctx, key)
			return err
		}, errs.FailedPrecondition},
		{"publishing the draft of an archived plan is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, _, err := svc.CreatePlan(ctx, planInput(key, fee("1")))
			must(t, err)
			_, err = svc.ArchivePlan(ctx, key)
			must(t, err)
			_, _, err = svc.PublishPlan(ctx, key)
			return err
		}, errs.FailedPrecondition},
		{"editing the draft of an archived plan is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, _, err := svc.CreatePlan(ctx, planInput(key, fee("1")))
			must(t, err)
			_, err = svc.ArchivePlan(ctx, key)
			must(t, err)
			_, err = svc.UpdatePlanVersion(ctx, catalog.UpdatePlanVersionInput{PlanRef: key, Version: 1})
			return err
		}, errs.FailedPrecondition},
		{"creating a version of an archived plan is refused", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			publishedPlan(ctx, t, svc, key)
			_, err := svc.ArchivePlan(ctx, key)
			must(t, err)
			_, err = svc.CreatePlanVersion(ctx, key)
			return err
		}, errs.FailedPrecondition},
		{"a second plan with the same key already exists", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, _, err := svc.CreatePlan(ctx, planInput(key))
			must(t, err)
			_, _, err = svc.CreatePlan(ctx, planInput(key, fee("2")))
			return err
		}, errs.AlreadyExists},
		{"a second feature with the same key already exists", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, err := svc.CreateFeature(ctx, catalog.CreateFeatureInput{Feature: catalog.Feature{Key: "sites", Name: "Sites", Unit: "site", Kind: catalog.Gauge}})
			return err
		}, errs.AlreadyExists},
		{"a second compute plan with the same key already exists", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			in := catalog.CreateComputePlanInput{ComputePlan: catalog.ComputePlan{Key: "c-" + key, Name: "C", VCPURequest: dec("1"), VCPULimit: dec("1"), MemoryRequest: "1Gi", MemoryLimit: "1Gi"}}
			_, err := svc.CreateComputePlan(ctx, in)
			must(t, err)
			_, err = svc.CreateComputePlan(ctx, in)
			return err
		}, errs.AlreadyExists},
		{"a second storage plan with the same key already exists", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			in := catalog.CreateStoragePlanInput{StoragePlan: catalog.StoragePlan{Key: "s-" + key, Name: "S", PricePerGiB: catalog.Money{Amount: dec("0.1"), Currency: "CHF"}, PriceUnit: catalog.PerMonth}}
			_, err := svc.CreateStoragePlan(ctx, in)
			must(t, err)
			_, err = svc.CreateStoragePlan(ctx, in)
			return err
		}, errs.AlreadyExists},
		{"a second offering with the same key already exists", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			in := catalog.CreateOfferingInput{Offering: catalog.Offering{Key: "o-" + key, Name: "O", Service: "redis", ControlPlane: "exoscale"}}
			_, err := svc.CreateOffering(ctx, in)
			must(t, err)
			_, err = svc.CreateOffering(ctx, in)
			return err
		}, errs.AlreadyExists},
		{"getting a missing plan is not found", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, _, err := svc.GetPlan(ctx, key)
			return err
		}, errs.NotFound},
		{"getting a missing version is not found", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			publishedPlan(ctx, t, svc, key)
			_, err := svc.GetPlanVersion(ctx, key, 2)
			return err
		}, errs.NotFound},
		{"editing a version of a missing plan is not found", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, err := svc.UpdatePlanVersion(ctx, catalog.UpdatePlanVersionInput{PlanRef: key, Version: 1})
			return err
		}, errs.NotFound},
		{"setting the assignments of a missing offering is not found", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, err := svc.SetOfferingAssignments(ctx, catalog.SetOfferingAssignmentsInput{OfferingKey: "o-" + key})
			return err
		}, errs.NotFound},
		{"a plan entitling an unknown feature is invalid", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			in := planInput(key, fee("1"))
			in.Draft.Entitlements = []catalog.Entitlement{{FeatureKey: "mailboxes", LimitPolicy: catalog.Hard}}
			_, _, err := svc.CreatePlan(ctx, in)
			return err
		}, errs.Invalid},
		{"a plan under an unknown offering is invalid", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			in := planInput(key, fee("1"))
			in.Plan.OfferingKey = "nope"
			_, _, err := svc.CreatePlan(ctx, in)
			return err
		}, errs.Invalid},
		{"listing with a negative page size is invalid", func(t *testing.T, svc *catalog.Service, key string) error {
			ctx := t.Context()
			_, err := svc.ListFeatures(ctx, catalog.PageRequest{Size: -1})
			return err
		}, errs.Invalid},
	}
	storagetest.Each(t, "catalog", migrations.FS, func(t *testing.T, db *storage.DB) {
		svc, _ := newService(t, db)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				wantKind(t, tt.act(t, svc, fmt.Sprintf("plan_%d", i)), tt.want)
			})
		}
	})
}

// publishedPlan creates and publishes a plan with a 10 EUR monthly fee.
func publishedPlan(ctx context.Context, t *testing.T, svc *catalog.Service, key string) {
	t.Helper()
	_, _, err := svc.CreatePlan(ctx, planInput(key, fee("10")))
	must(t, err)
	_, _, err = svc.PublishPlan(ctx, key)
	must(t, err)
}

func TestListPlansPages(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", migrations.FS, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		svc, _ := newService(t, db)
		for _, key := range []string{"e", "d", "c", "b", "a"} {
			_, _, err := svc.CreatePlan(ctx, planInput(key, fee("1")))
			must(t, err)
		}
		_, _, err := svc.PublishPlan(ctx, "c")
		must(t, err)

		var keys []string
		var pages int
		in := catalog.ListPlansInput{Page: catalog.PageRequest{Size: 2}}
		for {
			page, err := svc.ListPlans(ctx, in)
			must(t, err)
			pages++
			for _, p := range page.Items {
				keys = append(keys, p.Key)
			}
			if page.NextToken == "" {
				break
			}
			in.Page.Token = page.NextToken
		}
		diff(t, "keys over all pages", []string{"a", "b", "c", "d", "e"}, keys)
		if pages != 3 {
			t.Errorf("5 plans in pages of 2 took %d pages, want 3", pages)
		}

		page, err := svc.ListPlans(ctx, catalog.ListPlansInput{Status: catalog.PlanDraft, Page: catalog.PageRequest{Size: 1000}})
		must(t, err)
		if len(page.Items) != 4 || page.NextToken != "" {
			t.Errorf("draft plans = %d items, token %q; want 4 and no token", len(page.Items), page.NextToken)
		}
	})
}

func TestListPlansForOffering(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", migrations.FS, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		svc, _ := newService(t, db)
		std2 := catalog.ComputePlan{Key: "standard-2", Name: "Standard 2", VCPURequest: dec("0.5"), VCPULimit: dec("2"), MemoryRequest: "2Gi", MemoryLimit: "4Gi"}
		_, err := svc.CreateComputePlan(ctx, catalog.CreateComputePlanInput{ComputePlan: std2})
		must(t, err)
		ssd := catalog.StoragePlan{Key: "cloudscale-ssd", Name: "SSD", PricePerGiB: catalog.Money{Amount: dec("0.15"), Currency: "CHF"}, PriceUnit: catalog.PerMonth}
		_, err = svc.CreateStoragePlan(ctx, catalog.CreateStoragePlanInput{StoragePlan: ssd})
		must(t, err)
		chf := func(a string) catalog.Money { return catalog.Money{Amount: dec(a), Currency: "CHF"} }
		bestEffort := catalog.PlanAssignment{ComputePlanKey: "standard-2", SLA: catalog.BestEffort, Price: chf("42.00"), PriceUnit: catalog.PerMonth, MinimumInstances: 1}
		guaranteed := catalog.PlanAssignment{ComputePlanKey: "standard-2", SLA: catalog.Guaranteed, Price: chf("0.09"), PriceUnit: catalog.PerHour, MinimumInstances: 2}
		forgejo := catalog.Offering{Key: "forgejo-cloudscale", Name: "Forgejo", Service: "forgejo", ControlPlane: "cloudscale", StoragePlanKey: "cloudscale-ssd",
			Assignments: []catalog.PlanAssignment{bestEffort, guaranteed}}
		_, err = svc.CreateOffering(ctx, catalog.CreateOfferingInput{Offering: forgejo})
		must(t, err)
		redis := catalog.Offering{Key: "redis-exoscale", Name: "Redis", Service: "redis", ControlPlane: "exoscale"}
		_, err = svc.CreateOffering(ctx, catalog.CreateOfferingInput{Offering: redis})
		must(t, err)

		got, err := svc.ListPlansForOffering(ctx, "forgejo-cloudscale")
		must(t, err)
		diff(t, "forgejo plans", catalog.OfferingPlans{
			Offering: forgejo,
			Plans: []catalog.OfferedPlan{
				{Assignment: bestEffort, ComputePlan: std2, MonthlyPrice: chf("42")},
				{Assignment: guaranteed, ComputePlan: std2, MonthlyPrice: chf("64.80")},
			},
			StoragePlan: &ssd,
			Orderable:   true,
		}, got)

		got, err = svc.ListPlansForOffering(ctx, "redis-exoscale")
		must(t, err)
		diff(t, "redis plans", catalog.OfferingPlans{Offering: redis, Orderable: false, NotOrderableReason: "offering has no plans"}, got)

		_, err = svc.ListPlansForOffering(ctx, "nope")
		wantKind(t, err, errs.NotFound)

		// Link a plan of the offering to an assignment; a plan of another
		// offering is refused.
		in := planInput("forgejo_small", fee("42"))
		in.Plan.OfferingKey, in.Plan.Currency = "forgejo-cloudscale", "CHF"
		_, _, err = svc.CreatePlan(ctx, in)
		must(t, err)
		bestEffort.PlanKey = "forgejo_small"
		o, err := svc.SetOfferingAssignments(ctx, catalog.SetOfferingAssignmentsInput{OfferingKey: "forgejo-cloudscale", Assignments: []catalog.PlanAssignment{bestEffort}})
		must(t, err)
		forgejo.Assignments = []catalog.PlanAssignment{bestEffort}
		diff(t, "offering with a linked plan", forgejo, o)
		_, err = svc.SetOfferingAssignments(ctx, catalog.SetOfferingAssignmentsInput{OfferingKey: "redis-exoscale", Assignments: []catalog.PlanAssignment{bestEffort}})
		wantKind(t, err, errs.Invalid)
	})
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}
