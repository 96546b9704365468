package invoice

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
)

// DemoCustomer is the external id of the customer Seed creates: the other
// demo customers subscribe at seed time and have no ended period yet, so
// this one subscribes from the start of the previous month.
const DemoCustomer = "demo-invoice-customer"

// Seed leaves a finalized invoice that can be opened as a PDF
// (/v1/invoices/{invoice_id}/document.pdf): it creates DemoCustomer with a
// subscription to the catalog's demo plan hosting_50 backdated to the
// first of last month (catalog.Seed must have run), runs billing as of
// now and finalizes the customer's first invoice unless the run did.
// Seeding again adds no customer or subscription, and finalizes nothing
// more.
func Seed(ctx context.Context, client invoicev1.InvoiceServiceClient, subs subscriptionv1.SubscriptionServiceClient, now time.Time) error {
	res, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{IdempotencyKey: "demo-customer-invoice",
		Customer: &subscriptionv1.Customer{ExternalId: DemoCustomer, Name: "Harbour Books", Email: "accounts@harbour.example", Currency: "EUR"}})
	if err != nil {
		return fmt.Errorf("create the invoice demo customer: %w", err)
	}
	id := res.GetCustomer().GetCustomerId()
	list, err := subs.ListSubscriptions(ctx, &subscriptionv1.ListSubscriptionsRequest{CustomerId: id})
	if err != nil {
		return fmt.Errorf("list the invoice demo customer's subscriptions: %w", err)
	}
	if len(list.GetSubscriptions()) == 0 {
		now = now.UTC()
		start := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
		_, err := subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50",
			StartTime: timestamppb.New(start), BackdateReason: "demo: a month that has ended, to invoice",
			IdempotencyKey: "demo-subscribe-invoice"})
		if err != nil {
			return fmt.Errorf("subscribe the invoice demo customer: %w", err)
		}
	}
	if _, err := client.RunBilling(ctx, &invoicev1.RunBillingRequest{}); err != nil {
		return fmt.Errorf("run billing: %w", err)
	}
	invs, err := client.ListInvoices(ctx, &invoicev1.ListInvoicesRequest{CustomerId: id, PageSize: 500})
	if err != nil {
		return fmt.Errorf("list the demo invoices: %w", err)
	}
	var oldest *invoicev1.Invoice
	for _, inv := range invs.GetInvoices() {
		if inv.GetStatus() != invoicev1.InvoiceStatus_INVOICE_STATUS_DRAFT {
			return nil // finalized already
		}
		oldest = inv // newest first: the last is the oldest
	}
	if oldest == nil {
		return fmt.Errorf("billing left no invoice for the demo customer %s", id)
	}
	_, err = client.FinalizeInvoice(ctx, &invoicev1.FinalizeInvoiceRequest{InvoiceId: oldest.GetInvoiceId(),
		IdempotencyKey: "demo-finalize-" + oldest.GetInvoiceId()})
	if err != nil {
		return fmt.Errorf("finalize the demo invoice: %w", err)
	}
	return nil
}
