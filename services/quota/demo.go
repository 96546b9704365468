package quota

import (
	"context"
	"fmt"

	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
)

// demoSites are the sites each demo customer (by external id, as
// subscription.Seed creates them) is given.
var demoSites = []struct {
	externalID string
	sites      int
}{{"aegir-client-acme", 2}, {"aegir-client-reseller", 3}, {"aegir-client-bakery", 1}}

// Seed gives each demo customer (subscription.Seed must have run) a few
// sites, allocated by Reserve and Commit as a provisioner would, so that
// metering's sites meter, fed by quota, has their levels. The keys name
// the sites, so seeding again allocates nothing more: a retried Reserve
// answers its reservation, and its Commit the same allocation.
func Seed(ctx context.Context, client quotav1.QuotaServiceClient, subs subscriptionv1.SubscriptionServiceClient) error {
	for _, d := range demoSites {
		res, err := subs.ListCustomers(ctx, &subscriptionv1.ListCustomersRequest{ExternalId: d.externalID})
		if err != nil {
			return fmt.Errorf("find demo customer %s: %w", d.externalID, err)
		}
		for _, cus := range res.GetCustomers() {
			if cus.GetExternalId() != d.externalID {
				continue
			}
			for i := 1; i <= d.sites; i++ {
				site := fmt.Sprintf("%s-site-%d", d.externalID, i)
				r, err := client.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: cus.GetCustomerId(),
					Items: []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}, IdempotencyKey: "demo-reserve-" + site})
				if err != nil {
					return fmt.Errorf("reserve demo %s: %w", site, err)
				}
				if !r.GetAllowed() {
					return fmt.Errorf("reserve demo %s: denied: %v", site, r.GetItems())
				}
				if _, err := client.Commit(ctx, &quotav1.CommitRequest{ReservationId: r.GetReservation().GetReservationId(),
					Subjects: []string{site}, IdempotencyKey: "demo-commit-" + site}); err != nil {
					return fmt.Errorf("commit demo %s: %w", site, err)
				}
			}
		}
	}
	return nil
}
