package metering_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
)

// TestFedByQuota: a gauge meter fed by quota takes events from source
// "quota" only, rejecting others one by one in a batch; other meters take
// any source; only a gauge meter can be fed by quota.
func TestFedByQuota(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	in := install(t, "")
	id := in.customer(t, "", "Acme")
	_, err := in.metering.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "disk", FeatureKey: "disk_gib",
		Aggregation: meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED, FedByQuota: false}})
	must(t, err)
	_, err = in.metering.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "x", FeatureKey: "bandwidth_gib",
		Aggregation: meteringv1.Aggregation_AGGREGATION_SUM, FedByQuota: true}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "meter.fed_by_quota") {
		t.Errorf("a counter meter fed by quota: %v", err)
	}
	m, err := in.metering.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "sites", FeatureKey: "sites",
		Aggregation: meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED, FedByQuota: true}})
	must(t, err)
	if !m.GetMeter().GetFedByQuota() {
		t.Fatalf("created meter %v, want fed by quota", m)
	}
	got, err := in.metering.GetMeter(ctx, &meteringv1.GetMeterRequest{MeterKey: "sites"})
	must(t, err)
	if !got.GetMeter().GetFedByQuota() {
		t.Fatalf("stored meter %v, want fed by quota", got)
	}

	at := timestamppb.New(now.Add(-time.Hour))
	ev := func(meter, key, source string) *meteringv1.UsageEvent {
		return &meteringv1.UsageEvent{CustomerId: id, MeterKey: meter, Quantity: "1", Time: at, Subject: "site-1", IdempotencyKey: key, Source: source}
	}
	res, err := in.metering.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: []*meteringv1.UsageEvent{
		ev("sites", "a", "quota"), ev("sites", "b", "collector"), ev("sites", "c", ""), ev("disk", "d", "collector"), ev("disk", "e", "quota"),
	}})
	must(t, err)
	if res.GetAccepted() != 3 || res.GetRejected() != 2 {
		t.Fatalf("batch = %v, want 3 accepted and 2 rejected", res)
	}
	for _, i := range []int{1, 2} {
		r := res.GetResults()[i]
		if r.GetError() != meteringv1.EventError_EVENT_ERROR_SOURCE_NOT_ALLOWED || r.GetField() != fmt.Sprintf("events[%d].source", i) || r.GetMessage() == "" {
			t.Errorf("event %d: %v, want SOURCE_NOT_ALLOWED on its source", i, r)
		}
	}
	_, err = in.metering.Ingest(ctx, &meteringv1.IngestRequest{Event: ev("sites", "f", "collector")})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "event.source") {
		t.Errorf("a single event from another source: %v", err)
	}
	usage, err := in.metering.QueryUsage(ctx, &meteringv1.QueryUsageRequest{CustomerId: id, MeterKey: "sites", Period: may, GroupBySubject: true})
	must(t, err)
	if usage.GetTotal() == "0" || len(usage.GetValues()) != 1 {
		t.Errorf("usage of the quota-fed meter = %v, want site-1's level", usage)
	}
}
