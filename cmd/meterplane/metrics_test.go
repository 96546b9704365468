package main_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
)

// TestMetrics makes a few calls of each kind on the binary and finds on
// /metrics each metric docs/operations.md lists, with the attributes it
// documents.
func TestMetrics(t *testing.T) {
	t.Parallel()
	r := start(t, []string{"DATABASE_URL=", "REDIS_URL=", "MP_DATA_DIR=" + t.TempDir()}, "--demo")
	ctx := t.Context()
	cus, err := subscriptionv1.NewSubscriptionServiceClient(r.conn).ListCustomers(ctx,
		&subscriptionv1.ListCustomersRequest{ExternalId: "aegir-client-acme"})
	if err != nil || len(cus.GetCustomers()) != 1 {
		t.Fatalf("ListCustomers: %v, %v", cus, err)
	}
	acme := cus.GetCustomers()[0].GetCustomerId()

	quota := quotav1.NewQuotaServiceClient(r.conn)
	items := []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}
	for _, q := range []string{"1", "1000000"} {
		if _, err := quota.CheckQuota(ctx, &quotav1.CheckQuotaRequest{CustomerId: acme,
			Items: []*quotav1.Item{{FeatureKey: "sites", Quantity: q}}}); err != nil {
			t.Fatalf("CheckQuota: %v", err)
		}
	}
	if _, err := quota.Reserve(ctx, &quotav1.ReserveRequest{CustomerId: acme, Items: items}); err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	// A failing call, for the status code on the RPC metrics.
	if _, err := quota.CheckQuota(ctx, &quotav1.CheckQuotaRequest{}); err == nil {
		t.Fatal("CheckQuota without a customer: no error")
	}
	// Accepted, the same again (a duplicate), an unknown meter (rejected).
	now := timestamppb.Now()
	batch, err := meteringv1.NewMeteringServiceClient(r.conn).IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: []*meteringv1.UsageEvent{
		{CustomerId: acme, MeterKey: "bandwidth", Quantity: "2", Time: now, IdempotencyKey: "metrics-1"},
		{CustomerId: acme, MeterKey: "bandwidth", Quantity: "2", Time: now, IdempotencyKey: "metrics-1"},
		{CustomerId: acme, MeterKey: "no_such_meter", Quantity: "2", Time: now, IdempotencyKey: "metrics-2"}}})
	if err != nil || len(batch.GetResults()) != 3 || batch.GetResults()[1].GetStatus() != meteringv1.EventStatus_EVENT_STATUS_DUPLICATE {
		t.Fatalf("IngestBatch: %v, %v", batch, err)
	}
	if _, err := invoicev1.NewInvoiceServiceClient(r.conn).RunBilling(ctx, &invoicev1.RunBillingRequest{}); err != nil {
		t.Fatalf("RunBilling: %v", err)
	}

	// Each metric as the Prometheus exporter names it, with a label set it
	// must have on some series.
	want := []series{
		{"rpc_server_call_duration_seconds_count", []string{`rpc_method="meterplane.quota.v1.QuotaService/CheckQuota"`, `rpc_response_status_code="OK"`}},
		{"rpc_server_call_duration_seconds_bucket", []string{`rpc_method="meterplane.quota.v1.QuotaService/CheckQuota"`, `rpc_response_status_code="INVALID_ARGUMENT"`}},
		{"rpc_client_call_duration_seconds_count", nil},
		{"http_server_request_duration_seconds_count", nil},
		{"meterplane_quota_decisions_total", []string{`operation="check"`, `reason="ok"`}},
		{"meterplane_quota_decisions_total", []string{`operation="check"`, `reason="over_limit"`}},
		{"meterplane_quota_decisions_total", []string{`operation="reserve"`, `reason="ok"`}},
		{"meterplane_metering_events_total", []string{`outcome="accepted"`}},
		{"meterplane_metering_events_total", []string{`outcome="duplicate"`}},
		{"meterplane_metering_events_total", []string{`outcome="rejected"`, `reason="unknown_meter"`}},
		{"meterplane_invoice_run_invoices_total", nil},
		{"meterplane_invoice_run_duration_seconds_count", []string{`status="completed"`}},
		{"meterplane_invoice_run_last_success_seconds", nil},
		{"meterplane_outbox_published_total", []string{`topic="subscription.changed"`}},
		{"meterplane_outbox_relay_lag_seconds_count", nil},
	}
	var body string
	// The outbox relay publishes the demo's events on its own time.
	for deadline := time.Now().Add(10 * time.Second); ; {
		body = scrape(t, "http://"+r.HTTPAddr+"/metrics")
		if missing := missingMetrics(body, want); len(missing) == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %v; it has:\n%s", missing, metricNames(body))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// series is a metric and labels one of its series must have.
type series struct {
	name   string
	labels []string
}

// missingMetrics returns the series of want that no line of body has.
func missingMetrics(body string, want []series) []series {
	var missing []series
	for _, w := range want {
		found := false
		for line := range strings.Lines(body) {
			if !strings.HasPrefix(line, w.name+"{") && !strings.HasPrefix(line, w.name+" ") {
				continue
			}
			all := true
			for _, l := range w.labels {
				all = all && strings.Contains(line, l)
			}
			if found = all; found {
				break
			}
		}
		if !found {
			missing = append(missing, w)
		}
	}
	return missing
}

var seriesName = regexp.MustCompile(`(?m)^[a-z_]+`)

func metricNames(body string) string {
	seen := map[string]bool{}
	var out []string
	for _, n := range seriesName.FindAllString(body, -1) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return strings.Join(out, " ")
}
