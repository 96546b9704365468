package catalog_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/services/catalog"
)

// serve opens the catalog on SQLite in dir and serves it with the shared
// server, idempotency and error mapping included.
func serve(t *testing.T, dir string) catalogv1.CatalogServiceClient {
	t.Helper()
	srv := apptest.Serve(t, app.Deps{Config: config.Config{DataDir: dir}, Clock: clock.NewFake(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))}, catalog.Open)
	return catalogv1.NewCatalogServiceClient(srv.Conn())
}

func TestSeed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	c := serve(t, dir)
	for i := range 2 {
		if err := catalog.Seed(ctx, c); err != nil {
			t.Fatalf("seed %d: %v", i+1, err)
		}
	}

	plans, err := c.ListPlans(ctx, &catalogv1.ListPlansRequest{Status: catalogv1.PlanStatus_PLAN_STATUS_PUBLISHED, Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range plans.GetPlans() {
		keys = append(keys, p.GetKey())
	}
	if d := cmp.Diff([]string{"hosting_50", "hosting_payg", "hosting_single"}, keys); d != "" {
		t.Errorf("published EUR plans (-want +got):\n%s", d)
	}

	forgejo, err := c.ListPlansForOffering(ctx, &catalogv1.ListPlansForOfferingRequest{OfferingKey: "forgejo-cloudscale"})
	if err != nil {
		t.Fatal(err)
	}
	var monthly []*commonv1.Money
	for _, p := range forgejo.GetPlans() {
		monthly = append(monthly, p.GetMonthlyPrice())
	}
	want := []*commonv1.Money{{Amount: "42.00", Currency: "CHF"}, {Amount: "64.80", Currency: "CHF"}, {Amount: "84.00", Currency: "CHF"}, {Amount: "129.60", Currency: "CHF"}}
	if d := cmp.Diff(want, monthly, protocmp.Transform()); d != "" {
		t.Errorf("monthly prices of forgejo-cloudscale (-want +got):\n%s", d)
	}
	if !forgejo.GetOrderable() || forgejo.GetStoragePlan().GetKey() != "cloudscale-ssd" {
		t.Errorf("forgejo-cloudscale = %v, want orderable with storage cloudscale-ssd", forgejo)
	}

	redis, err := c.ListPlansForOffering(ctx, &catalogv1.ListPlansForOfferingRequest{OfferingKey: "redis-exoscale"})
	if err != nil {
		t.Fatal(err)
	}
	if redis.GetOrderable() || redis.GetNotOrderableReason() != "offering has no plans" {
		t.Errorf("redis-exoscale = %v, want not orderable: offering has no plans", redis)
	}
}
