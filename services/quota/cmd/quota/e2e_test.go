package main_test

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
)

// The standalone binaries, built once.
var catalogBin, subscriptionBin, meteringBin, quotaBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "quota-e2e")
	if err != nil {
		panic(err)
	}
	for _, b := range []struct {
		bin *string
		pkg string
	}{{&catalogBin, "../../../catalog/cmd/catalog"}, {&subscriptionBin, "../../../subscription/cmd/subscription"},
		{&meteringBin, "../../../metering/cmd/metering"}, {&quotaBin, "."}} {
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

// TestStandaloneFeedsMetering runs quota alone with its peers in their own
// processes (MP_CATALOG_ADDR, MP_SUBSCRIPTION_ADDR, MP_METERING_ADDR).
// Sites are committed and one deallocated while metering is down: the
// calls succeed, and once metering is back every level reaches its sites
// meter, each event once.
func TestStandaloneFeedsMetering(t *testing.T) {
	ctx := t.Context()
	catalog := apptest.Start(t, catalogBin, nil, "--demo")
	sub := apptest.Start(t, subscriptionBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	meteringAddr := l.Addr().String()
	l.Close()
	meteringEnv := []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr, "MP_SUBSCRIPTION_ADDR=" + sub.GRPCAddr,
		"MP_GRPC_ADDR=" + meteringAddr, "MP_DATA_DIR=" + t.TempDir()}
	met := apptest.Start(t, meteringBin, meteringEnv)
	meteringConn := dial(t, meteringAddr)
	metering := meteringv1.NewMeteringServiceClient(meteringConn)
	if _, err := metering.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "sites", FeatureKey: "sites",
		Aggregation: meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED, FedByQuota: true}}); err != nil {
		t.Fatalf("CreateMeter: %v", err)
	}
	subs := subscriptionv1.NewSubscriptionServiceClient(dial(t, sub.GRPCAddr))
	cus, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Standalone Ltd", Currency: "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	id := cus.GetCustomer().GetCustomerId()
	if _, err := subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50"}); err != nil {
		t.Fatal(err)
	}
	met.Stop(t)

	q := apptest.Start(t, quotaBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr, "MP_SUBSCRIPTION_ADDR=" + sub.GRPCAddr,
		"MP_METERING_ADDR=" + meteringAddr})
	client := quotav1.NewQuotaServiceClient(dial(t, q.GRPCAddr))
	for _, site := range []string{"site-1", "site-2"} {
		res, err := client.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: id, Items: []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}})
		if err != nil || !res.GetAllowed() {
			t.Fatalf("reserve %s: %v, %v", site, res, err)
		}
		if _, err := client.Commit(ctx, &quotav1.CommitRequest{ReservationId: res.GetReservation().GetReservationId(), Subjects: []string{site}}); err != nil {
			t.Fatalf("commit %s while metering is down: %v", site, err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // site-2 exists for a second at least
	if _, err := client.Deallocate(ctx, &quotav1.DeallocateRequest{CustomerId: id, FeatureKey: "sites", Subject: "site-2"}); err != nil {
		t.Fatalf("deallocate while metering is down: %v", err)
	}

	apptest.Start(t, meteringBin, meteringEnv)
	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	period := &commonv1.Period{Start: timestamppb.New(month), End: timestamppb.New(month.AddDate(0, 1, 0))}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		report, err := metering.ExportReport(ctx, &meteringv1.ExportReportRequest{Source: "quota", Period: period})
		if err == nil && report.GetEvents() == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metering has %d events from quota, want 3 (two commits, one deallocation): %v", report.GetEvents(), err)
		}
	}
	usage, err := metering.QueryUsage(ctx, &meteringv1.QueryUsageRequest{CustomerId: id, MeterKey: "sites", Period: period, GroupBySubject: true})
	if err != nil || len(usage.GetValues()) != 2 || usage.GetValues()[0].GetSubject() != "site-1" || usage.GetValues()[1].GetSubject() != "site-2" {
		t.Errorf("sites usage: %v, %v", usage, err)
	}
	// Nothing is sent twice: a while later there are still 3.
	time.Sleep(time.Second)
	report, err := metering.ExportReport(ctx, &meteringv1.ExportReportRequest{Source: "quota", Period: period})
	if err != nil || report.GetEvents() != 3 {
		t.Errorf("metering events from quota after a while: %v, %v", report.GetEvents(), err)
	}
}
