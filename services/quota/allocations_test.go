package quota_test

import (
	"encoding/json"
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
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/quota"
	"github.com/meterplane/meterplane/services/subscription"
)

// TestAllocationsAPI, on the embedded database with real Redis: a denied
// Reserve is not replayed for its key (the server leaves Reserve's keys to
// the domain), a deallocated site makes room, allocations page over gRPC
// and HTTP, and an operator's rebuild answers what it loaded.
func TestAllocationsAPI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	clk := clock.NewFake(time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC))
	d := app.Deps{Clock: clk, Redis: &redisx.Redis{Client: redistest.New(t)}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := apptest.Serve(t, d, catalog.Open, subscription.Open, quota.Open)
	must(t, catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(srv.Conn())))
	subs := subscriptionv1.NewSubscriptionServiceClient(srv.Conn())
	client := quotav1.NewQuotaServiceClient(srv.Conn())
	cus, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Acme", Currency: "EUR"}})
	must(t, err)
	id := cus.GetCustomer().GetCustomerId()
	_, err = subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_single", Quantity: 2})
	must(t, err)
	site := []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}
	for i, s := range []string{"site-1", "site-2"} {
		res, err := client.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: id, Items: site, IdempotencyKey: s})
		if err != nil || !res.GetAllowed() || res.GetReservation().GetIdempotencyKey() != s {
			t.Fatalf("reserve %d: %v, %v", i, res, err)
		}
		c, err := client.Commit(ctx, &quotav1.CommitRequest{ReservationId: res.GetReservation().GetReservationId(), Subjects: []string{s}})
		if err != nil || len(c.GetReservation().GetSubjects()) != 1 {
			t.Fatalf("commit %d: %v, %v", i, c, err)
		}
	}
	denied, err := client.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: id, Items: site, IdempotencyKey: "site-3"})
	if err != nil || denied.GetAllowed() {
		t.Fatalf("the third site: %v, %v", denied, err)
	}

	base := "http://" + srv.HTTPAddr()
	res, err := http.Post(base+"/v1/customers/"+id+"/quota:deallocate", "application/json",
		strings.NewReader(`{"featureKey":"sites","subject":"site-1","idempotencyKey":"del-1"}`))
	must(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(strings.ReplaceAll(string(b), " ", ""), `"subject":"site-1"`) {
		t.Fatalf("deallocate over HTTP = %d %s", res.StatusCode, b)
	}
	// The same key, now that there is room: judged afresh, not replayed.
	again, err := client.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: id, Items: site, IdempotencyKey: "site-3"})
	if err != nil || !again.GetAllowed() {
		t.Fatalf("the denied Reserve's retry after a deallocation: %v, %v", again, err)
	}
	_, err = client.Deallocate(ctx, &quotav1.DeallocateRequest{CustomerId: id, FeatureKey: "sites", Subject: "site-1"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("deallocating a deallocated site: %v", err)
	}

	page, err := client.ListAllocations(ctx, &quotav1.ListAllocationsRequest{CustomerId: id, FeatureKey: "sites", PageSize: 5})
	must(t, err)
	if n := len(page.GetAllocations()); n != 1 || page.GetAllocations()[0].GetSubject() != "site-2" || page.GetNextPageToken() != "" {
		t.Errorf("allocations: %v", page)
	}
	res, err = http.Get(base + "/v1/customers/" + id + "/quota/allocations?featureKey=sites")
	must(t, err)
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(strings.ReplaceAll(string(b), " ", ""), `"subject":"site-2"`) || strings.Contains(string(b), "site-1") {
		t.Errorf("allocations over HTTP = %d %s", res.StatusCode, b)
	}

	res, err = http.Post(base+"/v1/customers/"+id+"/quota:rebuild", "application/json", strings.NewReader(`{}`))
	must(t, err)
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	// protojson varies its spacing on purpose, so the answer is decoded.
	var rebuilt struct {
		Used             []struct{ FeatureKey, Quantity string }
		LiveReservations int
	}
	if err := json.Unmarshal(b, &rebuilt); err != nil || res.StatusCode != 200 || len(rebuilt.Used) != 1 ||
		rebuilt.Used[0].FeatureKey != "sites" || rebuilt.Used[0].Quantity != "1" || rebuilt.LiveReservations != 1 {
		t.Errorf("rebuild over HTTP = %d %s (%v)", res.StatusCode, b, err)
	}
	st, err := client.GetQuotaStatus(ctx, &quotav1.GetQuotaStatusRequest{CustomerId: id})
	must(t, err)
	if f := st.GetFeatures()[0]; f.GetUsed() != "1" || f.GetReserved() != "1" {
		t.Errorf("status after the rebuild: %v", st)
	}
}
