package quota_test

import (
	"io"
	"log/slog"
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
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/quota"
	"github.com/meterplane/meterplane/services/subscription"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAPI serves catalog, subscription and quota on one server, on
// PostgreSQL and real Redis, with the demo catalog, and follows a
// customer from no plan to one site to an upgrade over gRPC.
func TestAPI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := clock.NewFake(time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
	d := app.Deps{Config: config.Config{DatabaseURL: storagetest.EmptyPostgres(t)}, Clock: clk,
		Redis: &redisx.Redis{Client: redistest.New(t)}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := apptest.Serve(t, d, catalog.Open, subscription.Open, quota.Open)
	must(t, catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(srv.Conn())))
	subs := subscriptionv1.NewSubscriptionServiceClient(srv.Conn())
	client := quotav1.NewQuotaServiceClient(srv.Conn())
	cus, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Acme", Currency: "EUR"}})
	must(t, err)
	id := cus.GetCustomer().GetCustomerId()
	sites := func(q string) []*quotav1.Item { return []*quotav1.Item{{FeatureKey: "sites", Quantity: q}} }
	check := func(name string, items []*quotav1.Item, allowed bool, reason quotav1.Reason, limit string) {
		t.Helper()
		res, err := client.CheckQuota(ctx, &quotav1.CheckQuotaRequest{CustomerId: id, Items: items})
		must(t, err)
		if got := res.GetItems()[0]; res.GetAllowed() != allowed || got.GetReason() != reason || got.GetLimit() != limit {
			t.Errorf("%s: got %v, want allowed %v reason %v limit %q", name, res, allowed, reason, limit)
		}
	}

	check("no subscription", sites("1"), false, quotav1.Reason_REASON_NO_PLAN, "0")
	sub, err := subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_single"})
	must(t, err)
	clk.Advance(2 * time.Second)
	check("one site", sites("1"), true, quotav1.Reason_REASON_OK, "1")
	check("a feature the plan does not grant", []*quotav1.Item{{FeatureKey: "disk_gib", Quantity: "1"}}, false, quotav1.Reason_REASON_NOT_ENTITLED, "0")

	res, err := client.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: id, Items: sites("1"), IdempotencyKey: "r1"})
	must(t, err)
	_, err = client.Commit(ctx, &quotav1.CommitRequest{ReservationId: res.GetReservation().GetReservationId(), Subjects: []string{"site-1"}, IdempotencyKey: "c1"})
	must(t, err)
	check("a second site", sites("1"), false, quotav1.Reason_REASON_OVER_LIMIT, "1")

	_, err = subs.ChangePlan(ctx, &subscriptionv1.ChangePlanRequest{SubscriptionId: sub.GetSubscription().GetSubscriptionId(), PlanId: "hosting_50",
		Timing: subscriptionv1.ChangeTiming_CHANGE_TIMING_IMMEDIATE, IdempotencyKey: "up"})
	must(t, err)
	// The fake clock stands still, so only the subscription.changed
	// event can make quota ask the limits again.
	for deadline := time.Now().Add(10 * time.Second); ; {
		res, err := client.CheckQuota(ctx, &quotav1.CheckQuotaRequest{CustomerId: id, Items: sites("1")})
		must(t, err)
		if res.GetItems()[0].GetLimit() == "50" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the upgrade did not reach quota through its event: %v", res)
		}
		time.Sleep(20 * time.Millisecond)
	}
	check("a second site after the upgrade", sites("1"), true, quotav1.Reason_REASON_OK, "50")

	st, err := client.GetQuotaStatus(ctx, &quotav1.GetQuotaStatusRequest{CustomerId: id})
	must(t, err)
	if len(st.GetFeatures()) != 1 || st.GetFeatures()[0].GetUsed() != "1" || st.GetFeatures()[0].GetRemaining() != "49" {
		t.Errorf("status: %v", st)
	}

	for _, tt := range []struct {
		name string
		req  *quotav1.ReserveRequest
		code codes.Code
	}{
		{"an unknown feature", &quotav1.ReserveRequest{CustomerId: id, Items: []*quotav1.Item{{FeatureKey: "nope", Quantity: "1"}}}, codes.InvalidArgument},
		{"a counter feature", &quotav1.ReserveRequest{CustomerId: id, Items: []*quotav1.Item{{FeatureKey: "bandwidth_gib", Quantity: "1"}}}, codes.InvalidArgument},
		{"an unknown customer", &quotav1.ReserveRequest{CustomerId: "cus_nobody", Items: sites("1")}, codes.NotFound},
	} {
		if _, err := client.Reserve(ctx, tt.req); status.Code(err) != tt.code {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.code)
		}
	}
	_, err = client.Release(ctx, &quotav1.ReleaseRequest{ReservationId: res.GetReservation().GetReservationId()})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("release after commit: got %v", err)
	}
}
