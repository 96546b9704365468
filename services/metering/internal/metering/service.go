package metering

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/page"
)

// Service is the metering service's domain logic.
type Service struct {
	store     Store
	customers Customers
	features  Features
	clock     clock.Clock
	log       *slog.Logger
	// quarantineCount counts the batches the fold moved aside.
	quarantineCount metric.Int64Counter
	// ingested counts ingested events by outcome.
	ingested *ingested

	// meters caches meters: they never change once created.
	meters sync.Map // key → Meter
}

// NewService returns a service on store that checks customers and features
// with the given directories, tells time with clk and logs to log (the
// default logger if nil). Its metrics go to OpenTelemetry's global meter
// provider.
func NewService(store Store, customers Customers, features Features, clk clock.Clock, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	meter := otel.Meter("github.com/meterplane/meterplane/services/metering")
	counter, err := meter.Int64Counter(
		"metering.fold.quarantined_batches",
		metric.WithDescription("Batches of pending rollups the fold could not add and moved to the quarantine."),
		metric.WithUnit("{batch}"))
	if err != nil {
		log.Warn("metering: create the quarantined batches counter", "err", err)
		counter = noop.Int64Counter{}
	}
	in, err := newIngested(meter)
	if err != nil {
		log.Warn("metering: create the ingested events counter", "err", err)
		in, _ = newIngested(noop.Meter{})
	}
	return &Service{store: store, customers: customers, features: features, clock: clk, log: log, quarantineCount: counter, ingested: in}
}

// CreateMeter creates a meter for a catalog feature: TIME_WEIGHTED for a
// gauge feature, a counter aggregation for a counter feature.
func (s *Service) CreateMeter(ctx context.Context, m Meter) (Meter, error) {
	if err := m.Validate(); err != nil {
		return Meter{}, err
	}
	gauge, err := s.features.IsGauge(ctx, m.Feature)
	if errs.Is(err, errs.NotFound) {
		return Meter{}, errs.Field("meter.feature_key", "feature %q does not exist", m.Feature)
	} else if err != nil {
		return Meter{}, err
	}
	if gauge != m.Aggregation.Gauge() {
		if gauge {
			return Meter{}, errs.Field("meter.aggregation", "must be TIME_WEIGHTED: %s is a gauge", m.Feature)
		}
		return Meter{}, errs.Field("meter.aggregation", "must not be TIME_WEIGHTED: %s is a counter", m.Feature)
	}
	m.CreateTime = s.clock.Now()
	if err := s.store.CreateMeter(ctx, m); err != nil {
		return Meter{}, err
	}
	return m, nil
}

// GetMeter returns a meter.
func (s *Service) GetMeter(ctx context.Context, key string) (Meter, error) { return s.meter(ctx, key) }

// meter returns a meter from the cache or the store.
func (s *Service) meter(ctx context.Context, key string) (Meter, error) {
	if m, ok := s.meters.Load(key); ok {
		return m.(Meter), nil
	}
	m, err := s.store.GetMeter(ctx, key)
	if err != nil {
		return Meter{}, err
	}
	s.meters.Store(key, m)
	return m, nil
}

// ListMeters lists meters by key.
func (s *Service) ListMeters(ctx context.Context, pr page.Request) (page.Page[Meter], error) {
	var v errs.Violations
	pr.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[Meter]{}, err
	}
	after, limit := pr.Cursor()
	ms, err := s.store.ListMeters(ctx, after, limit+1)
	if err != nil {
		return page.Page[Meter]{}, err
	}
	return page.New(ms, limit, func(m Meter) string { return m.Key }), nil
}

// checkPeriod checks a period given by a caller.
func checkPeriod(field string, p Period) error {
	switch {
	case p.Start.IsZero() || p.End.IsZero() || !p.Start.Before(p.End):
		return errs.Field(field, "must have a start before its end")
	case p.End.Sub(p.Start) > 10*366*24*time.Hour:
		return errs.Field(field, "must be at most 10 years long")
	}
	return nil
}

// MarkComplete records that a source sent all of a customer's usage of a
// period.
func (s *Service) MarkComplete(ctx context.Context, in MarkCompleteInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.store.MarkComplete(ctx, in.Source, in.CustomerID, in.Period, s.clock.Now())
}

// Completeness tells whether every source that reported usage of the
// customer in p has marked all of p complete. Events without a source are
// not tracked.
func (s *Service) Completeness(ctx context.Context, customerID string, p Period) (Completeness, error) {
	if err := checkPeriod("period", p); err != nil {
		return Completeness{}, err
	}
	reported, marked, err := s.store.Completeness(ctx, customerID, p)
	if err != nil {
		return Completeness{}, err
	}
	c := Completeness{Sources: reported}
	for _, src := range reported {
		if !slices.Contains(marked, src) {
			c.Pending = append(c.Pending, src)
		}
	}
	c.Complete = len(reported) > 0 && len(c.Pending) == 0
	return c, nil
}

// ClosePeriod refuses, from now on, the customer's events before
// in.Before.
func (s *Service) ClosePeriod(ctx context.Context, in ClosePeriodInput) (time.Time, error) {
	if err := in.Validate(); err != nil {
		return time.Time{}, err
	}
	known, err := s.customers.Known(ctx, []string{in.CustomerID})
	if err != nil {
		return time.Time{}, err
	}
	if !known[in.CustomerID] {
		return time.Time{}, errs.New(errs.NotFound, "customer %q not found", in.CustomerID)
	}
	return s.store.ClosePeriod(ctx, in.CustomerID, in.Before.UTC())
}

// BatchClosePeriod is ClosePeriod for several customers at once, all or
// none, in one statement; a customer named twice is closed at the later
// time. It returns each closing's customer's closing time now, in order.
func (s *Service) BatchClosePeriod(ctx context.Context, in ClosePeriodInputs) ([]time.Time, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	before := map[string]time.Time{}
	for _, c := range in {
		if t, ok := before[c.CustomerID]; !ok || c.Before.After(t) {
			before[c.CustomerID] = c.Before.UTC()
		}
	}
	ids := slices.Sorted(maps.Keys(before))
	known, err := s.customers.Known(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i, c := range in {
		if !known[c.CustomerID] {
			return nil, errs.New(errs.NotFound, "closings[%d]: customer %q not found", i, c.CustomerID)
		}
	}
	closed, err := s.store.ClosePeriods(ctx, before)
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, len(in))
	for i, c := range in {
		out[i] = closed[c.CustomerID]
	}
	return out, nil
}
