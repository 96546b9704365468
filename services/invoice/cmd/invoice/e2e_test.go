package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
)

// The standalone binaries, built once.
var catalogBin, subscriptionBin, meteringBin, invoiceBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invoice-e2e")
	if err != nil {
		panic(err)
	}
	for _, b := range []struct {
		bin *string
		pkg string
	}{{&catalogBin, "../../../catalog/cmd/catalog"}, {&subscriptionBin, "../../../subscription/cmd/subscription"},
		{&meteringBin, "../../../metering/cmd/metering"}, {&invoiceBin, "."}} {
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

// TestStandalone runs the invoice service alone, as deployed, with its
// peers in their own processes (MP_CATALOG_ADDR, MP_SUBSCRIPTION_ADDR,
// MP_METERING_ADDR): a customer on the 50-sites plan since the 1st of last
// month is billed and its invoice finalized by one run; with the peers
// stopped, the calls that need them answer Unavailable (503), never
// Internal, and what is stored is still served.
func TestStandalone(t *testing.T) {
	ctx := t.Context()
	catalog := apptest.Start(t, catalogBin, nil, "--demo")
	sub := apptest.Start(t, subscriptionBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr})
	met := apptest.Start(t, meteringBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr, "MP_SUBSCRIPTION_ADDR=" + sub.GRPCAddr})
	inv := apptest.Start(t, invoiceBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr, "MP_SUBSCRIPTION_ADDR=" + sub.GRPCAddr,
		"MP_METERING_ADDR=" + met.GRPCAddr, "MP_INVOICE_RUN_INTERVAL=24h"})

	subs := subscriptionv1.NewSubscriptionServiceClient(dial(t, sub.GRPCAddr))
	cus, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Standalone Ltd", Currency: "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	id := cus.GetCustomer().GetCustomerId()
	now := time.Now().UTC()
	lastMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0)
	if _, err := subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50", Quantity: 1,
		StartTime: timestamppb.New(lastMonth), BackdateReason: "signed on paper"}); err != nil {
		t.Fatal(err)
	}

	client := invoicev1.NewInvoiceServiceClient(dial(t, inv.GRPCAddr))
	run, err := client.RunBilling(ctx, &invoicev1.RunBillingRequest{IdempotencyKey: "standalone-run"})
	if err != nil {
		t.Fatalf("RunBilling: %v", err)
	}
	if r := run.GetBillingRun(); r.GetInvoicesCreated() != 1 || r.GetInvoicesFinalized() != 1 || r.GetFailures() != 0 {
		t.Fatalf("run: %v", r)
	}
	list, err := client.ListInvoices(ctx, &invoicev1.ListInvoicesRequest{CustomerId: id})
	if err != nil || len(list.GetInvoices()) != 1 {
		t.Fatalf("invoices: %v, %v", list, err)
	}
	// Last month's fee from the start, and this month's in advance:
	// 49.00 + 49.00.
	got := list.GetInvoices()[0]
	if got.GetStatus() != invoicev1.InvoiceStatus_INVOICE_STATUS_FINALIZED || got.GetTotal() != "98.00" || !strings.HasPrefix(got.GetNumber(), "MP-") {
		t.Fatalf("invoice: %v", got)
	}

	met.Stop(t)
	sub.Stop(t)
	_, err = client.PreviewInvoice(ctx, &invoicev1.PreviewInvoiceRequest{CustomerId: id})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("PreviewInvoice with its peers down: %v, want Unavailable", err)
	}
	res, err := http.Get("http://" + inv.HTTPAddr + "/v1/customers/" + id + "/invoices:preview")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("HTTP preview with its peers down: %d %s, want 503", res.StatusCode, body)
	}
	if _, err := client.RunBilling(ctx, &invoicev1.RunBillingRequest{IdempotencyKey: "standalone-run-2"}); status.Code(err) == codes.Internal {
		t.Errorf("RunBilling with its peers down: %v", err)
	}
	// What is stored does not need the peers.
	doc, err := http.Get("http://" + inv.HTTPAddr + "/v1/invoices/" + got.GetInvoiceId() + "/document.pdf")
	if err != nil {
		t.Fatal(err)
	}
	pdf, _ := io.ReadAll(doc.Body)
	doc.Body.Close()
	if doc.StatusCode != http.StatusOK || doc.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(pdf), "%PDF-") {
		t.Errorf("document with the peers down: %d %q %.20q", doc.StatusCode, doc.Header.Get("Content-Type"), pdf)
	}
}
