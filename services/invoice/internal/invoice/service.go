// Package invoice is the invoice service's domain: billing runs that rate
// every ended period into draft invoices, the lifecycle of an invoice
// (draft, finalized, paid, void), credit notes and each customer's credit
// balance. It reads the other services through Sources and keeps its data
// through Store; rating.Rate computes the lines.
package invoice

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/services/invoice/internal/document"
)

// TopicFinalized is the bus topic of finalized invoices, for ERP export;
// the payload is the JSON form of invoicev1.InvoiceFinalized.
const TopicFinalized = "invoice.finalized"

// DefaultGrace is how long after its period ends a draft waits before a
// billing run finalizes it, unless configured.
const DefaultGrace = time.Hour

// Config is how the service bills.
type Config struct {
	// Grace is how long after its period ended a draft is finalized by a
	// billing run.
	Grace time.Duration
	// RequireComplete holds a draft until metering says its period's
	// usage is complete.
	RequireComplete bool
	// Seller is the party printed on documents.
	Seller document.Party
	// EncodeFinalized turns a finalized invoice into the payload of its
	// invoice.finalized event.
	EncodeFinalized func(Invoice) ([]byte, error)
}

// Service is the invoice domain.
type Service struct {
	store    Store
	src      Sources
	clock    clock.Clock
	log      *slog.Logger
	cfg      Config
	invoices metric.Int64Counter
	// runDuration and lastSuccess follow the runs: how long each took,
	// and when the last completed one ended.
	runDuration metric.Float64Histogram
	lastSuccess metric.Float64Gauge
}

// NewService returns the service. meter records how many invoices runs
// create, update, leave unchanged, finalize and fail on.
func NewService(store Store, src Sources, clk clock.Clock, log *slog.Logger, meter metric.Meter, cfg Config) (*Service, error) {
	if cfg.Grace < 0 {
		cfg.Grace = DefaultGrace
	}
	counter, err := meter.Int64Counter("meterplane.invoice.run.invoices",
		metric.WithDescription("Invoices that billing runs created, updated, left unchanged, finalized, or failed on, by outcome."),
		metric.WithUnit("{invoice}"))
	if err != nil {
		return nil, err
	}
	duration, err := meter.Float64Histogram("meterplane.invoice.run.duration",
		metric.WithDescription("How long billing runs took, by status (completed, failed)."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))
	if err != nil {
		return nil, err
	}
	last, err := meter.Float64Gauge("meterplane.invoice.run.last_success",
		metric.WithDescription("When the last completed billing run of this process ended, in seconds since the Unix epoch."),
		metric.WithUnit("s"))
	if err != nil {
		return nil, err
	}
	return &Service{store: store, src: src, clock: clk, log: log, cfg: cfg, invoices: counter,
		runDuration: duration, lastSuccess: last}, nil
}

// recordRun adds a run that took took to the metrics.
func (s *Service) recordRun(ctx context.Context, run Run, took time.Duration) {
	s.record(ctx, run.Counts)
	s.runDuration.Record(ctx, took.Seconds(), metric.WithAttributes(attribute.String("status", string(run.Status))))
	if run.Status == RunCompleted {
		s.lastSuccess.Record(ctx, float64(run.End.UnixMilli())/1000)
	}
}

// record adds a run's counts to the metric.
func (s *Service) record(ctx context.Context, c Counts) {
	for outcome, n := range map[string]int64{"created": c.Created, "updated": c.Updated, "unchanged": c.Unchanged,
		"finalized": c.Finalized, "failed": c.Failures} {
		if n > 0 {
			s.invoices.Add(ctx, n, metric.WithAttributes(attribute.String("outcome", outcome)))
		}
	}
}

// Worker returns a server worker that runs billing every interval until
// its context ends. A failed run is logged; the next one catches up.
func (s *Service) Worker(every time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			if _, err := s.RunBilling(ctx, RunInput{}); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "invoice: scheduled billing run failed", "error", err)
			}
		}
	}
}
