package quota

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"

	"github.com/meterplane/meterplane/platform/ids"
)

// ResetPeriod says when a counter's use starts again from zero.
type ResetPeriod int

// The reset periods; ResetUnset marks a gauge.
const (
	ResetUnset ResetPeriod = iota
	ResetBillingPeriod
	ResetMonth
	ResetDay
	ResetNever
)

// Period is a half-open interval [Start, End) in UTC; a zero End has no
// end (a counter that never resets).
type Period struct {
	Start, End time.Time
}

// Counter is a counter feature of a customer in one period.
type Counter struct {
	Feature string
	Period  Period
}

// neverStart is the start of the one period of a counter that never
// resets.
var neverStart = time.Unix(0, 0).UTC()

// maxQuery is the longest period metering's QueryUsage answers.
const maxQuery = 10 * 366 * 24 * time.Hour

// CounterPeriod returns the period of a counter with reset r that contains
// at: the UTC day or calendar month, the customer's billing period (which
// the caller asked the subscription service for), or for ResetNever a
// period from the Unix epoch without end.
func CounterPeriod(r ResetPeriod, billing Period, at time.Time) Period {
	at = at.UTC()
	switch r {
	case ResetDay:
		d := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		return Period{Start: d, End: d.AddDate(0, 0, 1)}
	case ResetBillingPeriod:
		if !billing.Start.After(at) && billing.End.After(at) {
			return Period{Start: billing.Start.UTC(), End: billing.End.UTC()}
		}
		// A billing period that does not contain at (the peer's clock
		// disagrees) is replaced by the calendar month, the default
		// billing period.
		fallthrough
	case ResetMonth:
		m := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC)
		return Period{Start: m, End: m.AddDate(0, 1, 0)}
	}
	return Period{Start: neverStart}
}

// queryWindow is the period to ask metering for a counter's use at now:
// the counter's period in whole hours, or for a counter without end the
// longest window metering answers, ending after anything ingested so far
// (events may be up to 5 minutes ahead).
func queryWindow(p Period, now time.Time) Period {
	if p.End.IsZero() {
		end := now.UTC().Truncate(time.Hour).Add(2 * time.Hour)
		return Period{Start: end.Add(-maxQuery), End: end}
	}
	end := p.End.Truncate(time.Hour)
	if end.Before(p.End) {
		end = end.Add(time.Hour)
	}
	return Period{Start: p.Start.Truncate(time.Hour), End: end}
}

// Usage asks metering for a customer's use of a counter feature.
type Usage interface {
	// Used returns the use of the feature in p, in units rounded up (a
	// hard limit is never passed by rounding); 0 when the feature has no
	// meter.
	Used(ctx context.Context, customerID, feature string, p Period) (Units, error)
}

// BillingPeriods asks the subscription service for billing periods.
type BillingPeriods interface {
	// BillingPeriod returns the customer's billing period that contains
	// at.
	BillingPeriod(ctx context.Context, customerID string, at time.Time) (Period, error)
}

// Aggregation is how a meter aggregates usage, as far as quota cares.
type Aggregation int

// The aggregations: Sum and Count are added as they are recorded; Other
// (max, latest, unique count) cannot be added, so the counter is read
// again from metering; Gauge is not a counter.
const (
	AggregationOther Aggregation = iota
	AggregationSum
	AggregationCount
	AggregationGauge
)

// Recorded is a usage.recorded event: usage metering stored for a
// customer's feature in one hour.
type Recorded struct {
	// ID is the event's id, unique per event; a redelivery repeats it.
	ID          string
	CustomerID  string
	Feature     string
	Aggregation Aggregation
	Hour        time.Time
	// Quantity is the sum stored (units, rounded up), Count the number
	// of events.
	Quantity Units
	Count    int64
	// Time is when metering stored the usage (the fold's time).
	Time time.Time
}

// CounterLive is the counters' state in Redis, beside Live.
type CounterLive interface {
	// LoadCounter stores a counter's use for its period, read from
	// metering before now, if Redis does not hold it yet, under a new
	// generation token.
	LoadCounter(ctx context.Context, customerID string, c Counter, used Units, token string, now time.Time) error
	// Record adds amount to the counter of r's feature whose period holds
	// r's hour, once per event id; false if the id was seen, if the
	// counter of that period is not loaded (its load will read metering,
	// which holds the usage already), or if r was stored at or before the
	// load (the use the load read holds it).
	Record(ctx context.Context, customerID string, r Recorded, amount Units, now time.Time) (bool, error)
	// Forget drops the counter of the feature whose period holds hour, so
	// that the next check loads it again.
	Forget(ctx context.Context, customerID, feature string, hour time.Time) error
	// Counters returns the customer's loaded counters of their current
	// period with their use and generation token.
	Counters(ctx context.Context, customerID string) ([]LoadedCounter, error)
	// Correct adds delta to a counter if it still has the generation
	// token; false if it was dropped or loaded again since.
	Correct(ctx context.Context, customerID string, c Counter, token string, delta Units) (bool, error)
	// Active returns the customers whose counters were loaded since.
	Active(ctx context.Context, since time.Time) ([]string, error)
}

// LoadedCounter is a counter as Redis holds it.
type LoadedCounter struct {
	Counter
	Used  Units
	Token string
}

// counters is what counter features need.
type counters struct {
	usage   Usage
	periods BillingPeriods
	live    CounterLive
	drift   metric.Int64Histogram
}

// EnableCounters lets CheckQuota and GetQuotaStatus answer for counter
// features, whose use metering counts (usage), reset per the billing
// periods of the subscription service (periods), kept in Redis by live.
// The drift reconciliation finds is recorded on meter's
// quota.counter.drift histogram.
func (s *Service) EnableCounters(usage Usage, periods BillingPeriods, live CounterLive, meter metric.Meter) {
	drift, err := meter.Int64Histogram("quota.counter.drift",
		metric.WithDescription("What reconciliation added to a counter in Redis to make it equal metering's usage (negative when Redis counted more), in thousandths of the feature's unit."),
		metric.WithUnit("{thousandth}"))
	if err != nil {
		s.log.Warn("quota: create the counter drift histogram", "err", err)
		drift = noop.Int64Histogram{}
	}
	s.counters = &counters{usage: usage, periods: periods, live: live, drift: drift}
}

// withPeriods sets each counter's current period at now in l: the
// billing period (asked of the subscription service once) or the
// calendar period of its reset.
func (s *Service) withPeriods(ctx context.Context, customerID string, l Limits, now time.Time) (Limits, error) {
	var billing *Period
	for f, lim := range l.ByFeature {
		if lim.Reset == ResetUnset || s.counters == nil {
			continue
		}
		if lim.Reset == ResetBillingPeriod && billing == nil {
			p, err := s.counters.periods.BillingPeriod(ctx, customerID, now)
			if err != nil {
				return Limits{}, err
			}
			billing = &p
		}
		var bp Period
		if billing != nil {
			bp = *billing
		}
		lim.Period = CounterPeriod(lim.Reset, bp, now)
		l.ByFeature[f] = lim
	}
	return l, nil
}

// loadCounters reads the counters' use from metering, then stores each in
// Redis unless another call stored it meanwhile. The peer calls come
// first and no lock is held: a load only ever sets a missing counter, so
// two loads of one counter store one of two equally recent answers. The
// load's time, taken after metering answered, tells the usage.recorded
// events its answer holds (stored before it; QueryUsage folds what is
// pending and waits for folds in flight) from those it does not.
func (s *Service) loadCounters(ctx context.Context, customerID string, cs []Counter, now time.Time) error {
	if s.counters == nil {
		return fmt.Errorf("quota: customer %s: Redis holds counters but counters are not enabled", customerID)
	}
	used := make([]Units, len(cs))
	for i, c := range cs {
		u, err := s.counters.usage.Used(ctx, customerID, c.Feature, queryWindow(c.Period, now))
		if err != nil {
			return err
		}
		used[i] = u
	}
	loaded := s.clock.Now()
	for i, c := range cs {
		if err := s.counters.live.LoadCounter(ctx, customerID, c, used[i], ids.New("ctr"), loaded); err != nil {
			return err
		}
	}
	return nil
}

// TopicUsageRecorded is the bus topic on which metering announces the
// usage it stored, keyed by customer id.
const TopicUsageRecorded = "usage.recorded"

// Record applies a usage.recorded event to the customer's counter: a sum
// or a count is added once per event id; any other counter aggregation
// drops the counter, so that the next check reads it again from metering.
// Gauge events and events of customers or periods Redis does not hold are
// ignored (a later load reads metering, which has them).
func (s *Service) Record(ctx context.Context, r Recorded) error {
	if s.counters == nil || r.CustomerID == "" || r.Feature == "" || r.ID == "" {
		return nil
	}
	now := s.clock.Now()
	switch r.Aggregation {
	case AggregationSum:
		_, err := s.counters.live.Record(ctx, r.CustomerID, r, r.Quantity, now)
		return err
	case AggregationCount:
		_, err := s.counters.live.Record(ctx, r.CustomerID, r, Units(min(r.Count, int64(MaxLimit/1000))*1000), now)
		return err
	case AggregationOther:
		return s.counters.live.Forget(ctx, r.CustomerID, r.Feature, r.Hour)
	}
	return nil
}

// Drift is one correction reconciliation made.
type Drift struct {
	CustomerID string
	Counter
	// Delta is metering's use minus what Redis held.
	Delta Units
}

// activeFor is how long after its last load a customer's counters are
// reconciled.
const activeFor = 62 * 24 * time.Hour

// Reconcile compares every loaded counter of the customers active
// recently with metering's use of its period, corrects Redis by the
// difference and records it. Each counter is read from Redis, then
// metering is asked, then the difference is added atomically, only if
// the counter was not loaded again meanwhile: usage recorded between the
// read and the answer stays counted (once more if metering's answer
// already had it, which only errs on the strict side until the next
// round). It returns the corrections made.
func (s *Service) Reconcile(ctx context.Context) ([]Drift, error) {
	if s.counters == nil {
		return nil, nil
	}
	now := s.clock.Now()
	customers, err := s.counters.live.Active(ctx, now.Add(-activeFor))
	if err != nil {
		return nil, err
	}
	var out []Drift
	for _, c := range customers {
		loaded, err := s.counters.live.Counters(ctx, c)
		if err != nil {
			return out, err
		}
		for _, lc := range loaded {
			u, err := s.counters.usage.Used(ctx, c, lc.Feature, queryWindow(lc.Period, now))
			if err != nil {
				return out, err
			}
			delta := u - lc.Used
			if delta == 0 {
				continue
			}
			ok, err := s.counters.live.Correct(ctx, c, lc.Counter, lc.Token, delta)
			if err != nil {
				return out, err
			}
			if !ok {
				continue
			}
			s.counters.drift.Record(ctx, int64(delta), metric.WithAttributes(attribute.String("feature_key", lc.Feature)))
			s.log.WarnContext(ctx, "quota: corrected a counter's drift from metering", "customer_id", c,
				"feature_key", lc.Feature, "period_start", lc.Period.Start, "redis", lc.Used.String(), "metering", u.String())
			out = append(out, Drift{CustomerID: c, Counter: lc.Counter, Delta: delta})
		}
	}
	return out, nil
}

// ReconcileWorker reconciles counters every interval until ctx ends.
func (s *Service) ReconcileWorker(interval time.Duration) func(ctx context.Context) error {
	return s.every("reconcile counters", interval, func(ctx context.Context) error {
		_, err := s.Reconcile(ctx)
		return err
	})
}
