package peers

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/platform/peer"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// resets maps the catalog's reset periods to the domain's; unset (a
// gauge) stays unset.
var resets = map[catalogv1.ResetPeriod]quota.ResetPeriod{
	catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD: quota.ResetBillingPeriod,
	catalogv1.ResetPeriod_RESET_PERIOD_MONTH:          quota.ResetMonth,
	catalogv1.ResetPeriod_RESET_PERIOD_DAY:            quota.ResetDay,
	catalogv1.ResetPeriod_RESET_PERIOD_NEVER:          quota.ResetNever,
}

var _ quota.BillingPeriods = (*Entitlements)(nil)

// BillingPeriod implements quota.BillingPeriods.
func (e *Entitlements) BillingPeriod(ctx context.Context, customerID string, at time.Time) (quota.Period, error) {
	res, err := e.client.GetBillingPeriod(ctx, &subscriptionv1.GetBillingPeriodRequest{CustomerId: customerID, At: pbtime.New(at)})
	if err != nil {
		return quota.Period{}, peer.Failed("subscription", "GetBillingPeriod", err)
	}
	return quota.Period{Start: pbtime.Time(res.GetPeriod().GetStart()), End: pbtime.Time(res.GetPeriod().GetEnd())}, nil
}

// Usage asks the metering service for counters' use.
type Usage struct {
	client meteringv1.MeteringServiceClient
}

var _ quota.Usage = (*Usage)(nil)

// NewUsage returns Usage calling the metering service on conn.
func NewUsage(conn grpc.ClientConnInterface) *Usage {
	return &Usage{client: meteringv1.NewMeteringServiceClient(conn)}
}

// Used implements quota.Usage. A feature without a meter has no use
// (metering answers NotFound for the meter; the customer is known, its
// entitlements were just asked).
func (u *Usage) Used(ctx context.Context, customerID, feature string, p quota.Period) (quota.Units, error) {
	res, err := u.client.QueryUsage(ctx, &meteringv1.QueryUsageRequest{CustomerId: customerID, FeatureKey: feature,
		Period: &commonv1.Period{Start: pbtime.New(p.Start), End: pbtime.New(p.End)}})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		return 0, nil
	default:
		return 0, peer.Failed("metering", "QueryUsage", err)
	}
	d, err := decimal.NewFromString(res.GetTotal())
	if err != nil {
		return 0, fmt.Errorf("metering: usage of %s: total %q: %w", feature, res.GetTotal(), err)
	}
	return units(d), nil
}

// units is a use in thousandths, rounded up and at most quota.MaxLimit.
func units(d decimal.Decimal) quota.Units {
	if d.GreaterThanOrEqual(quota.MaxLimit.Decimal()) {
		return quota.MaxLimit
	}
	return quota.Units(max(d.Shift(3).Ceil().IntPart(), 0))
}

// aggregations maps metering's aggregations to what quota does with them.
var aggregations = map[meteringv1.Aggregation]quota.Aggregation{
	meteringv1.Aggregation_AGGREGATION_SUM:           quota.AggregationSum,
	meteringv1.Aggregation_AGGREGATION_COUNT:         quota.AggregationCount,
	meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED: quota.AggregationGauge,
}

// UsageRecorded decodes a usage.recorded message: its payload is the JSON
// of meteringv1.UsageRecorded. Unknown fields are ignored, so that
// metering may add some.
func UsageRecorded(m bus.Message) (quota.Recorded, error) {
	var ev meteringv1.UsageRecorded
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(m.Payload, &ev); err != nil {
		return quota.Recorded{}, fmt.Errorf("usage.recorded %s: %w", m.ID, err)
	}
	r := quota.Recorded{ID: m.ID, CustomerID: ev.GetCustomerId(), Feature: ev.GetFeatureKey(),
		Aggregation: aggregations[ev.GetAggregation()], Hour: pbtime.Time(ev.GetHour()), Count: ev.GetCount(), Time: m.Time}
	if r.Aggregation == quota.AggregationSum {
		d, err := decimal.NewFromString(ev.GetQuantity())
		if err != nil {
			return quota.Recorded{}, fmt.Errorf("usage.recorded %s: quantity %q: %w", m.ID, ev.GetQuantity(), err)
		}
		r.Quantity = units(d)
	}
	return r, nil
}
