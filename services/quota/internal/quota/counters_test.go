package quota_test

import (
	"context"
	"sync"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// fakeUsage answers the use set by the test per feature and period start,
// and counts the questions.
type fakeUsage struct {
	mu    sync.Mutex
	used  map[string]quota.Units // feature@start (RFC 3339) → use
	calls int
}

func (f *fakeUsage) Used(_ context.Context, _, feature string, p quota.Period) (quota.Units, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.used[feature+"@"+p.Start.Format(time.RFC3339)], nil
}

func (f *fakeUsage) set(feature string, start time.Time, u quota.Units) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used[feature+"@"+start.Format(time.RFC3339)] = u
}

func (f *fakeUsage) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fakePeriods gives every customer billing periods from the 10th of a
// month to the 10th of the next.
type fakePeriods struct{}

func (fakePeriods) BillingPeriod(_ context.Context, _ string, at time.Time) (quota.Period, error) {
	s := time.Date(at.Year(), at.Month(), 10, 0, 0, 0, 0, time.UTC)
	if at.Before(s) {
		s = s.AddDate(0, -1, 0)
	}
	return quota.Period{Start: s, End: s.AddDate(0, 1, 0)}, nil
}

var (
	may  = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	june = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

// counterEnv enables counters on e with a fake metering and returns it
// with the reader of the service's metrics.
func counterEnv(e *env) (*fakeUsage, *sdkmetric.ManualReader) {
	usage := &fakeUsage{used: map[string]quota.Units{}}
	reader := sdkmetric.NewManualReader()
	e.svc.EnableCounters(usage, fakePeriods{}, e.live, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"))
	return usage, reader
}

// bandwidth is a plan of 100 GiB of bandwidth under policy, reset as
// reset, and 3 sites.
func bandwidth(policy quota.Policy, reset quota.ResetPeriod) quota.Limits {
	l := sites(quota.PolicyHard, 3)
	l.ByFeature["bandwidth_gib"] = quota.Limit{Policy: policy, Limit: 100_000, Reset: reset}
	return l
}

func (e *env) checkBandwidth(t *testing.T, q string) quota.ItemResult {
	t.Helper()
	res, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("bandwidth_gib", q)})
	must(t, err)
	return res.Items[0]
}

// sum is a usage.recorded of a SUM meter, stored by metering now.
func (e *env) sum(id string, hour time.Time, q quota.Units) quota.Recorded {
	return quota.Recorded{ID: id, CustomerID: "cus_a", Feature: "bandwidth_gib", Aggregation: quota.AggregationSum, Hour: hour, Quantity: q, Time: e.clk.Now()}
}

// TestCounterRecordedOnce: a counter starts from metering's use, adds
// each usage.recorded once however often it is delivered, ignores other
// periods, reads metering again for aggregations it cannot add, and a
// HARD limit denies what would pass it.
func TestCounterRecordedOnce(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		usage, _ := counterEnv(e)
		e.ents.set("cus_a", bandwidth(quota.PolicyHard, quota.ResetMonth))
		usage.set("bandwidth_gib", may, 30_000)

		got := e.checkBandwidth(t, "1")
		if !got.Allowed || got.Used != 30_000 || !got.Counter || got.Period != (quota.Period{Start: may, End: june}) {
			t.Fatalf("first check: %+v", got)
		}
		ctx := t.Context()
		hour := start.Truncate(time.Hour)
		// Usage stored when the counter was loaded is in what the load
		// read.
		must(t, e.svc.Record(ctx, e.sum("evt_0", hour, 30_000)))
		e.clk.Advance(time.Second)
		for range 3 {
			must(t, e.svc.Record(ctx, e.sum("evt_1", hour, 5_000)))
		}
		// April's usage is not May's.
		must(t, e.svc.Record(ctx, e.sum("evt_2", may.Add(-time.Hour), 7_000)))
		must(t, e.svc.Record(ctx, quota.Recorded{ID: "evt_3", CustomerID: "cus_a", Feature: "bandwidth_gib",
			Aggregation: quota.AggregationCount, Hour: hour, Count: 2, Time: e.clk.Now()}))
		must(t, e.svc.Record(ctx, quota.Recorded{ID: "evt_3", CustomerID: "cus_a", Feature: "bandwidth_gib",
			Aggregation: quota.AggregationCount, Hour: hour, Count: 2, Time: e.clk.Now()}))
		if got := e.checkBandwidth(t, "1"); got.Used != 37_000 {
			t.Errorf("after the events: used %s, want 37", got.Used)
		}
		if got := e.checkBandwidth(t, "63"); !got.Allowed || got.Reason != quota.ReasonOK {
			t.Errorf("up to the limit: %+v", got)
		}
		if got := e.checkBandwidth(t, "63.001"); got.Allowed || got.Reason != quota.ReasonOverLimit || got.Limit != 100_000 {
			t.Errorf("over the hard limit: %+v", got)
		}

		// A maximum cannot be added: the counter is read again.
		usage.set("bandwidth_gib", may, 99_000)
		calls := usage.count()
		must(t, e.svc.Record(ctx, quota.Recorded{ID: "evt_4", CustomerID: "cus_a", Feature: "bandwidth_gib",
			Aggregation: quota.AggregationOther, Hour: hour, Time: e.clk.Now()}))
		if got := e.checkBandwidth(t, "2"); got.Used != 99_000 || got.Allowed || usage.count() != calls+1 {
			t.Errorf("after a max event: %+v, %d questions", got, usage.count()-calls)
		}

		// A soft limit allows and reports the overage.
		e.ents.set("cus_a", bandwidth(quota.PolicySoft, quota.ResetMonth))
		e.clk.Advance(2 * quota.Freshness)
		if got := e.checkBandwidth(t, "2"); !got.Allowed || got.Reason != quota.ReasonOverage {
			t.Errorf("soft: %+v", got)
		}

		// A counter cannot be reserved.
		_, _, err := e.svc.Reserve(ctx, quota.ReserveInput{CustomerID: "cus_a", Items: one("bandwidth_gib", "1")})
		if v, ok := err.(*errs.Error); !ok || v.Kind != errs.Invalid || len(v.Violations) == 0 || v.Violations[0].Field != "items[0].feature_key" {
			t.Errorf("reserve a counter: %v", err)
		}
	})
}

// TestCounterReset: a counter starts again from zero at its period's
// boundary, by the injected clock, for a calendar month and a billing
// period; a counter that never resets keeps counting.
func TestCounterReset(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		usage, _ := counterEnv(e)
		e.ents.set("cus_a", bandwidth(quota.PolicyHard, quota.ResetMonth))
		usage.set("bandwidth_gib", may, 80_000)
		if got := e.checkBandwidth(t, "1"); got.Used != 80_000 {
			t.Fatalf("in May: %+v", got)
		}
		e.clk.Set(june.Add(-time.Millisecond))
		must(t, e.svc.Record(t.Context(), e.sum("evt_1", june.Add(-time.Hour), 1_000)))
		if got := e.checkBandwidth(t, "1"); got.Used != 81_000 || got.Period.End != june {
			t.Errorf("the last instant of May: %+v", got)
		}
		e.clk.Set(june)
		// June's first usage arrives before anyone asked for June.
		must(t, e.svc.Record(t.Context(), e.sum("evt_2", june, 4_000)))
		usage.set("bandwidth_gib", june, 4_000)
		if got := e.checkBandwidth(t, "1"); got.Used != 4_000 || got.Period != (quota.Period{Start: june, End: june.AddDate(0, 1, 0)}) {
			t.Errorf("in June: %+v", got)
		}

		// Billing periods from the 10th: May 10 to June 10.
		e.ents.set("cus_b", quota.Limits{HasPlan: true, ByFeature: map[string]quota.Limit{
			"bandwidth_gib": {Policy: quota.PolicyHard, Limit: 100_000, Reset: quota.ResetBillingPeriod}}})
		check := func() quota.ItemResult {
			res, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_b", Items: one("bandwidth_gib", "1")})
			must(t, err)
			return res.Items[0]
		}
		tenth := time.Date(2026, 6, 10, 0, 0, 0, 0, time.UTC)
		usage.set("bandwidth_gib", tenth.AddDate(0, -1, 0), 60_000)
		if got := check(); got.Used != 60_000 || got.Period != (quota.Period{Start: tenth.AddDate(0, -1, 0), End: tenth}) {
			t.Errorf("billing period: %+v", got)
		}
		e.clk.Set(tenth)
		if got := check(); got.Used != 0 || got.Period.Start != tenth {
			t.Errorf("next billing period: %+v", got)
		}

		// Never: one period from the epoch, without end.
		e.ents.set("cus_c", quota.Limits{HasPlan: true, ByFeature: map[string]quota.Limit{
			"bandwidth_gib": {Policy: quota.PolicyHard, Limit: 100_000, Reset: quota.ResetNever}}})
		res, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_c", Items: one("bandwidth_gib", "1")})
		must(t, err)
		if got := res.Items[0]; !got.Counter || !got.Period.End.IsZero() || !got.Period.Start.Equal(time.Unix(0, 0)) {
			t.Errorf("never: %+v", got)
		}
	})
}

// TestCounterReconcile: reconciliation finds a counter that drifted from
// metering, corrects it, and records the drift; a flushed counter is
// loaded again from metering.
func TestCounterReconcile(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		usage, reader := counterEnv(e)
		ctx := t.Context()
		e.ents.set("cus_a", bandwidth(quota.PolicyHard, quota.ResetMonth))
		usage.set("bandwidth_gib", may, 30_000)
		e.checkBandwidth(t, "1")
		drifts, err := e.svc.Reconcile(ctx)
		must(t, err)
		if len(drifts) != 0 {
			t.Errorf("no drift yet: %+v", drifts)
		}

		// Metering counted 12 more than Redis heard of (a lost event).
		usage.set("bandwidth_gib", may, 42_000)
		drifts, err = e.svc.Reconcile(ctx)
		must(t, err)
		if len(drifts) != 1 || drifts[0].Delta != 12_000 || drifts[0].CustomerID != "cus_a" || drifts[0].Period.Start != may {
			t.Errorf("drifts: %+v", drifts)
		}
		if got := e.checkBandwidth(t, "1"); got.Used != 42_000 {
			t.Errorf("after reconciliation: %+v", got)
		}
		var rm metricdata.ResourceMetrics
		must(t, reader.Collect(ctx, &rm))
		var total int64
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if h, ok := m.Data.(metricdata.Histogram[int64]); ok && m.Name == "quota.counter.drift" {
					for _, p := range h.DataPoints {
						total += p.Sum
					}
				}
			}
		}
		if total != 12_000 {
			t.Errorf("drift metric sums %d, want 12000", total)
		}

		// Redis loses everything: the counter comes back from metering.
		must(t, e.flush(ctx))
		usage.set("bandwidth_gib", may, 43_000)
		if got := e.checkBandwidth(t, "1"); got.Used != 43_000 {
			t.Errorf("after a flush: %+v", got)
		}
	})
}
