package main_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
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
