package subscription_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/subscription"
)

// TestEmbeddedConcurrentSubscribe runs the catalog and the subscription
// service on one server on the embedded default (SQLite, one connection
// per service), and subscribes concurrently: a call to the catalog while
// the subscription service holds its only connection would deadlock them.
func TestEmbeddedConcurrentSubscribe(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	srv := apptest.Serve(t, app.Deps{Redis: &redisx.Redis{Client: redistest.New(t)}}, catalog.Open, subscription.Open)
	client := subscriptionv1.NewSubscriptionServiceClient(srv.Conn())
	must(t, catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(srv.Conn())))

	const n = 20
	ids := make([]string, n)
	for i := range ids {
		c, err := client.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{
			Customer:       &subscriptionv1.Customer{Name: fmt.Sprintf("Customer %d", i), Currency: "EUR"},
			IdempotencyKey: fmt.Sprintf("customer-%d", i),
		})
		must(t, err)
		ids[i] = c.GetCustomer().GetCustomerId()
	}
	errc := make(chan error, 2*n)
	var wg sync.WaitGroup
	for i := range 2 * n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every customer subscribes twice with the same key, at once.
			_, err := client.Subscribe(ctx, &subscriptionv1.SubscribeRequest{
				CustomerId: ids[i%n], PlanId: "hosting_50", IdempotencyKey: fmt.Sprintf("subscribe-%d", i%n),
			})
			errc <- err
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatalf("concurrent subscribe: %v", err)
		}
	}
	for _, id := range ids {
		res, err := client.ListSubscriptions(ctx, &subscriptionv1.ListSubscriptionsRequest{CustomerId: id})
		must(t, err)
		if got := len(res.GetSubscriptions()); got != 1 {
			t.Errorf("customer %s has %d subscriptions, want 1", id, got)
		}
	}
}

// TestHugeIDsAreNotEchoed asks over HTTP for things whose ids are 1 MB long:
// the NotFound message names them by their first 64 bytes only.
func TestHugeIDsAreNotEchoed(t *testing.T) {
	t.Parallel()
	srv := apptest.Serve(t, app.Deps{Redis: &redisx.Redis{Client: redistest.New(t)}}, catalog.Open, subscription.Open)
	huge := strings.Repeat("x", 1<<20)
	for _, tt := range []struct {
		name, method, path, body string
	}{
		{"a customer", http.MethodGet, "/v1/customers/" + huge, ""},
		{"a subscription", http.MethodGet, "/v1/subscriptions/" + huge, ""},
		{"a plan", http.MethodGet, "/v1/plans/" + huge, ""},
		{"a subscription to cancel", http.MethodPost, "/v1/subscriptions/" + huge + ":cancel", `{}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), tt.method, "http://"+srv.HTTPAddr()+tt.path, strings.NewReader(tt.body))
			must(t, err)
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			must(t, err)
			if resp.StatusCode != http.StatusNotFound || len(b) > 1000 || !strings.Contains(string(b), strings.Repeat("x", errs.MaxArg)+"…") {
				t.Errorf("got %d %.300s (%d bytes), want 404 naming the id by its first errs.MaxArg bytes", resp.StatusCode, b, len(b))
			}
		})
	}
}

// TestTimesAtTheEdgeOfTheRange asks for billing periods over HTTP at times
// the service accepts and at times it refuses: never a 500.
func TestTimesAtTheEdgeOfTheRange(t *testing.T) {
	t.Parallel()
	srv := apptest.Serve(t, app.Deps{Redis: &redisx.Redis{Client: redistest.New(t)}}, catalog.Open, subscription.Open)
	c, err := subscriptionv1.NewSubscriptionServiceClient(srv.Conn()).CreateCustomer(t.Context(), &subscriptionv1.CreateCustomerRequest{
		Customer: &subscriptionv1.Customer{Name: "Acme", Currency: "EUR"}})
	must(t, err)
	for _, tt := range []struct {
		name, at string
		want     int
	}{
		{"the first accepted time", "1970-01-01T00:00:00Z", http.StatusOK},
		{"the last accepted day", "8999-12-31T23:00:00Z", http.StatusOK},
		{"the first refused time", "9000-01-01T00:00:00Z", http.StatusBadRequest},
		{"the year 9999", "9999-12-31T23:00:00Z", http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url := "http://" + srv.HTTPAddr() + "/v1/customers/" + c.GetCustomer().GetCustomerId() + "/billingPeriod?at=" + tt.at
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
			must(t, err)
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			must(t, err)
			if resp.StatusCode != tt.want || (tt.want == http.StatusBadRequest && !strings.Contains(string(b), `"at"`)) {
				t.Errorf("got %d %s, want %d (naming the field at when refused)", resp.StatusCode, b, tt.want)
			}
		})
	}
}
