package grpcapi

import (
	"context"
	"fmt"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// The operations whose decisions are counted.
const (
	opCheck   = 0
	opReserve = 1
)

// decisions counts admission decisions, one per item, by operation
// ("check", "reserve") and reason ("ok", "over_limit", "overage",
// "no_plan", "not_entitled"). CheckQuota is the hottest call: each
// operation and reason's attribute set is built once, so counting costs
// an item no allocation.
type decisions struct {
	counter metric.Int64Counter
	opts    [2][quota.ReasonNotEntitled + 1][]metric.AddOption
}

func newDecisions(meter metric.Meter) (*decisions, error) {
	c, err := meter.Int64Counter("meterplane.quota.decisions",
		metric.WithDescription("Admission decisions of CheckQuota and Reserve, one per item, by operation and reason."),
		metric.WithUnit("{decision}"))
	if err != nil {
		return nil, fmt.Errorf("quota decisions counter: %w", err)
	}
	d := &decisions{counter: c}
	for op, name := range []string{"check", "reserve"} {
		for r := range d.opts[op] {
			reason := strings.ToLower(strings.TrimPrefix(quotav1.Reason_name[int32(reasonsOut[quota.Reason(r)])], "REASON_"))
			set := attribute.NewSet(attribute.String("operation", name), attribute.String("reason", reason))
			d.opts[op][r] = []metric.AddOption{metric.WithAttributeSet(set)}
		}
	}
	return d, nil
}

// add counts the decision on each item of res.
func (d *decisions) add(ctx context.Context, op int, res quota.Result) {
	for _, it := range res.Items {
		r := it.Reason
		if r < 0 || int(r) >= len(d.opts[op]) {
			r = quota.ReasonUnset
		}
		d.counter.Add(ctx, 1, d.opts[op][r]...)
	}
}
