package main_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
)

// The standalone binaries, built once: the catalog service's and this one.
var catalogBin, subscriptionBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "subscription-e2e")
	if err != nil {
		panic(err)
	}
	catalogBin, err = apptest.Build(dir, "../../../catalog/cmd/catalog")
	if err == nil {
		subscriptionBin, err = apptest.Build(dir, ".")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestStandaloneWithCatalog runs the subscription service alone, reading
// plans from a standalone catalog over gRPC.
func TestStandaloneWithCatalog(t *testing.T) {
	catalog := apptest.Start(t, catalogBin, nil, "--demo")
	sub := apptest.Start(t, subscriptionBin, []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr})

	conn, err := grpc.NewClient(sub.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), apptest.Credential())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := subscriptionv1.NewSubscriptionServiceClient(conn)
	ctx := t.Context()

	cus, err := c.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{IdempotencyKey: "c1",
		Customer: &subscriptionv1.Customer{ExternalId: "standalone", Name: "Standalone Ltd", Currency: "EUR"}})
	if err != nil {
		t.Fatalf("CreateCustomer: %v", err)
	}
	id := cus.GetCustomer().GetCustomerId()
	s, err := c.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50", IdempotencyKey: "s1"})
	if err != nil {
		t.Fatalf("Subscribe to hosting_50: %v", err)
	}
	if got := s.GetSubscription(); got.GetPlanKey() != "hosting_50" || got.GetPlanVersion() != 1 || got.GetCurrency() != "EUR" {
		t.Errorf("Subscribe = %v", got)
	}
	// A plan the catalog does not have is the caller's bad plan_id.
	if _, err := c.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "no_such_plan"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("Subscribe to a missing plan = %v, want InvalidArgument", err)
	}
	ents, err := c.GetEntitlements(ctx, &subscriptionv1.GetEntitlementsRequest{CustomerId: id})
	if err != nil {
		t.Fatalf("GetEntitlements: %v", err)
	}
	got := map[string]string{}
	for _, e := range ents.GetEntitlements() {
		got[e.GetFeatureKey()] = e.GetIncludedQuantity()
	}
	if got["sites"] != "50" || got["bandwidth_gib"] != "500" || ents.GetActiveSubscriptions() != 1 {
		t.Errorf("GetEntitlements = %v, want sites 50 and bandwidth_gib 500", ents)
	}

	// With the catalog down, a call that needs it is Unavailable (503 over
	// HTTP), which the client may retry; calls that do not need it work.
	catalog.Stop(t)
	if _, err := c.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_payg", IdempotencyKey: "s2"}); status.Code(err) != codes.Unavailable {
		t.Errorf("Subscribe with the catalog down = %v, want Unavailable", err)
	}
	resp, err := http.Post("http://"+sub.HTTPAddr+"/v1/customers/"+id+"/subscriptions", "application/json",
		strings.NewReader(`{"planId": "hosting_payg", "idempotencyKey": "s3"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("POST subscriptions with the catalog down = %d, want 503", resp.StatusCode)
	}
	if _, err := c.GetEntitlements(ctx, &subscriptionv1.GetEntitlementsRequest{CustomerId: id}); err != nil {
		t.Errorf("GetEntitlements with the catalog down: %v", err)
	}
	sub.Stop(t)
}
