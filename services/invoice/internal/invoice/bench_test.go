package invoice_test

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
	"github.com/meterplane/meterplane/services/invoice/internal/store"
	"github.com/meterplane/meterplane/services/invoice/migrations"
)

// sitesPlan prices a gauge: 2 sites included, 1.50 per site-month above.
var sitesPlan = &rating.Plan{Key: "sites", Version: 1, Interval: rating.Interval{Unit: rating.Month, Count: 1},
	Fees:         []rating.RecurringFee{{Description: "Sites", Amount: dec("5.00"), Timing: rating.InArrears, Prorated: true}},
	Entitlements: []rating.Entitlement{{Feature: "sites", Included: dec("2"), HasOverage: true, Overage: dec("1.50")}}}

// BenchmarkRunBilling: one billing run over customers (BENCH_CUSTOMERS,
// default 1,000) on PostgreSQL, each with 3 subscriptions and a counter
// and a gauge used in February, with fake sources (the peers' reads are
// measured by the peers package): the domain and store side of a run,
// which creates one draft per customer. Reports invoices/s.
func BenchmarkRunBilling(b *testing.B) {
	n := 1000
	if s := os.Getenv("BENCH_CUSTOMERS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for b.Loop() {
		b.StopTimer()
		db := storagetest.Postgres(b, "invoice", migrations.FS)
		src := newFake()
		src.pageSize = 500
		for i := range n {
			c := fmt.Sprintf("cus_%06d", i)
			src.subscribe(c, c+"_a", hosting, day("2026-02-01"), false)
			src.subscribe(c, c+"_b", hosting, day("2026-02-01"), false)
			src.subscribe(c, c+"_c", sitesPlan, day("2026-02-01"), false)
			src.use(c, day("2026-02-10"), "bandwidth", strconv.Itoa(250+i%100))
			src.gauge(c, day("2026-02-10"), "sites", "3.5")
		}
		svc, err := invoice.NewService(store.New(db), src, clock.NewFake(day("2026-03-15")), slog.New(slog.DiscardHandler),
			noop.NewMeterProvider().Meter("bench"), keepDrafts)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		run, err := svc.RunBilling(b.Context(), invoice.RunInput{})
		took := time.Since(start)
		if err != nil || run.Created != int64(n) || run.Failures != 0 {
			b.Fatalf("run: %+v %v", run, err)
		}
		b.ReportMetric(float64(run.Created)/took.Seconds(), "invoices/s")
	}
}
