package metering

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// reasonNames names the rejection reasons in metrics.
var reasonNames = [...]string{Invalid: "invalid", UnknownMeter: "unknown_meter", UnknownCustomer: "unknown_customer",
	NegativeQuantity: "negative_quantity", InvalidQuantity: "invalid_quantity", FutureTime: "future_time",
	LatePeriodClosed: "late_period_closed", PropertiesTooLarge: "properties_too_large", KeyConflict: "key_conflict",
	SourceNotAllowed: "source_not_allowed"}

// ingested counts ingested events by outcome ("accepted", "duplicate",
// "rejected") and, for rejected ones, reason (otherwise ""). The attribute
// sets are built once: ingestion counts every event.
type ingested struct {
	counter             metric.Int64Counter
	accepted, duplicate []metric.AddOption
	rejected            [len(reasonNames)][]metric.AddOption
}

func newIngested(meter metric.Meter) (*ingested, error) {
	c, err := meter.Int64Counter("meterplane.metering.events",
		metric.WithDescription("Usage events ingested, by outcome (accepted, duplicate, rejected) and the reason of a rejection."),
		metric.WithUnit("{event}"))
	if err != nil {
		return nil, err
	}
	opt := func(outcome, reason string) []metric.AddOption {
		return []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
			attribute.String("outcome", outcome), attribute.String("reason", reason)))}
	}
	in := &ingested{counter: c, accepted: opt("accepted", ""), duplicate: opt("duplicate", "")}
	for r, name := range reasonNames {
		if name == "" {
			name = "invalid"
		}
		in.rejected[r] = opt("rejected", name)
	}
	return in, nil
}

// add counts the outcomes of a batch.
func (in *ingested) add(ctx context.Context, results []Result) {
	var accepted, duplicate int64
	for _, r := range results {
		switch r.Status {
		case Accepted:
			accepted++
		case Duplicate:
			duplicate++
		default:
			reason := r.Reason
			if reason < 0 || int(reason) >= len(in.rejected) {
				reason = Invalid
			}
			in.counter.Add(ctx, 1, in.rejected[reason]...)
		}
	}
	if accepted > 0 {
		in.counter.Add(ctx, accepted, in.accepted...)
	}
	if duplicate > 0 {
		in.counter.Add(ctx, duplicate, in.duplicate...)
	}
}
