package metering_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/metering"
	"github.com/meterplane/meterplane/services/metering/internal/report"
	"github.com/meterplane/meterplane/services/subscription"
)

// installation is one Meterplane: catalog, subscription and metering on
// one in-process server with its own databases.
type installation struct {
	srv      *server.Server
	metering meteringv1.MeteringServiceClient
	subs     subscriptionv1.SubscriptionServiceClient
}

// install starts an installation on PostgreSQL (a new empty database) or,
// with databaseURL "", on SQLite, with the catalog's demo features and the
// meter "bandwidth".
func install(t *testing.T, databaseURL string) installation {
	t.Helper()
	in := installNoMeter(t, databaseURL)
	_, err := in.metering.CreateMeter(t.Context(), &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: "bandwidth", FeatureKey: "bandwidth_gib",
		Aggregation: meteringv1.Aggregation_AGGREGATION_SUM}})
	must(t, err)
	return in
}

// installNoMeter is install without the meter.
func installNoMeter(t *testing.T, databaseURL string) installation {
	t.Helper()
	d := app.Deps{Config: config.Config{DatabaseURL: databaseURL}, Clock: clock.NewFake(now), Redis: &redisx.Redis{Client: redistest.New(t)}}
	srv := apptest.Serve(t, d, catalog.Open, subscription.Open, metering.Open)
	in := installation{srv: srv, metering: meteringv1.NewMeteringServiceClient(srv.Conn()), subs: subscriptionv1.NewSubscriptionServiceClient(srv.Conn())}
	must(t, catalog.Seed(t.Context(), catalogv1.NewCatalogServiceClient(srv.Conn())))
	return in
}

// customer creates a customer and returns its id.
func (in installation) customer(t *testing.T, externalID, name string) string {
	t.Helper()
	res, err := in.subs.CreateCustomer(t.Context(), &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{
		ExternalId: externalID, Name: name, Currency: "EUR"}})
	must(t, err)
	return res.GetCustomer().GetCustomerId()
}

var may = &commonv1.Period{Start: timestamppb.New(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)), End: timestamppb.New(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))}

// export exports a customer's May over gRPC.
func (in installation) export(t *testing.T, customerID string, f meteringv1.ReportFormat) []byte {
	t.Helper()
	res, err := in.metering.ExportReport(t.Context(), &meteringv1.ExportReportRequest{CustomerId: customerID, Period: may, Format: f})
	must(t, err)
	return res.GetContent()
}

// TestReportsTravel exports a customer's usage from one installation and
// imports it into another, where the same customer (by external id) has
// another internal id: every event is accepted, the usage is the same, and
// the fixed point holds both ways.
func TestReportsTravel(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := install(t, storagetest.EmptyPostgres(t)), install(t, "")
	acmeA, acmeB := a.customer(t, "crm-acme", "Acme"), b.customer(t, "crm-acme", "Acme")
	b.customer(t, "", "Someone else")
	if acmeA == acmeB {
		t.Fatal("the two installations gave the customer the same id; the test proves nothing")
	}
	var events []*meteringv1.UsageEvent
	for i := range 5 {
		events = append(events, &meteringv1.UsageEvent{CustomerId: acmeA, MeterKey: "bandwidth", Quantity: fmt.Sprintf("%d.5", i),
			Time: timestamppb.New(time.Date(2026, 5, 2, i, 0, 0, 0, time.UTC)), IdempotencyKey: fmt.Sprint("k", i), Source: "collector"})
	}
	_, err := a.metering.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: events})
	must(t, err)

	for _, f := range []meteringv1.ReportFormat{meteringv1.ReportFormat_REPORT_FORMAT_JSON, meteringv1.ReportFormat_REPORT_FORMAT_XML} {
		t.Run(f.String(), func(t *testing.T) {
			fromA := a.export(t, acmeA, f)
			if !bytes.Contains(fromA, []byte("crm-acme")) {
				t.Fatalf("the report does not name the customer's external id:\n%s", fromA)
			}
			imp, err := b.metering.ImportReport(ctx, &meteringv1.ImportReportRequest{Content: fromA, Format: f})
			must(t, err)
			if imp.GetAccepted()+imp.GetDuplicates() != 5 || imp.GetRejected() != 0 {
				t.Fatalf("import into the other installation: %v", imp)
			}
			fromB := b.export(t, acmeB, f)
			if want := bytes.ReplaceAll(fromA, []byte(acmeA), []byte(acmeB)); !bytes.Equal(fromB, want) {
				t.Errorf("the other installation exports\n%s\nwant the same document with its own customer id\n%s", fromB, want)
			}
			// Back home: every event is a duplicate, the document unchanged.
			back, err := a.metering.ImportReport(ctx, &meteringv1.ImportReportRequest{Content: fromB, Format: f})
			must(t, err)
			if back.GetDuplicates() != 5 {
				t.Errorf("importing the other installation's report back: %v", back)
			}
			if again := a.export(t, acmeA, f); !bytes.Equal(again, fromA) {
				t.Errorf("export → import elsewhere → import back → export changed the document:\n%s", again)
			}
		})
	}
	usage, err := b.metering.QueryUsage(ctx, &meteringv1.QueryUsageRequest{CustomerId: acmeB, MeterKey: "bandwidth", Period: may})
	must(t, err)
	if usage.GetTotal() != "12.5" {
		t.Errorf("usage in the other installation %s, want 12.5", usage.GetTotal())
	}
}

// TestLargeExport ingests 100,000 events of one customer in May on
// PostgreSQL and downloads the report over HTTP: the download is the
// canonical document of those events, byte for byte, streamed (the
// buffered ExportReport refuses a report this large instead of failing).
func TestLargeExport(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	in := install(t, storagetest.EmptyPostgres(t))
	id := in.customer(t, "crm-big", "Big")
	const n, batch = 100_000, 10_000
	want := report.Report{CustomerID: id, CustomerExternalID: "crm-big", Start: may.GetStart().AsTime(), End: may.GetEnd().AsTime()}
	for start := 0; start < n; start += batch {
		var events []*meteringv1.UsageEvent
		for i := start; i < start+batch; i++ {
			at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 5 * time.Second)
			key := fmt.Sprintf("e%06d", i)
			events = append(events, &meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth", Quantity: "0.25", Time: timestamppb.New(at), IdempotencyKey: key})
			want.Events = append(want.Events, report.Event{CustomerID: id, CustomerExternalID: "crm-big", Meter: "bandwidth", Quantity: "0.25", Time: at, IdempotencyKey: key})
		}
		res, err := in.metering.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: events})
		must(t, err)
		if res.GetAccepted() != batch {
			t.Fatalf("ingest: %d accepted", res.GetAccepted())
		}
	}
	var encoded bytes.Buffer
	must(t, report.Encode(&encoded, want, report.JSON))

	_, err := in.metering.ExportReport(ctx, &meteringv1.ExportReportRequest{CustomerId: id, Period: may})
	if status.Code(err) != codes.FailedPrecondition {
		t.Errorf("the buffered export of %d bytes: %v, want FAILED_PRECONDITION", encoded.Len(), err)
	}

	q := url.Values{"customerId": {id}, "period.start": {"2026-05-01T00:00:00Z"}, "period.end": {"2026-06-01T00:00:00Z"}, "format": {"REPORT_FORMAT_JSON"}}
	res, err := http.Get("http://" + in.srv.HTTPAddr() + "/v1/usageReports:download?" + q.Encode())
	must(t, err)
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	must(t, err)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("download: %s, %s", res.Status, res.Header.Get("Content-Type"))
	}
	if !bytes.Equal(got, encoded.Bytes()) {
		t.Errorf("the download (%d bytes) is not the canonical report (%d bytes)", len(got), encoded.Len())
	}

	// Over gRPC, the chunks are the document.
	stream, err := in.metering.ExportUsageReportStream(ctx, &meteringv1.ExportUsageReportStreamRequest{CustomerId: id, Period: may})
	must(t, err)
	var chunks int
	var doc bytes.Buffer
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		must(t, err)
		chunks++
		doc.Write(msg.GetData())
	}
	if chunks < 2 || !bytes.Equal(doc.Bytes(), encoded.Bytes()) {
		t.Errorf("%d chunks of %d bytes, want several making the canonical report", chunks, doc.Len())
	}

	// An error is an HTTP status when nothing was sent yet.
	res, err = http.Get("http://" + in.srv.HTTPAddr() + "/v1/usageReports:download?customerId=" + id)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("a download without a period: %s", res.Status)
	}

	// The document, larger than a request may be, uploads whole: every
	// event is a duplicate of the one it was exported from.
	if len(got) <= 16<<20 {
		t.Fatalf("the document has %d bytes, no more than a plain request may have; the upload proves nothing", len(got))
	}
	res, err = http.Post("http://"+in.srv.HTTPAddr()+"/v1/usageReports:upload?format=REPORT_FORMAT_JSON", "application/json", bytes.NewReader(got))
	must(t, err)
	var imported struct{ Accepted, Duplicates, Rejected int }
	must(t, json.NewDecoder(res.Body).Decode(&imported))
	res.Body.Close()
	if res.StatusCode != http.StatusOK || imported.Duplicates != n || imported.Accepted != 0 || imported.Rejected != 0 {
		t.Errorf("upload of the download: %s %+v, want %d duplicates", res.Status, imported, n)
	}
	// Over gRPC too, in chunks.
	up, err := in.metering.ImportUsageReportStream(ctx)
	must(t, err)
	for chunk := range slices.Chunk(got, 1<<20) {
		must(t, up.Send(&meteringv1.ImportUsageReportStreamRequest{Data: chunk}))
	}
	sum, err := up.CloseAndRecv()
	must(t, err)
	if sum.GetDuplicates() != n {
		t.Errorf("streamed import of the download: %v, want %d duplicates", sum, n)
	}
	// A document over the report's size limit is refused whole.
	huge := io.MultiReader(bytes.NewReader(got), bytes.NewReader(got), bytes.NewReader(got))
	res, err = http.Post("http://"+in.srv.HTTPAddr()+"/v1/usageReports:upload", "application/json", huge)
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("upload of %d bytes: %s, want 413", 3*len(got), res.Status)
	}
}
