package invoice_test

import (
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/store"
	"github.com/meterplane/meterplane/services/invoice/migrations"
)

// TestRunMetric: a run adds what it did to the invoices counter, by
// outcome.
func TestRunMetric(t *testing.T) {
	t.Parallel()
	db := storagetest.SQLite(t, "invoice", migrations.FS)
	reader := sdkmetric.NewManualReader()
	src := newFake()
	svc, err := invoice.NewService(store.New(db), src, clock.NewFake(day("2026-03-15")), slog.New(slog.DiscardHandler),
		sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"), keepDrafts)
	if err != nil {
		t.Fatal(err)
	}
	src.subscribe("acme", "sub_a", hosting, day("2026-01-01"), false)
	must(svc.RunBilling(t.Context(), invoice.RunInput{}))
	must(svc.RunBilling(t.Context(), invoice.RunInput{}))
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "meterplane.invoice.run.invoices" {
				continue
			}
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				outcome, _ := p.Attributes.Value(attribute.Key("outcome"))
				got[outcome.AsString()] = p.Value
			}
		}
	}
	if got["created"] != 2 || got["unchanged"] != 2 || len(got) != 2 {
		t.Fatalf("counter by outcome: %v, want created 2 and unchanged 2", got)
	}
}
