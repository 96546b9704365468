package main_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shopspring/decimal"

	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// TestTwoQuotaProcesses: two binaries on one database and one Redis are
// two quota processes. A storm of Reserves spread over both admits exactly
// what the demo customer has left, and both then answer the same.
func TestTwoQuotaProcesses(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	// Two binaries of four services each share the server's connections.
	env := []string{"DATABASE_URL=" + storagetest.EmptyPostgres(t), "MP_DB_MAX_CONNS=4",
		fmt.Sprintf("REDIS_URL=%s/%d", strings.TrimSuffix(redistest.URL(), "/"), rdb.Options().DB)}
	a := start(t, env, "--demo")
	b := start(t, env)
	code, body := a.http(t, "GET", "/v1/customers?externalId=aegir-client-acme", "")
	customers, _ := body["customers"].([]any)
	if code != 200 || len(customers) != 1 {
		t.Fatalf("GET /v1/customers?externalId=aegir-client-acme = %d %v", code, body)
	}
	acme := customers[0].(map[string]any)["customerId"].(string)
	clients := []quotav1.QuotaServiceClient{quotav1.NewQuotaServiceClient(a.conn), quotav1.NewQuotaServiceClient(b.conn)}

	status := func(c quotav1.QuotaServiceClient) *quotav1.ItemResult {
		t.Helper()
		res, err := c.CheckQuota(t.Context(), &quotav1.CheckQuotaRequest{CustomerId: acme,
			Items: []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetItems()[0]
	}
	before := status(clients[1])
	left := decimal.RequireFromString(before.GetRemaining()).IntPart()
	if before.GetLimit() != "50" || left < 10 {
		t.Fatalf("the demo customer's sites before the storm: %v", before)
	}

	callers := int(2*left + 20)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			res, err := clients[i%2].Reserve(t.Context(), &quotav1.ReserveRequest{CustomerId: acme,
				Items: []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}})
			if err != nil {
				t.Error(err)
				return
			}
			if res.GetAllowed() {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.Fatalf("logs of the two processes:\n%s\n%s", a.Log(), b.Log())
	}
	if got := allowed.Load(); got != left {
		t.Fatalf("%d concurrent Reserves over two processes admitted %d, want %d", callers, got, left)
	}
	for i, c := range clients {
		got := status(c)
		if got.GetAllowed() || got.GetUsed() != before.GetUsed() || got.GetRemaining() != "0" ||
			!decimal.RequireFromString(got.GetReserved()).Equal(decimal.RequireFromString(before.GetReserved()).Add(decimal.NewFromInt(left))) {
			t.Errorf("process %d after the storm: %v (before: %v)", i, got, before)
		}
	}
}
