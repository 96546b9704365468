package quota_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/quota"
	"github.com/meterplane/meterplane/services/quota/internal/live"
	"github.com/meterplane/meterplane/services/subscription"
)

// TestLimitsAPI serves catalog, subscription and quota on one server, on
// PostgreSQL and real Redis: a downgrade scheduled at the period end
// applies to CheckQuota at that instant through GetEntitlements'
// valid_until, with no event then, and keeps the sites allocated above
// it; overrides over gRPC and HTTP raise the limit at once and end when
// deleted.
func TestLimitsAPI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := clock.NewFake(time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
	rdb := redistest.New(t)
	d := app.Deps{Config: config.Config{DatabaseURL: storagetest.EmptyPostgres(t)}, Clock: clk,
		Redis: &redisx.Redis{Client: rdb}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := apptest.Serve(t, d, catalog.Open, subscription.Open, quota.Open)
	must(t, catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(srv.Conn())))
	subs := subscriptionv1.NewSubscriptionServiceClient(srv.Conn())
	client := quotav1.NewQuotaServiceClient(srv.Conn())
	cus, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Acme", Currency: "EUR"}})
	must(t, err)
	id := cus.GetCustomer().GetCustomerId()
	site := []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}
	check := func(name, limit, used string, allowed bool) {
		t.Helper()
		res, err := client.CheckQuota(ctx, &quotav1.CheckQuotaRequest{CustomerId: id, Items: site})
		must(t, err)
		if got := res.GetItems()[0]; res.GetAllowed() != allowed || got.GetLimit() != limit || got.GetUsed() != used {
			t.Errorf("%s: got %v, want allowed %v limit %s used %s", name, res, allowed, limit, used)
		}
	}

	sub, err := subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50"})
	must(t, err)
	for i := range 3 {
		res, err := client.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: id, Items: site})
		must(t, err)
		_, err = client.Commit(ctx, &quotav1.CommitRequest{ReservationId: res.GetReservation().GetReservationId(), Subjects: []string{fmt.Sprintf("site-%d", i)}})
		must(t, err)
	}
	ch, err := subs.ChangePlan(ctx, &subscriptionv1.ChangePlanRequest{SubscriptionId: sub.GetSubscription().GetSubscriptionId(),
		PlanId: "hosting_single", IdempotencyKey: "down"})
	must(t, err)
	periodEnd := pbtime.Time(ch.GetChange().GetEffectiveTime())
	if !periodEnd.Equal(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("the downgrade takes effect at %v, want the period end", periodEnd)
	}
	ents, err := subs.GetEntitlements(ctx, &subscriptionv1.GetEntitlementsRequest{CustomerId: id})
	must(t, err)
	if !pbtime.Time(ents.GetValidUntil()).Equal(periodEnd) {
		t.Errorf("entitlements valid until %v, want %v", ents.GetValidUntil(), periodEnd)
	}
	// Wait until quota has handled both events (subscribe, downgrade), so
	// that nothing but valid_until can make it ask the limits again at
	// the period end.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if v, _ := rdb.HGet(ctx, live.Keys(id)[1], "_gen").Int(); v >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("quota did not handle the subscription events")
		}
		time.Sleep(10 * time.Millisecond)
	}
	check("before the period end", "50", "3", true)
	clk.Set(periodEnd.Add(-200 * time.Millisecond))
	check("200 ms before the period end", "50", "3", true)
	clk.Set(periodEnd)
	check("at the period end", "1", "3", false)

	// Overrides over gRPC: an hour of 5 more sites, at once.
	o, err := client.SetOverride(ctx, &quotav1.SetOverrideRequest{CustomerId: id, FeatureKey: "sites", Extra: "5",
		ExpireTime: pbtime.New(periodEnd.Add(time.Hour)), Reason: "migration", IdempotencyKey: "o1"})
	must(t, err)
	check("with an override", "6", "3", true)
	again, err := client.SetOverride(ctx, &quotav1.SetOverrideRequest{CustomerId: id, FeatureKey: "sites", Extra: "5",
		ExpireTime: pbtime.New(periodEnd.Add(time.Hour)), Reason: "migration", IdempotencyKey: "o1"})
	must(t, err)
	if again.GetOverride().GetOverrideId() != o.GetOverride().GetOverrideId() {
		t.Errorf("a retry set another override: %v", again)
	}
	check("after a retry", "6", "3", true)
	_, err = client.SetOverride(ctx, &quotav1.SetOverrideRequest{CustomerId: id, FeatureKey: "sites", Extra: "0.0001"})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "extra") {
		t.Errorf("a bad extra: %v", err)
	}

	// Over HTTP: set a second one, list both, delete the first.
	base := "http://" + srv.HTTPAddr() + "/v1/customers/" + id + "/quota/overrides"
	resp, err := http.Post(base, "application/json", strings.NewReader(`{"featureKey": "sites", "extra": "0.5", "reason": "http"}`))
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST overrides: %s", resp.Status)
	}
	check("with two overrides", "6.5", "3", true)
	resp, err = http.Get(base + "?pageSize=1")
	must(t, err)
	var list struct {
		Overrides []struct {
			OverrideID string `json:"overrideId"`
			Extra      string `json:"extra"`
		} `json:"overrides"`
		NextPageToken string `json:"nextPageToken"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&list))
	resp.Body.Close()
	if len(list.Overrides) != 1 || list.Overrides[0].OverrideID != o.GetOverride().GetOverrideId() || list.NextPageToken == "" {
		t.Errorf("GET overrides: %+v", list)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, base+"/"+o.GetOverride().GetOverrideId(), nil)
	must(t, err)
	resp, err = http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE override: %s", resp.Status)
	}
	check("after the delete", "1.5", "3", false)
	_, err = client.DeleteOverride(ctx, &quotav1.DeleteOverrideRequest{CustomerId: id, OverrideId: "ovr_nope"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("delete of an unknown override: %v", err)
	}
}
