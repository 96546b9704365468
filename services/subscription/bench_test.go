package subscription_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/subscription"
)

// benchCustomers is how many customers the entitlements benchmark stores.
const benchCustomers = 100_000

// BenchmarkGetEntitlements calls GetEntitlements over gRPC for random
// customers among 100,000 in PostgreSQL, each with two subscriptions (one
// of them changed once, so three segments), and reports latency
// percentiles. Run it with: make bench-subscription
func BenchmarkGetEntitlements(b *testing.B) {
	ctx := b.Context()
	url := storagetest.EmptyPostgres(b)
	srv := apptest.Serve(b, app.Deps{Config: config.Config{DatabaseURL: url}, Redis: &redisx.Redis{Client: redistest.New(b)}}, subscription.Open)
	seedCustomers(b, srv.Services()[0].DB, benchCustomers)
	client := subscriptionv1.NewSubscriptionServiceClient(srv.Conn())
	rng := rand.New(rand.NewPCG(1, 2))

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		id := fmt.Sprintf("cus_%08d", rng.IntN(benchCustomers))
		start := time.Now()
		res, err := client.GetEntitlements(ctx, &subscriptionv1.GetEntitlementsRequest{CustomerId: id})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if res.GetActiveSubscriptions() != 2 || len(res.GetEntitlements()) != 2 {
			b.Fatalf("%s: %v", id, res)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(1), "max-µs")
}

// seedCustomers stores n customers "cus_00000000"… directly in SQL, each
// with a "sites" plan (changed from quantity 1 to 2 a month ago) and a
// "bandwidth" plan.
func seedCustomers(b *testing.B, db *storage.DB, n int) {
	b.Helper()
	const planVersions = `INSERT INTO plan_versions (plan_id, version, content) VALUES
	('plan_sites', 1, '{"plan_id":"plan_sites","plan_key":"sites","version":1,"currency":"EUR","interval":{"Unit":3,"Count":1},"recurring":"10","min_quantity":1,"grants":[{"feature":"sites","included":"50","policy":1}]}'),
	('plan_bw', 1, '{"plan_id":"plan_bw","plan_key":"bw","version":1,"currency":"EUR","interval":{"Unit":3,"Count":1},"recurring":"5","min_quantity":1,"grants":[{"feature":"bandwidth_gib","included":"500","policy":2,"overage":"0.1","reset":1},{"feature":"sites","included":"5","policy":1}]}')`
	stmts := []string{planVersions,
		fmt.Sprintf(`INSERT INTO customers (id, name, email, currency, anchor_kind, create_time, update_time)
			SELECT 'cus_' || lpad(i::text, 8, '0'), 'Customer ' || i, '', 'EUR', 'calendar', now(), now() FROM generate_series(0, %d) i`, n-1),
		fmt.Sprintf(`INSERT INTO subscriptions (id, customer_id, bill_separately, create_time)
			SELECT 'sub_' || p || lpad(i::text, 8, '0'), 'cus_' || lpad(i::text, 8, '0'), false, now()
			FROM generate_series(0, %d) i, (VALUES ('a'), ('b')) v(p)`, n-1),
		fmt.Sprintf(`INSERT INTO changes (id, subscription_id, seq, kind, plan_id, plan_key, version, quantity, effective_time, backdate_reason, create_time)
			SELECT 'chg_' || p || lpad(i::text, 8, '0'), 'sub_' || p || lpad(i::text, 8, '0'), 1, 'subscribe',
			       CASE p WHEN 'a' THEN 'plan_sites' ELSE 'plan_bw' END, CASE p WHEN 'a' THEN 'sites' ELSE 'bw' END, 1, 1,
			       now() - interval '60 days', 'seed', now()
			FROM generate_series(0, %d) i, (VALUES ('a'), ('b')) v(p)`, n-1),
		fmt.Sprintf(`INSERT INTO segments (id, subscription_id, customer_id, plan_id, plan_key, version, quantity, start_time, end_time, trial, create_time)
			SELECT 'seg_' || p || lpad(i::text, 8, '0'), 'sub_' || p || lpad(i::text, 8, '0'), 'cus_' || lpad(i::text, 8, '0'),
			       CASE p WHEN 'a' THEN 'plan_sites' ELSE 'plan_bw' END, CASE p WHEN 'a' THEN 'sites' ELSE 'bw' END, 1, 1,
			       now() - interval '60 days', CASE p WHEN 'a' THEN now() - interval '30 days' END, false, now()
			FROM generate_series(0, %d) i, (VALUES ('a'), ('b')) v(p)`, n-1),
		fmt.Sprintf(`INSERT INTO segments (id, subscription_id, customer_id, plan_id, plan_key, version, quantity, start_time, trial, create_time)
			SELECT 'seg_c' || lpad(i::text, 8, '0'), 'sub_a' || lpad(i::text, 8, '0'), 'cus_' || lpad(i::text, 8, '0'),
			       'plan_sites', 'sites', 1, 2, now() - interval '30 days', false, now()
			FROM generate_series(0, %d) i`, n-1),
		`ANALYZE`,
	}
	for _, s := range stmts {
		if err := db.Conn(b.Context()).Exec(s).Error; err != nil {
			b.Fatal(err)
		}
	}
}
