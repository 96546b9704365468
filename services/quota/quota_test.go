package quota_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/metering"
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
	srv := apptest.Serve(t, d, catalog.Open, subscription.Open, metering.Open, quota.Open)
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
	// The plan grants bandwidth too, a counter without a meter: no use.
	if f := st.GetFeatures(); len(f) != 2 || f[0].GetFeatureKey() != "bandwidth_gib" || f[0].GetUsed() != "0" || f[0].GetResetTime() == nil ||
		f[1].GetUsed() != "1" || f[1].GetRemaining() != "49" || f[1].GetPeriod() != nil {
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

// TestCounters serves catalog, subscription, metering and quota on one
// server, on PostgreSQL with real Redis and on the embedded defaults, and
// follows a customer's bandwidth (a SOFT counter of 500 GiB reset each
// billing period) from metering's events to CheckQuota: the use ingested
// before the first check, usage.recorded events after it (the same event
// twice counts once), and the reset at the end of the billing period.
func TestCounters(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"postgres", "sqlite"} {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clk := clock.NewFake(time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
			d := app.Deps{Clock: clk, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			if engine == "postgres" {
				d.Config.DatabaseURL = storagetest.EmptyPostgres(t)
				d.Redis = &redisx.Redis{Client: redistest.New(t)}
			} else {
				r, err := redisx.Open(ctx, "")
				must(t, err)
				t.Cleanup(func() { r.Close() })
				d.Redis = r
			}
			srv := apptest.Serve(t, d, catalog.Open, subscription.Open, metering.Open, quota.Open)
			must(t, catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(srv.Conn())))
			subs := subscriptionv1.NewSubscriptionServiceClient(srv.Conn())
			meters := meteringv1.NewMeteringServiceClient(srv.Conn())
			client := quotav1.NewQuotaServiceClient(srv.Conn())
			cus, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Acme", Currency: "EUR"}})
			must(t, err)
			id := cus.GetCustomer().GetCustomerId()
			_, err = subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50"})
			must(t, err)
			_, err = meters.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "bandwidth", FeatureKey: "bandwidth_gib",
				Aggregation: meteringv1.Aggregation_AGGREGATION_SUM}, IdempotencyKey: "m1"})
			must(t, err)
			ingest := func(key, q string) {
				t.Helper()
				_, err := meters.Ingest(ctx, &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth",
					Quantity: q, Time: pbtime.New(clk.Now()), IdempotencyKey: key}})
				must(t, err)
			}
			bandwidth := func(q string) *quotav1.CheckQuotaResponse {
				t.Helper()
				res, err := client.CheckQuota(ctx, &quotav1.CheckQuotaRequest{CustomerId: id, Items: []*quotav1.Item{{FeatureKey: "bandwidth_gib", Quantity: q}}})
				must(t, err)
				return res
			}
			waitUsed := func(want string) *quotav1.ItemResult {
				t.Helper()
				for deadline := time.Now().Add(15 * time.Second); ; {
					got := bandwidth("1").GetItems()[0]
					if got.GetUsed() == want {
						return got
					}
					if time.Now().After(deadline) {
						t.Fatalf("used %s, want %s", got.GetUsed(), want)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}

			ingest("e1", "30")
			got := bandwidth("1").GetItems()[0]
			may, june := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
			if got.GetUsed() != "30" || got.GetLimit() != "500" || !got.GetAllowed() ||
				!got.GetPeriod().GetStart().AsTime().Equal(may) || !got.GetResetTime().AsTime().Equal(june) {
				t.Fatalf("first check: %v", got)
			}
			// Later usage arrives through usage.recorded; the event of e1,
			// stored when the check read metering, is not counted again.
			clk.Advance(time.Second)
			ingest("e2", "5")
			waitUsed("35")

			// The same event delivered twice counts once; a third event,
			// consumed after both, shows that both were handled.
			events := bus.New(d.Redis.Client)
			publish := func(evID, q string) {
				t.Helper()
				payload, err := protojson.Marshal(&meteringv1.UsageRecorded{CustomerId: id, MeterKey: "bandwidth", FeatureKey: "bandwidth_gib",
					Aggregation: meteringv1.Aggregation_AGGREGATION_SUM, Hour: pbtime.New(clk.Now().Truncate(time.Hour)), Quantity: q, Count: 1})
				must(t, err)
				must(t, events.Publish(ctx, bus.Message{ID: evID, Topic: "usage.recorded", Key: id, Payload: payload, Time: clk.Now()}))
			}
			publish("evt_twice", "7")
			publish("evt_twice", "7")
			publish("evt_after", "1")
			waitUsed("43")
			if res := bandwidth("458"); !res.GetAllowed() || res.GetItems()[0].GetReason() != quotav1.Reason_REASON_OVERAGE {
				t.Errorf("above the soft limit: %v", res)
			}

			// A counter cannot be reserved.
			_, err = client.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: id, Items: []*quotav1.Item{{FeatureKey: "bandwidth_gib", Quantity: "1"}}})
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("reserve a counter: %v", err)
			}

			// The billing period ends: the counter starts from zero.
			clk.Set(june)
			got = bandwidth("1").GetItems()[0]
			clk.Advance(time.Second)
			if got.GetUsed() != "0" || !got.GetPeriod().GetStart().AsTime().Equal(june) || !got.GetResetTime().AsTime().Equal(june.AddDate(0, 1, 0)) {
				t.Errorf("next period: %v", got)
			}
			ingest("e3", "2")
			waitUsed("2")
		})
	}
}
