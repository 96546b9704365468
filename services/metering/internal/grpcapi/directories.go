package grpcapi

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

// Customers asks the subscription service which customers exist, and
// remembers the ones that do: customers are never deleted.
type Customers struct {
	client subscriptionv1.SubscriptionServiceClient
	known  sync.Map // id → struct{}
}

var _ metering.Customers = (*Customers)(nil)

// NewCustomers returns Customers calling the subscription service on conn.
func NewCustomers(conn grpc.ClientConnInterface) *Customers {
	return &Customers{client: subscriptionv1.NewSubscriptionServiceClient(conn)}
}

// Known returns which of ids are customers.
func (c *Customers) Known(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, id := range ids {
		if _, ok := c.known.Load(id); ok {
			mu.Lock()
			out[id] = true
			mu.Unlock()
			continue
		}
		g.Go(func() error {
			_, err := c.client.GetCustomer(ctx, &subscriptionv1.GetCustomerRequest{CustomerId: id})
			switch status.Code(err) {
			case codes.OK:
				c.known.Store(id, struct{}{})
				mu.Lock()
				out[id] = true
				mu.Unlock()
			case codes.NotFound:
			default:
				return fmt.Errorf("subscription: get customer: %w", err)
			}
			return nil
		})
	}
	return out, g.Wait()
}

// Features asks the catalog service what kind a feature is.
type Features struct {
	client catalogv1.CatalogServiceClient
}

var _ metering.Features = (*Features)(nil)

// NewFeatures returns Features calling the catalog service on conn.
func NewFeatures(conn grpc.ClientConnInterface) *Features {
	return &Features{client: catalogv1.NewCatalogServiceClient(conn)}
}

// IsGauge reports whether the feature is a gauge.
func (f *Features) IsGauge(ctx context.Context, feature string) (bool, error) {
	res, err := f.client.GetFeature(ctx, &catalogv1.GetFeatureRequest{FeatureKey: feature})
	if status.Code(err) == codes.NotFound {
		return false, errs.New(errs.NotFound, "feature %q not found", feature)
	}
	if err != nil {
		return false, fmt.Errorf("catalog: get feature: %w", err)
	}
	return res.GetFeature().GetKind() == catalogv1.FeatureKind_FEATURE_KIND_GAUGE, nil
}
