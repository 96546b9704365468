package subscription

import (
	"context"
	"fmt"

	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
)

// Seed adds demo customers with subscriptions to the catalog's demo plans
// (catalog.Seed must have run). Every call has an idempotency key, so
// seeding the same data again changes nothing.
func Seed(ctx context.Context, client subscriptionv1.SubscriptionServiceClient) error {
	customers := []struct {
		key      string
		customer *subscriptionv1.Customer
		subs     []*subscriptionv1.SubscribeRequest
	}{
		{"acme", &subscriptionv1.Customer{ExternalId: "aegir-client-acme", Name: "Acme Web Agency", Email: "billing@acme.example", Currency: "EUR"},
			[]*subscriptionv1.SubscribeRequest{{PlanId: "hosting_50"}}},
		{"reseller", &subscriptionv1.Customer{ExternalId: "aegir-client-reseller", Name: "Example Reseller", Email: "accounts@reseller.example",
			Currency: "EUR", BillingAnchor: subscriptionv1.BillingAnchor_BILLING_ANCHOR_ANNIVERSARY},
			[]*subscriptionv1.SubscribeRequest{{PlanId: "hosting_payg"}}},
		{"bakery", &subscriptionv1.Customer{ExternalId: "aegir-client-bakery", Name: "Corner Bakery", Email: "owner@bakery.example", Currency: "EUR"},
			[]*subscriptionv1.SubscribeRequest{{PlanId: "hosting_single", Quantity: 3, TrialDays: 14}}},
	}
	var resellerID string
	for _, c := range customers {
		if c.key == "bakery" {
			c.customer.ParentCustomerId = resellerID
		}
		res, err := client.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: c.customer, IdempotencyKey: "demo-customer-" + c.key})
		if err != nil {
			return fmt.Errorf("create customer %s: %w", c.key, err)
		}
		id := res.GetCustomer().GetCustomerId()
		if c.key == "reseller" {
			resellerID = id
		}
		for i, s := range c.subs {
			s.CustomerId, s.IdempotencyKey = id, fmt.Sprintf("demo-subscribe-%s-%d", c.key, i)
			if _, err := client.Subscribe(ctx, s); err != nil {
				return fmt.Errorf("subscribe %s to %s: %w", c.key, s.GetPlanId(), err)
			}
		}
	}
	return nil
}
