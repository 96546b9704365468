package metering_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/services/metering"
	"github.com/meterplane/meterplane/services/subscription"
)

// TestDemoTouchesOnlyDemoCustomers seeds the demo into a database that has
// a customer already: the demo customers get usage, that customer none.
func TestDemoTouchesOnlyDemoCustomers(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	in := installNoMeter(t, "")
	real := in.customer(t, "crm-real", "A real customer")
	must(t, subscription.Seed(ctx, in.subs))
	must(t, metering.Seed(ctx, in.metering, in.subs, now))

	usage := func(id string) string {
		t.Helper()
		res, err := in.metering.QueryUsage(ctx, &meteringv1.QueryUsageRequest{CustomerId: id, MeterKey: "bandwidth", Period: may})
		must(t, err)
		return res.GetTotal()
	}
	if got := usage(real); got != "0" {
		t.Errorf("the customer that was there before the demo has usage %s, want 0", got)
	}
	for _, ext := range metering.DemoCustomers {
		t.Run(ext, func(t *testing.T) {
			cus, err := in.subs.ListCustomers(ctx, &subscriptionv1.ListCustomersRequest{ExternalId: ext})
			must(t, err)
			if len(cus.GetCustomers()) != 1 {
				t.Fatalf("demo customer %s: %v", ext, cus)
			}
			if got := usage(cus.GetCustomers()[0].GetCustomerId()); got == "0" {
				t.Errorf("demo customer %s has no usage", ext)
			}
		})
	}
}

// TestQueryUnknownCustomer checks that usage of a customer that does not
// exist is NOT_FOUND, and of one without usage zero.
func TestQueryUnknownCustomer(t *testing.T) {
	t.Parallel()
	in := install(t, "")
	known := in.customer(t, "", "No usage yet")
	for _, tt := range []struct {
		name, id string
		code     codes.Code
	}{
		{"an unknown customer is not found", "cus_nobody", codes.NotFound},
		{"a customer without usage has zero", known, codes.OK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := in.metering.QueryUsage(t.Context(), &meteringv1.QueryUsageRequest{CustomerId: tt.id, MeterKey: "bandwidth", Period: may})
			if status.Code(err) != tt.code || err == nil && res.GetTotal() != "0" {
				t.Errorf("QueryUsage = %v, %v; want %s", res, err, tt.code)
			}
		})
	}
}
