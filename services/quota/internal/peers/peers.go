// Package peers holds the quota service's clients of the other services:
// the subscription service's entitlements and the catalog's features.
// Each maps its peer's status codes to what they mean for the calling
// domain method: a peer's status never passes through as it came.
package peers

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/platform/peer"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// policies maps the catalog's limit policies to the domain's.
var policies = map[catalogv1.LimitPolicy]quota.Policy{
	catalogv1.LimitPolicy_LIMIT_POLICY_HARD: quota.PolicyHard,
	catalogv1.LimitPolicy_LIMIT_POLICY_SOFT: quota.PolicySoft,
	catalogv1.LimitPolicy_LIMIT_POLICY_NONE: quota.PolicyNone,
}

// Entitlements asks the subscription service for customers' limits.
type Entitlements struct {
	client subscriptionv1.SubscriptionServiceClient
}

var _ quota.Entitlements = (*Entitlements)(nil)

// NewEntitlements returns Entitlements calling the subscription service
// on conn.
func NewEntitlements(conn grpc.ClientConnInterface) *Entitlements {
	return &Entitlements{client: subscriptionv1.NewSubscriptionServiceClient(conn)}
}

// Limits implements quota.Entitlements. An included quantity is held in
// thousandths, rounded down (a hard limit never grows by rounding); an
// unknown policy is held as HARD. The answer holds until its valid_until.
func (e *Entitlements) Limits(ctx context.Context, customerID string, at time.Time) (quota.Limits, error) {
	res, err := e.client.GetEntitlements(ctx, &subscriptionv1.GetEntitlementsRequest{CustomerId: customerID, At: pbtime.New(at)})
	switch status.Code(err) {
	case codes.OK:
	case codes.NotFound:
		return quota.Limits{}, errs.New(errs.NotFound, "customer %q not found", customerID)
	case codes.InvalidArgument:
		return quota.Limits{}, errs.Field("customer_id", "%s", status.Convert(err).Message())
	default:
		return quota.Limits{}, peer.Failed("subscription", "GetEntitlements", err)
	}
	l := quota.Limits{HasPlan: res.GetActiveSubscriptions() > 0, ByFeature: map[string]quota.Limit{},
		ValidUntil: pbtime.Time(res.GetValidUntil())}
	for _, ent := range res.GetEntitlements() {
		d, err := decimal.NewFromString(ent.GetIncludedQuantity())
		if err != nil {
			return quota.Limits{}, fmt.Errorf("subscription: entitlement %s: included quantity %q: %w",
				ent.GetFeatureKey(), ent.GetIncludedQuantity(), err)
		}
		units := quota.MaxLimit
		if d.LessThan(quota.MaxLimit.Decimal()) {
			units = quota.Units(d.Shift(3).Floor().IntPart())
		}
		p, ok := policies[ent.GetLimitPolicy()]
		if !ok {
			p = quota.PolicyHard
		}
		l.ByFeature[ent.GetFeatureKey()] = quota.Limit{Policy: p, Limit: max(units, 0), Reset: resets[ent.GetResetPeriod()]}
	}
	return l, nil
}

// maxKinds bounds how many features' kinds Features remembers, so that
// requests naming ever new features cannot grow it without end; past it,
// a feature not remembered is asked each time.
const maxKinds = 10_000

// Features asks the catalog what kind a feature is, and remembers it: a
// feature's kind does not change, so CheckQuota asks the catalog once per
// feature, not per call.
type Features struct {
	client catalogv1.CatalogServiceClient
	kinds  sync.Map // key → bool (is a gauge)
	known  atomic.Int64
}

var _ quota.Features = (*Features)(nil)

// NewFeatures returns Features calling the catalog service on conn.
func NewFeatures(conn grpc.ClientConnInterface) *Features {
	return &Features{client: catalogv1.NewCatalogServiceClient(conn)}
}

// IsGauge implements quota.Features. A feature the catalog does not find,
// or whose key it refuses, is quota.ErrUnknownFeature.
func (f *Features) IsGauge(ctx context.Context, feature string) (bool, error) {
	if g, ok := f.kinds.Load(feature); ok {
		return g.(bool), nil
	}
	res, err := f.client.GetFeature(ctx, &catalogv1.GetFeatureRequest{FeatureKey: feature})
	switch status.Code(err) {
	case codes.OK:
		g := res.GetFeature().GetKind() == catalogv1.FeatureKind_FEATURE_KIND_GAUGE
		if f.known.Load() < maxKinds {
			if _, loaded := f.kinds.LoadOrStore(feature, g); !loaded {
				f.known.Add(1)
			}
		}
		return g, nil
	case codes.NotFound, codes.InvalidArgument:
		return false, quota.ErrUnknownFeature
	}
	return false, peer.Failed("catalog", "GetFeature", err)
}
