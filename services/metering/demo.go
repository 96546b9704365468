package metering

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
)

// DemoCustomers are the external ids of the customers subscription.Seed
// creates, in its order; Seed adds usage to these and to no other
// customer, so that --demo on a database in use leaves real customers'
// usage alone.
var DemoCustomers = []string{"aegir-client-acme", "aegir-client-reseller", "aegir-client-bakery"}

// Seed adds demo meters (bandwidth, disk, and sites, which quota feeds)
// and this month's bandwidth and disk usage of the demo customers
// (catalog.Seed and subscription.Seed must have run), found by their
// external ids. Event keys name the month, so seeding again
// in the same month stores nothing new.
func Seed(ctx context.Context, client meteringv1.MeteringServiceClient, subs subscriptionv1.SubscriptionServiceClient, now time.Time) error {
	for _, m := range []*meteringv1.Meter{
		{Key: "bandwidth", FeatureKey: "bandwidth_gib", Aggregation: meteringv1.Aggregation_AGGREGATION_SUM, Description: "GiB transferred"},
		// Fed by quota: the demo's sites are allocated through quota.Seed,
		// which reports them here.
		{Key: "sites", FeatureKey: "sites", Aggregation: meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED, Description: "Sites over time", FedByQuota: true},
		{Key: "disk", FeatureKey: "disk_gib", Aggregation: meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED, Description: "GiB stored over time"},
	} {
		if _, err := client.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: m, IdempotencyKey: "demo-meter-" + m.GetKey()}); err != nil {
			return fmt.Errorf("create meter %s: %w", m.GetKey(), err)
		}
	}
	var demo []*subscriptionv1.Customer
	for _, ext := range DemoCustomers {
		res, err := subs.ListCustomers(ctx, &subscriptionv1.ListCustomersRequest{ExternalId: ext})
		if err != nil {
			return fmt.Errorf("find demo customer %s: %w", ext, err)
		}
		for _, cus := range res.GetCustomers() {
			if cus.GetExternalId() == ext {
				demo = append(demo, cus)
			}
		}
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	var events []*meteringv1.UsageEvent
	for c, cus := range demo {
		add := func(minutes int, meter, subject, quantity string) {
			at := month.Add(time.Duration(minutes) * time.Minute)
			if at.After(now) {
				return
			}
			events = append(events, &meteringv1.UsageEvent{
				CustomerId: cus.GetCustomerId(), MeterKey: meter, Quantity: quantity, Time: timestamppb.New(at), Subject: subject,
				IdempotencyKey: fmt.Sprintf("demo-%s-%s-%s-%d", month.Format("2006-01"), meter, subject, minutes), Source: "demo-collector",
			})
		}
		for i := range 5 {
			add(10+i*60, "bandwidth", "", fmt.Sprintf("%d.25", 3*(c+1)+i))
		}
		add(2, "disk", "site-1", "2.5")
		if c == 0 {
			add(31, "disk", "site-2", "7.5")
		}
	}
	batch, err := client.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: events})
	if err != nil {
		return fmt.Errorf("ingest demo usage: %w", err)
	}
	if batch.GetRejected() > 0 {
		for _, r := range batch.GetResults() {
			if r.GetStatus() == meteringv1.EventStatus_EVENT_STATUS_REJECTED {
				return fmt.Errorf("demo event rejected: %s: %s", r.GetField(), r.GetMessage())
			}
		}
	}
	return nil
}
