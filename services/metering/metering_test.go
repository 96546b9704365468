package metering_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/metering"
	"github.com/meterplane/meterplane/services/subscription"
)

var now = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAPI runs catalog and subscription on one server and metering on
// another, as deployed, on PostgreSQL and real Redis, and drives metering
// over gRPC and HTTP.
func TestAPI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := storagetest.EmptyPostgres(t)
	clk := clock.NewFake(now)
	rdb := &redisx.Redis{Client: redistest.New(t)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	d := app.Deps{Config: config.Config{DatabaseURL: url}, Clock: clk, Redis: rdb, Log: log}
	peers := apptest.Serve(t, d, catalog.Open)
	d.Catalog = peers.Conn()
	subSrv := apptest.Serve(t, d, subscription.Open)
	d.Subscription = subSrv.Conn()
	srv := apptest.Serve(t, d, metering.Open)
	client := meteringv1.NewMeteringServiceClient(srv.Conn())
	base := "http://" + srv.HTTPAddr()

	must(t, catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(peers.Conn())))
	cus, err := subscriptionv1.NewSubscriptionServiceClient(subSrv.Conn()).CreateCustomer(ctx,
		&subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Acme", Currency: "EUR"}})
	must(t, err)
	id := cus.GetCustomer().GetCustomerId()

	_, err = client.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "bandwidth", FeatureKey: "bandwidth_gib",
		Aggregation: meteringv1.Aggregation_AGGREGATION_SUM}, IdempotencyKey: "m1"})
	must(t, err)
	_, err = client.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "sites", FeatureKey: "sites",
		Aggregation: meteringv1.Aggregation_AGGREGATION_SUM}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "gauge") {
		t.Errorf("a counter aggregation on a gauge feature: %v", err)
	}
	_, err = client.CreateMeter(ctx, &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "x", FeatureKey: "nope",
		Aggregation: meteringv1.Aggregation_AGGREGATION_SUM}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("an unknown feature: %v", err)
	}

	event := func(key, quantity string, at time.Time) *meteringv1.UsageEvent {
		return &meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth", Quantity: quantity, Time: timestamppb.New(at), IdempotencyKey: key}
	}
	one, err := client.Ingest(ctx, &meteringv1.IngestRequest{Event: event("e1", "10.5", now.Add(-time.Hour))})
	must(t, err)
	if one.GetResult().GetStatus() != meteringv1.EventStatus_EVENT_STATUS_ACCEPTED {
		t.Errorf("ingest: %v", one)
	}
	again, err := client.Ingest(ctx, &meteringv1.IngestRequest{Event: event("e1", "10.5", now.Add(-time.Hour))})
	must(t, err)
	if again.GetResult().GetStatus() != meteringv1.EventStatus_EVENT_STATUS_DUPLICATE || again.GetResult().GetEventId() != one.GetResult().GetEventId() {
		t.Errorf("retry: %v", again)
	}
	_, err = client.Ingest(ctx, &meteringv1.IngestRequest{Event: event("e1", "11", now.Add(-time.Hour))})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("reused key: %v", err)
	}
	_, err = client.Ingest(ctx, &meteringv1.IngestRequest{Event: event("e2", "-1", now)})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "event.quantity") {
		t.Errorf("negative quantity: %v", err)
	}
	_, err = client.Ingest(ctx, &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{CustomerId: "cus_nobody", MeterKey: "bandwidth",
		Quantity: "1", Time: timestamppb.New(now), IdempotencyKey: "e3"}})
	if status.Code(err) != codes.NotFound {
		t.Errorf("unknown customer: %v", err)
	}

	// A batch over HTTP: each event its own result.
	body := `{"events":[
		{"customerId":"` + id + `","meterKey":"bandwidth","quantity":"4.5","time":"2026-05-10T09:30:00Z","idempotencyKey":"h1"},
		{"customerId":"` + id + `","meterKey":"bandwidth","quantity":"1e3","time":"2026-05-10T09:30:00Z","idempotencyKey":"h2"},
		{"customerId":"` + id + `","meterKey":"bandwidth","quantity":"1","time":"2026-05-10T13:00:00Z","idempotencyKey":"h3"}]}`
	res, err := http.Post(base+"/v1/events:batch", "application/json", strings.NewReader(body))
	must(t, err)
	var batch meteringv1.IngestBatchResponse
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	must(t, protojson.Unmarshal(b, &batch))
	if batch.GetAccepted() != 1 || batch.GetRejected() != 2 ||
		batch.GetResults()[1].GetError() != meteringv1.EventError_EVENT_ERROR_INVALID_QUANTITY ||
		batch.GetResults()[2].GetError() != meteringv1.EventError_EVENT_ERROR_FUTURE_TIME {
		t.Errorf("batch over HTTP: %s", b)
	}

	// Usage over HTTP, per hour.
	res, err = http.Get(base + "/v1/customers/" + id + "/usage?meterKey=bandwidth&period.start=2026-05-10T00:00:00Z&period.end=2026-05-11T00:00:00Z&window=WINDOW_HOUR")
	must(t, err)
	var usage struct {
		Total  string `json:"total"`
		Values []struct {
			Quantity string `json:"quantity"`
		} `json:"values"`
	}
	must(t, json.NewDecoder(res.Body).Decode(&usage))
	res.Body.Close()
	if usage.Total != "15" || len(usage.Values) != 2 || usage.Values[0].Quantity != "4.5" {
		t.Errorf("usage over HTTP: %+v", usage)
	}

	// Closing the period refuses what comes late.
	_, err = client.ClosePeriod(ctx, &meteringv1.ClosePeriodRequest{CustomerId: id, ClosedBefore: timestamppb.New(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC))})
	must(t, err)
	late, err := client.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: []*meteringv1.UsageEvent{event("late", "1", time.Date(2026, 4, 30, 23, 0, 0, 0, time.UTC))}})
	must(t, err)
	if late.GetResults()[0].GetError() != meteringv1.EventError_EVENT_ERROR_LATE_PERIOD_CLOSED {
		t.Errorf("late event: %v", late)
	}

	// Export and import over gRPC.
	exp, err := client.ExportReport(ctx, &meteringv1.ExportReportRequest{CustomerId: id, Format: meteringv1.ReportFormat_REPORT_FORMAT_XML,
		Period: &commonv1.Period{Start: timestamppb.New(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), End: timestamppb.New(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))}})
	must(t, err)
	if exp.GetEvents() != 2 || exp.GetContentType() != "application/xml" {
		t.Errorf("export: %d events, %s", exp.GetEvents(), exp.GetContentType())
	}
	imp, err := client.ImportReport(ctx, &meteringv1.ImportReportRequest{Content: exp.GetContent(), Format: meteringv1.ReportFormat_REPORT_FORMAT_XML})
	must(t, err)
	if imp.GetDuplicates() != 2 || imp.GetAccepted() != 0 {
		t.Errorf("importing an export: %v", imp)
	}
	_, err = client.ImportReport(ctx, &meteringv1.ImportReportRequest{Content: []byte("<nope/>"), Format: meteringv1.ReportFormat_REPORT_FORMAT_XML})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("a bad report: %v", err)
	}

	// usage.recorded reaches the bus.
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := rdb.XRange(ctx, "mp:"+metering.TopicRecorded, "-", "+").Result()
		must(t, err)
		if len(msgs) == 2 {
			// One per hour with usage; folds may merge batches, so the
			// order is not the ingestion's.
			var quantities []string
			for _, m := range msgs {
				var ev meteringv1.UsageRecorded
				must(t, protojson.Unmarshal([]byte(m.Values["payload"].(string)), &ev))
				if ev.GetCustomerId() != id || ev.GetFeatureKey() != "bandwidth_gib" || ev.GetCount() != 1 {
					t.Errorf("usage.recorded: %v", &ev)
				}
				quantities = append(quantities, ev.GetQuantity())
			}
			if slices.Sort(quantities); fmt.Sprint(quantities) != "[10.5 4.5]" {
				t.Errorf("usage.recorded quantities %v, want [10.5 4.5]", quantities)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d usage.recorded events on the bus after 10 s, want 2", len(msgs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
