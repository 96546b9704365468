package main_test

import (
	"database/sql"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/shopspring/decimal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// The standalone binaries, built once.
var catalogBin, subscriptionBin, meteringBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "metering-e2e")
	if err != nil {
		panic(err)
	}
	for _, b := range []struct {
		bin *string
		pkg string
	}{{&catalogBin, "../../../catalog/cmd/catalog"}, {&subscriptionBin, "../../../subscription/cmd/subscription"}, {&meteringBin, "."}} {
		if *b.bin, err = apptest.Build(dir, b.pkg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()), apptest.Credential())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestStandalone runs metering alone, asking a standalone catalog for
// features and a standalone subscription service for customers.
func TestStandalone(t *testing.T) {
	catalog := apptest.Start(t, catalogBin, nil, "--demo")
	sub := apptest.Start(t, subscriptionBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr})
	met := apptest.Start(t, meteringBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr, "MP_SUBSCRIPTION_ADDR=" + sub.GRPCAddr})
	ctx := t.Context()

	cus, err := subscriptionv1.NewSubscriptionServiceClient(dial(t, sub.GRPCAddr)).CreateCustomer(ctx,
		&subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Standalone Ltd", Currency: "EUR"}})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	id := cus.GetCustomer().GetCustomerId()
	c := meteringv1.NewMeteringServiceClient(dial(t, met.GRPCAddr))
	if _, err := c.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "bandwidth", FeatureKey: "bandwidth_gib",
		Aggregation: meteringv1.Aggregation_AGGREGATION_SUM}}); err != nil {
		t.Fatalf("CreateMeter: %v", err)
	}
	hour := time.Now().UTC().Truncate(time.Hour)
	res, err := c.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: []*meteringv1.UsageEvent{
		{CustomerId: id, MeterKey: "bandwidth", Quantity: "2.5", Time: timestamppb.New(hour), IdempotencyKey: "a"},
		{CustomerId: "cus_unknown", MeterKey: "bandwidth", Quantity: "1", Time: timestamppb.New(hour), IdempotencyKey: "b"},
	}})
	if err != nil {
		t.Fatalf("IngestBatch: %v", err)
	}
	if res.GetAccepted() != 1 || res.GetResults()[1].GetError() != meteringv1.EventError_EVENT_ERROR_UNKNOWN_CUSTOMER {
		t.Errorf("IngestBatch = %v", res)
	}
	u, err := c.QueryUsage(ctx, &meteringv1.QueryUsageRequest{CustomerId: id, FeatureKey: "bandwidth_gib",
		Period: &commonv1.Period{Start: timestamppb.New(hour), End: timestamppb.New(hour.Add(time.Hour))}})
	if err != nil || u.GetTotal() != "2.5" {
		t.Errorf("QueryUsage = %v, %v; want 2.5", u, err)
	}

	met.Stop(t)
	sub.Stop(t)
	catalog.Stop(t)
}

// TestKilledMidStream kills metering with SIGKILL twice while two
// collectors send batches back to back, each retrying a batch until it is
// answered, as collectors do, on both engines. After the restarts every
// event is counted once: none lost, none twice.
func TestKilledMidStream(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			catalog := apptest.Start(t, catalogBin, nil, "--demo")
			sub := apptest.Start(t, subscriptionBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr})
			env := []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr, "MP_SUBSCRIPTION_ADDR=" + sub.GRPCAddr, "MP_DATA_DIR=" + t.TempDir()}
			var dbURL string
			if engine == "postgres" {
				dbURL = storagetest.EmptyPostgres(t)
				env = append(env, "DATABASE_URL="+dbURL)
			}
			ctx := t.Context()
			cus, err := subscriptionv1.NewSubscriptionServiceClient(dial(t, sub.GRPCAddr)).CreateCustomer(ctx,
				&subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Crash Ltd", Currency: "EUR"}})
			if err != nil {
				t.Fatalf("CreateCustomer: %v", err)
			}
			id := cus.GetCustomer().GetCustomerId()

			met := apptest.Start(t, meteringBin, env)
			var client atomic.Pointer[meteringv1.MeteringServiceClient]
			connect := func(p *apptest.Proc) {
				c := meteringv1.NewMeteringServiceClient(dial(t, p.GRPCAddr))
				client.Store(&c)
			}
			connect(met)
			if _, err := (*client.Load()).CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "bandwidth",
				FeatureKey: "bandwidth_gib", Aggregation: meteringv1.Aggregation_AGGREGATION_SUM}}); err != nil {
				t.Fatalf("CreateMeter: %v", err)
			}

			// Two collectors, 30 batches of 500 events each, every event
			// with its own quantity, so that a lost or doubled event shows
			// in the total.
			const collectors, batches, size = 2, 30, 500
			hour := time.Now().UTC().Truncate(time.Hour)
			want := decimal.Zero
			var sent, failed atomic.Int64
			var wg sync.WaitGroup
			for c := range collectors {
				var reqs []*meteringv1.IngestBatchRequest
				for b := range batches {
					req := &meteringv1.IngestBatchRequest{}
					for i := range size {
						n := (c*batches+b)*size + i
						q := decimal.New(int64(1000+n%977), -3)
						want = want.Add(q)
						req.Events = append(req.Events, &meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth", Quantity: q.String(),
							Time: timestamppb.New(hour.Add(time.Duration(n) * time.Millisecond)), IdempotencyKey: fmt.Sprint("e-", n), Source: "collector"})
					}
					reqs = append(reqs, req)
				}
				wg.Go(func() {
					for _, req := range reqs {
						for attempt := 0; ; attempt++ {
							if ctx.Err() != nil {
								return
							}
							res, err := (*client.Load()).IngestBatch(ctx, req)
							if err == nil && res.GetRejected() == 0 {
								break
							}
							if err == nil || attempt > 600 {
								t.Errorf("IngestBatch: %v, %v", res, err)
								return
							}
							failed.Add(1)
							time.Sleep(50 * time.Millisecond)
						}
						sent.Add(1)
					}
				})
			}
			for _, after := range []int64{10, 35} {
				for sent.Load() < after {
					time.Sleep(5 * time.Millisecond)
				}
				met.Kill(t)
				met = apptest.Start(t, meteringBin, env)
				connect(met)
			}
			wg.Wait()
			t.Logf("%d calls failed and were retried", failed.Load())

			u, err := (*client.Load()).QueryUsage(ctx, &meteringv1.QueryUsageRequest{CustomerId: id, MeterKey: "bandwidth",
				Period: &commonv1.Period{Start: timestamppb.New(hour), End: timestamppb.New(hour.Add(time.Hour))}})
			if err != nil || u.GetTotal() != want.String() {
				t.Errorf("QueryUsage = %v, %v; want total %s", u, err, want)
			}
			if dbURL != "" {
				db, err := sql.Open("pgx", dbURL)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var events, keys int
				if err := db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM metering.events), (SELECT count(*) FROM metering.event_keys)").
					Scan(&events, &keys); err != nil {
					t.Fatal(err)
				}
				if events != collectors*batches*size || keys != events {
					t.Errorf("%d events and %d keys stored, want %d", events, keys, collectors*batches*size)
				}
			}
			met.Stop(t)
			sub.Stop(t)
			catalog.Stop(t)
		})
	}
}
