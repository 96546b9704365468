package main_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// receiver is an OTLP trace receiver: it keeps every span exported to it,
// with the service.name of the process that sent it.
type receiver struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []span
}

type span struct {
	service string
	*tracepb.Span
}

func (r *receiver) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := attr(rs.GetResource().GetAttributes(), "service.name")
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				r.spans = append(r.spans, span{service: service, Span: s})
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// trace returns the spans of one trace received so far.
func (r *receiver) trace(id []byte) []span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []span
	for _, s := range r.spans {
		if string(s.GetTraceId()) == string(id) {
			out = append(out, s)
		}
	}
	return out
}

func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.GetKey() == key {
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// TestTraceAcrossProcesses runs catalog, subscription and quota as
// processes of their own on PostgreSQL and Redis, exporting traces to a
// receiver in the test. One CheckQuota of a customer quota has not seen
// yet is one trace: the quota server's span under the caller's, the
// quota client's call to subscription for the customer's entitlements
// with the subscription server's span under it (the context crossed
// between the processes as a W3C traceparent), subscription's PostgreSQL
// statements and quota's Redis scripts. Over HTTP, the gateway's span is
// the root of the gRPC call's.
func TestTraceAcrossProcesses(t *testing.T) {
	ctx := t.Context()
	recv := &receiver{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, recv)
	go srv.Serve(l)
	t.Cleanup(srv.Stop)

	rdb := redistest.New(t)
	env := []string{"DATABASE_URL=" + storagetest.EmptyPostgres(t), "MP_DB_MAX_CONNS=4",
		fmt.Sprintf("REDIS_URL=%s/%d", strings.TrimSuffix(redistest.URL(), "/"), rdb.Options().DB),
		"OTEL_EXPORTER_OTLP_ENDPOINT=http://" + l.Addr().String(), "OTEL_BSP_SCHEDULE_DELAY=100"}
	catalog := apptest.Start(t, catalogBin, env, "--demo")
	sub := apptest.Start(t, subscriptionBin, append(env, "MP_CATALOG_ADDR="+catalog.GRPCAddr))
	q := apptest.Start(t, quotaBin, append(env, "MP_CATALOG_ADDR="+catalog.GRPCAddr, "MP_SUBSCRIPTION_ADDR="+sub.GRPCAddr))

	subs := subscriptionv1.NewSubscriptionServiceClient(dial(t, sub.GRPCAddr))
	cus, err := subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Traced Ltd", Currency: "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	id := cus.GetCustomer().GetCustomerId()
	if _, err := subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50"}); err != nil {
		t.Fatal(err)
	}

	// The caller's span, as a traced client would send it.
	traceID, _ := hex.DecodeString("5b8efff798038103d269b633813fc60c")
	callerSpan := "eee19b7ec3c1b174"
	callCtx := metadata.AppendToOutgoingContext(ctx, "traceparent", "00-"+hex.EncodeToString(traceID)+"-"+callerSpan+"-01")
	res, err := quotav1.NewQuotaServiceClient(dial(t, q.GRPCAddr)).CheckQuota(callCtx,
		&quotav1.CheckQuotaRequest{CustomerId: id, Items: []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}})
	if err != nil || !res.GetAllowed() {
		t.Fatalf("CheckQuota: %v, %v", res, err)
	}

	// This quota process runs without MP_METERING_ADDR: what needs
	// metering (the use of the plan's bandwidth counter) is Unavailable,
	// not an internal error.
	_, err = quotav1.NewQuotaServiceClient(dial(t, q.GRPCAddr)).GetQuotaStatus(ctx, &quotav1.GetQuotaStatusRequest{CustomerId: id})
	if status.Code(err) != codes.Unavailable {
		t.Errorf("GetQuotaStatus without MP_METERING_ADDR: %v, want Unavailable", err)
	}

	// The same check over HTTP, from a caller with a trace.
	httpTrace, _ := hex.DecodeString("0af7651916cd43dd8448eb211c80319c")
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+q.HTTPAddr+"/v1/customers/"+id+"/quota:check",
		strings.NewReader(`{"items": [{"featureKey": "sites", "quantity": "1"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", "00-"+hex.EncodeToString(httpTrace)+"-b7ad6b7169203331-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST quota:check: %d %s; quota's log:\n%s", resp.StatusCode, body, q.Log())
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if gatewayTrace(recv.trace(httpTrace), "b7ad6b7169203331") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the HTTP call's trace lacks the gateway's span over the gRPC call's: %v", recv.trace(httpTrace))
		}
	}

	var missing []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		spans := recv.trace(traceID)
		var got []string
		for _, s := range spans {
			got = append(got, fmt.Sprintf("%s: %s %s (span %x, parent %x)", s.service, s.GetKind(), s.GetName(), s.GetSpanId(), s.GetParentSpanId()))
		}
		if missing = checkTrace(spans, callerSpan); len(missing) == 0 {
			t.Logf("the trace:\n%s", strings.Join(got, "\n"))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the trace lacks %v; it has:\n%s", missing, strings.Join(got, "\n"))
		}
	}
}

// gatewayTrace reports whether the spans hold the HTTP gateway's server
// span under the caller's, the gateway's gRPC client span under it, and
// the CheckQuota server span under that.
func gatewayTrace(spans []span, callerSpan string) bool {
	var gateway, client []byte
	for _, s := range spans {
		if s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && hex.EncodeToString(s.GetParentSpanId()) == callerSpan {
			gateway = s.GetSpanId()
		}
	}
	for _, s := range spans {
		if gateway != nil && s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && string(s.GetParentSpanId()) == string(gateway) &&
			s.GetName() == "meterplane.quota.v1.QuotaService/CheckQuota" {
			client = s.GetSpanId()
		}
	}
	for _, s := range spans {
		if client != nil && s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && string(s.GetParentSpanId()) == string(client) &&
			s.service == "quota" {
			return true
		}
	}
	return false
}

// checkTrace says what the trace of the CheckQuota lacks.
func checkTrace(spans []span, callerSpan string) []string {
	byID := map[string]span{}
	for _, s := range spans {
		byID[string(s.GetSpanId())] = s
	}
	var quotaServer, crossing, postgres, redis bool
	for _, s := range spans {
		parent, hasParent := byID[string(s.GetParentSpanId())]
		switch {
		case s.service == "quota" && s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && s.GetName() == "meterplane.quota.v1.QuotaService/CheckQuota":
			quotaServer = hex.EncodeToString(s.GetParentSpanId()) == callerSpan
		case s.service == "subscription" && s.GetKind() == tracepb.Span_SPAN_KIND_SERVER && hasParent:
			// The parent is quota's client span of the same call.
			crossing = crossing || (parent.service == "quota" && parent.GetKind() == tracepb.Span_SPAN_KIND_CLIENT &&
				parent.GetName() == s.GetName())
		}
		switch attr(s.GetAttributes(), "db.system") {
		case "postgresql":
			postgres = postgres || (s.GetKind() == tracepb.Span_SPAN_KIND_CLIENT && hasParent)
		case "redis":
			redis = redis || (s.service == "quota" && hasParent)
		}
	}
	var missing []string
	for what, ok := range map[string]bool{"quota's CheckQuota server span under the caller's": quotaServer,
		"a subscription server span under quota's client span": crossing, "a PostgreSQL span": postgres, "a Redis span of quota": redis} {
		if !ok {
			missing = append(missing, what)
		}
	}
	return missing
}
