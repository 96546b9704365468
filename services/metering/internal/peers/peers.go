// Package peers holds the metering service's clients of the other
// services: the customer directory (subscription) and the feature catalog.
// Each maps its peer's status codes to what they mean for the calling
// domain method: a peer's status never passes through as it came.
package peers

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/peer"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

// lookups is how many calls to a peer one request makes at once.
const lookups = 8

// Customers asks the subscription service which customers exist, and
// remembers the ones that do: customers are never deleted. External ids
// can change, so they are asked each time.
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
	var ask []string
	for _, id := range ids {
		if _, ok := c.known.Load(id); ok {
			out[id] = true
		} else {
			ask = append(ask, id)
		}
	}
	ext, err := c.ExternalIDs(ctx, ask)
	for id := range ext {
		out[id] = true
	}
	return out, err
}

// ExternalIDs returns the external ids of the customers among ids that
// exist. A customer the directory does not find (NotFound), or whose id it
// refuses (InvalidArgument), does not exist.
func (c *Customers) ExternalIDs(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(lookups)
	for _, id := range ids {
		g.Go(func() error {
			res, err := c.client.GetCustomer(ctx, &subscriptionv1.GetCustomerRequest{CustomerId: id})
			switch status.Code(err) {
			case codes.OK:
				c.known.Store(id, struct{}{})
				mu.Lock()
				out[id] = res.GetCustomer().GetExternalId()
				mu.Unlock()
			case codes.NotFound, codes.InvalidArgument:
			default:
				return peer.Failed("subscription", "GetCustomer", err)
			}
			return nil
		})
	}
	return out, g.Wait()
}

// ByExternalID returns the ids of the customers with the external ids.
func (c *Customers) ByExternalID(ctx context.Context, externalIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(externalIDs))
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(lookups)
	for _, ext := range externalIDs {
		g.Go(func() error {
			res, err := c.client.ListCustomers(ctx, &subscriptionv1.ListCustomersRequest{ExternalId: ext, PageSize: 1})
			switch status.Code(err) {
			case codes.OK:
			case codes.InvalidArgument:
				return nil // an external id the directory refuses names no customer
			default:
				return peer.Failed("subscription", "ListCustomers", err)
			}
			for _, cus := range res.GetCustomers() {
				if cus.GetExternalId() == ext {
					c.known.Store(cus.GetCustomerId(), struct{}{})
					mu.Lock()
					out[ext] = cus.GetCustomerId()
					mu.Unlock()
				}
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

// IsGauge reports whether the feature is a gauge. A feature the catalog
// does not find, or whose key it refuses, is an errs.NotFound error, which
// the domain answers as the caller's invalid argument.
func (f *Features) IsGauge(ctx context.Context, feature string) (bool, error) {
	res, err := f.client.GetFeature(ctx, &catalogv1.GetFeatureRequest{FeatureKey: feature})
	switch status.Code(err) {
	case codes.OK:
		return res.GetFeature().GetKind() == catalogv1.FeatureKind_FEATURE_KIND_GAUGE, nil
	case codes.NotFound, codes.InvalidArgument:
		return false, errs.New(errs.NotFound, "feature %q not found", feature)
	}
	return false, peer.Failed("catalog", "GetFeature", err)
}
