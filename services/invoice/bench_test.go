package invoice_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/invoice"
	"github.com/meterplane/meterplane/services/metering"
	"github.com/meterplane/meterplane/services/subscription"
)

// benchOctober is the month the benchmark bills.
var benchOctober = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

// benchSuite is the four services on one PostgreSQL database (a schema
// each), seeded with n customers that each have three subscriptions (the
// demo catalog's single-site, 50-sites and pay-as-you-go plans) and used
// two metered features in October: bandwidth (a counter) and sites (a
// gauge).
type benchSuite struct {
	srv     *server.Server
	clock   *clock.Fake
	invoice invoicev1.InvoiceServiceClient
	ids     []string
}

func newBenchSuite(b *testing.B, n int) *benchSuite {
	b.Helper()
	ctx := b.Context()
	clk := clock.NewFake(benchOctober)
	cfg := config.Config{DatabaseURL: storagetest.EmptyPostgres(b), InvoiceGrace: time.Hour, InvoiceRunInterval: 24 * time.Hour}
	srv := apptest.Serve(b, app.Deps{Config: cfg, Clock: clk, Redis: &redisx.Redis{Client: redistest.New(b)}},
		catalog.Open, subscription.Open, metering.Open, invoice.Open)
	conn := srv.Conn()
	if err := catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(conn)); err != nil {
		b.Fatal(err)
	}
	subs := subscriptionv1.NewSubscriptionServiceClient(conn)
	met := meteringv1.NewMeteringServiceClient(conn)
	for _, m := range []*meteringv1.Meter{
		{Key: "bandwidth", FeatureKey: "bandwidth_gib", Aggregation: meteringv1.Aggregation_AGGREGATION_SUM},
		{Key: "sites", FeatureKey: "sites", Aggregation: meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED},
	} {
		if _, err := met.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: m, IdempotencyKey: "bench-" + m.GetKey()}); err != nil {
			b.Fatal(err)
		}
	}
	// One customer through the API; the others are SQL copies of it.
	cus, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{IdempotencyKey: "bench-customer",
		Customer: &subscriptionv1.Customer{ExternalId: "bench-0", Name: "Bench customer", Currency: "EUR"}})
	if err != nil {
		b.Fatal(err)
	}
	template := cus.GetCustomer().GetCustomerId()
	for _, plan := range []string{"hosting_single", "hosting_50", "hosting_payg"} {
		_, err := subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: template, PlanId: plan, Quantity: 1,
			StartTime: timestamppb.New(benchOctober), IdempotencyKey: "bench-" + plan})
		if err != nil {
			b.Fatal(err)
		}
	}
	db := srv.Services()[1].DB.OutsideTx(ctx)
	clone := func(table, set string) {
		sql := fmt.Sprintf(`INSERT INTO %[1]s SELECT (jsonb_populate_record(NULL::%[1]s, to_jsonb(x) || %[2]s)).*
			FROM %[1]s x, generate_series(1, %[3]d) i WHERE x.customer_id = '%[4]s'`, table, set, n-1, template)
		if table == "customers" {
			sql = fmt.Sprintf(`INSERT INTO customers SELECT (jsonb_populate_record(NULL::customers, to_jsonb(x) || %s)).*
				FROM customers x, generate_series(1, %d) i WHERE x.id = '%s'`, set, n-1, template)
		}
		if table == "changes" {
			sql = fmt.Sprintf(`INSERT INTO changes SELECT (jsonb_populate_record(NULL::changes, to_jsonb(x) || %s)).*
				FROM changes x JOIN subscriptions s ON s.id = x.subscription_id, generate_series(1, %d) i WHERE s.customer_id = '%s'`, set, n-1, template)
		}
		if err := db.Exec(sql).Error; err != nil {
			b.Fatalf("clone %s: %v", table, err)
		}
	}
	suffix := `'-' || lpad(i::text, 6, '0')`
	clone("customers", `jsonb_build_object('id', x.id || `+suffix+`, 'external_id', 'bench-' || i)`)
	clone("subscriptions", `jsonb_build_object('id', x.id || `+suffix+`, 'customer_id', x.customer_id || `+suffix+`)`)
	clone("changes", `jsonb_build_object('id', x.id || `+suffix+`, 'subscription_id', x.subscription_id || `+suffix+`)`)
	clone("segments", `jsonb_build_object('id', x.id || `+suffix+`, 'subscription_id', x.subscription_id || `+suffix+`, 'customer_id', x.customer_id || `+suffix+`)`)
	// As autovacuum would have, long before a real month's end.
	if err := db.Exec("ANALYZE").Error; err != nil {
		b.Fatal(err)
	}
	ids := []string{template}
	for i := 1; i < n; i++ {
		ids = append(ids, fmt.Sprintf("%s-%06d", template, i))
	}
	// October's usage: 600 GiB of bandwidth in two events, and 2 sites
	// from the 1st, 4 from the 16th (3 site-months).
	var events []*meteringv1.UsageEvent
	flush := func() {
		if len(events) == 0 {
			return
		}
		if _, err := met.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: events}); err != nil {
			b.Fatal(err)
		}
		events = events[:0]
	}
	for i, id := range ids {
		at := func(day int) *timestamppb.Timestamp { return timestamppb.New(benchOctober.AddDate(0, 0, day-1)) }
		key := func(what string) string { return fmt.Sprintf("bench-%d-%s", i, what) }
		events = append(events,
			&meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth", Quantity: "250", Time: at(3), IdempotencyKey: key("bw1")},
			&meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth", Quantity: "350", Time: at(20), IdempotencyKey: key("bw2")},
			&meteringv1.UsageEvent{CustomerId: id, MeterKey: "sites", Quantity: "2", Time: at(1), IdempotencyKey: key("s1")},
			&meteringv1.UsageEvent{CustomerId: id, MeterKey: "sites", Quantity: "4", Time: at(16), IdempotencyKey: key("s2")},
		)
		if len(events) >= 2000 {
			flush()
		}
	}
	flush()
	return &benchSuite{srv: srv, clock: clk, invoice: invoicev1.NewInvoiceServiceClient(conn), ids: ids}
}

// peakHeap samples the Go heap in use until stop is closed and returns
// the largest value seen, in MiB.
func peakHeap(stop <-chan struct{}) <-chan float64 {
	out := make(chan float64, 1)
	go func() {
		var peak atomic.Uint64
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				out <- float64(peak.Load()) / (1 << 20)
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkRunBilling bills October for 2,000 and 10,000 customers (each
// with three subscriptions and two metered features) in PostgreSQL with
// one RunBilling call, then finalizes the drafts with a second run after
// the grace period, and reports invoices per second of each and the peak
// heap of the process (all four services), which must not grow with the
// number of customers. Run it with: make bench-invoice
func BenchmarkRunBilling(b *testing.B) {
	for _, n := range []int{2_000, 10_000} {
		b.Run(fmt.Sprintf("customers=%d", n), func(b *testing.B) {
			s := newBenchSuite(b, n)
			ctx := b.Context()
			november := benchOctober.AddDate(0, 1, 0)
			for b.Loop() {
				runtime.GC()
				stop := make(chan struct{})
				peak := peakHeap(stop)
				s.clock.Set(november.Add(time.Minute)) // inside the grace period: drafts
				start := time.Now()
				res, err := s.invoice.RunBilling(ctx, &invoicev1.RunBillingRequest{AsOf: timestamppb.New(november), IdempotencyKey: "bench-draft"})
				draft := time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if got := res.GetBillingRun().GetInvoicesCreated(); got != int64(n) {
					b.Fatalf("drafts: %d invoices created for %d customers: %v", got, n, res.GetBillingRun())
				}
				s.clock.Set(november.Add(2 * time.Hour)) // after it: finalized
				start = time.Now()
				res, err = s.invoice.RunBilling(ctx, &invoicev1.RunBillingRequest{AsOf: timestamppb.New(november.Add(2 * time.Hour)), IdempotencyKey: "bench-final"})
				final := time.Since(start)
				close(stop)
				if err != nil {
					b.Fatal(err)
				}
				if got := res.GetBillingRun().GetInvoicesFinalized(); got != int64(n) {
					b.Fatalf("finalize: %d invoices finalized for %d customers: %v", got, n, res.GetBillingRun())
				}
				// A run with nothing left to do still reads every period.
				start = time.Now()
				if _, err := s.invoice.RunBilling(ctx, &invoicev1.RunBillingRequest{AsOf: timestamppb.New(november.Add(2 * time.Hour)), IdempotencyKey: "bench-again"}); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "idle-run-s")
				b.ReportMetric(float64(n)/draft.Seconds(), "drafts/s")
				b.ReportMetric(float64(n)/final.Seconds(), "finalized/s")
				b.ReportMetric(<-peak, "peak-heap-MiB")
			}
		})
	}
}

// BenchmarkPreviewInvoice asks for the upcoming invoice of random
// customers among 10,000 and reports latency percentiles. Run it with:
// make bench-invoice
func BenchmarkPreviewInvoice(b *testing.B) {
	s := newBenchSuite(b, 10_000)
	s.clock.Set(benchOctober.AddDate(0, 0, 20))
	ctx := b.Context()
	rng := rand.New(rand.NewPCG(1, 2))
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		id := s.ids[rng.IntN(len(s.ids))]
		start := time.Now()
		res, err := s.invoice.PreviewInvoice(ctx, &invoicev1.PreviewInvoiceRequest{CustomerId: id})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(res.GetInvoices()) == 0 {
			b.Fatalf("%s: no invoice previewed", id)
		}
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
	b.ReportMetric(pct(1), "max-µs")
}
