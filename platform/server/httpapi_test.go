package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/server/servertest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/platform/telemetry"
)

// Paths of the HTTP tests' hand-registered routes: one declared an upload
// and one a stream, which the request timeout must not bound, and one
// plain route, which it must.
const (
	slowUploadPath = "/v1/test:upload"
	slowStreamPath = "/v1/test:download"
	slowPlainPath  = "/v1/test:plain"
)

// httpCatalog answers ListPlans with the Authorization metadata it was
// called with (as the next page token) unless the currency is "slow",
// when it waits for the call's end; CreateFeature refuses the key.
type httpCatalog struct {
	catalogv1.UnimplementedCatalogServiceServer
	hadDeadline atomic.Bool
}

func (f *httpCatalog) ListPlans(ctx context.Context, req *catalogv1.ListPlansRequest) (*catalogv1.ListPlansResponse, error) {
	if req.GetCurrency() == "slow" {
		_, ok := ctx.Deadline()
		f.hadDeadline.Store(ok)
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	md, _ := metadata.FromIncomingContext(ctx)
	return &catalogv1.ListPlansResponse{NextPageToken: strings.Join(md.Get("authorization"), ",")}, nil
}

func (f *httpCatalog) CreateFeature(ctx context.Context, req *catalogv1.CreateFeatureRequest) (*catalogv1.CreateFeatureResponse, error) {
	return nil, errs.Field("feature.key", "must be lower snake case")
}

// httpService is a catalog served by fake, with the slow routes.
func httpService(t *testing.T, fake *httpCatalog) server.Service {
	return server.Service{
		Name: "catalog", GRPCName: catalogv1.CatalogService_ServiceDesc.ServiceName,
		DB:       storagetest.SQLite(t, "catalog", fstest.MapFS{}),
		Register: func(s *grpc.Server) { catalogv1.RegisterCatalogServiceServer(s, fake) },
		RegisterGateway: func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			if err := catalogv1.RegisterCatalogServiceHandler(ctx, mux, conn); err != nil {
				return err
			}
			// Each answers whether its call has a deadline, after longer
			// than the tests' timeout.
			for _, p := range []string{slowUploadPath, slowStreamPath, slowPlainPath} {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					if err := mux.HandlePath(method, p, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
						_, ok := r.Context().Deadline()
						time.Sleep(300 * time.Millisecond)
						json.NewEncoder(w).Encode(map[string]bool{"deadline": ok})
					}); err != nil {
						return err
					}
				}
			}
			return nil
		},
		Uploads: map[string]int64{slowUploadPath: 1 << 20},
		Streams: []string{slowStreamPath},
	}
}

func do(t *testing.T, method, url string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// TestOpenAPIAndDocs checks /openapi.json (the hosted services' paths
// only, with the Bearer scheme) and /docs (the page and its embedded
// renderer).
func TestOpenAPIAndDocs(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, httpService(t, &httpCatalog{}))
	base := "http://" + srv.HTTPAddr()

	resp, raw := do(t, "GET", base+"/openapi.json", nil, "")
	var doc struct {
		Paths   map[string]any            `json:"paths"`
		SecDefs map[string]map[string]any `json:"securityDefinitions"`
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(raw, &doc) != nil {
		t.Fatalf("GET /openapi.json = %d %s: %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	if doc.Paths["/v1/plans"] == nil || doc.Paths["/v1/customers"] != nil || doc.SecDefs["Bearer"]["name"] != "Authorization" {
		t.Errorf("a catalog's document: paths %d, /v1/customers %v, security %v", len(doc.Paths), doc.Paths["/v1/customers"] != nil, doc.SecDefs)
	}

	resp, raw = do(t, "GET", base+"/docs", nil, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(raw), `src="docs/redoc.standalone.js"`) || !strings.Contains(string(raw), `Redoc.init("openapi.json"`) {
		t.Errorf("GET /docs = %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	resp, raw = do(t, "GET", base+"/docs/redoc.standalone.js", nil, "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") || len(raw) < 500_000 {
		t.Errorf("GET /docs/redoc.standalone.js = %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(raw))
	}
}

// TestCORS checks preflights and calls from an allowed origin, another
// origin, and with CORS off.
func TestCORS(t *testing.T) {
	t.Parallel()
	srv := servertest.StartConfig(t, config.Config{CORSOrigins: []string{"https://app.example.com"}}, httpService(t, &httpCatalog{}))
	base := "http://" + srv.HTTPAddr()
	preflight := func(base, origin string) (*http.Response, []byte) {
		return do(t, "OPTIONS", base+"/v1/plans", map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}, "")
	}

	resp, raw := preflight(base, "https://app.example.com")
	h := resp.Header
	if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || !strings.Contains(h.Get("Access-Control-Allow-Methods"), "DELETE") ||
		!strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Content-Type") ||
		h.Get("Access-Control-Max-Age") == "" || !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Errorf("allowed preflight = %d %v %s", resp.StatusCode, h, raw)
	}
	resp, raw = preflight(base, "https://evil.example.com")
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
		!strings.Contains(string(raw), `"code":7`) || !strings.Contains(string(raw), "MP_CORS_ORIGINS") {
		t.Errorf("preflight of another origin = %d %v %s", resp.StatusCode, resp.Header, raw)
	}

	resp, raw = do(t, "GET", base+"/v1/plans", map[string]string{"Origin": "https://app.example.com"}, "")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("call from the allowed origin = %d %v %s", resp.StatusCode, resp.Header, raw)
	}
	resp, _ = do(t, "GET", base+"/v1/plans", map[string]string{"Origin": "https://evil.example.com"}, "")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("call from another origin = %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	off := servertest.Start(t, httpService(t, &httpCatalog{}))
	resp, _ = preflight("http://"+off.HTTPAddr(), "https://app.example.com")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("with CORS off, a preflight got %d %v", resp.StatusCode, resp.Header)
	}
}

// TestRequestTimeout checks that a unary call past MP_HTTP_REQUEST_TIMEOUT
// is answered 504 with the error as JSON, its deadline reaching the
// service, and that upload and stream routes have no deadline.
func TestRequestTimeout(t *testing.T) {
	t.Parallel()
	fake := &httpCatalog{}
	srv := servertest.StartConfig(t, config.Config{HTTPRequestTimeout: 200 * time.Millisecond}, httpService(t, fake))
	base := "http://" + srv.HTTPAddr()

	start := time.Now()
	resp, raw := do(t, "GET", base+"/v1/plans?currency=slow", nil, "")
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if resp.StatusCode != http.StatusGatewayTimeout || json.Unmarshal(raw, &st) != nil || st.Code != 4 {
		t.Errorf("slow call = %d %s, want 504 with DEADLINE_EXCEEDED (4) as JSON", resp.StatusCode, raw)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("slow call took %v", d)
	}
	if !fake.hadDeadline.Load() {
		t.Error("the service's call had no deadline")
	}

	for _, tc := range []struct {
		method, path string
		deadline     bool
	}{{"POST", slowUploadPath, false}, {"GET", slowStreamPath, false}, {"GET", slowPlainPath, true}} {
		resp, raw := do(t, tc.method, base+tc.path, nil, "")
		var got map[string]bool
		if resp.StatusCode != 200 || json.Unmarshal(raw, &got) != nil || got["deadline"] != tc.deadline {
			t.Errorf("%s %s = %d %s, want deadline %v", tc.method, tc.path, resp.StatusCode, raw, tc.deadline)
		}
	}
}

// TestGateway serves a catalog over HTTP from another server's gRPC:
// routes, field violations, the Authorization header passed on as
// metadata, and readiness that follows the service's.
func TestGateway(t *testing.T) {
	t.Parallel()
	tel, err := telemetry.Setup(context.Background(), "test", "")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}
	svc := httpService(t, &httpCatalog{})
	backend, err := server.New(context.Background(), cfg, log, tel, []server.Service{svc}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopBackend := serve(t, backend.Serve)

	conn, err := grpc.NewClient(backend.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	remote := svc
	remote.DB, remote.Register = nil, nil // the gateway's view: the HTTP side only
	gw, err := server.NewGateway(context.Background(), cfg, log, tel, []server.Remote{{Service: remote, Conn: conn}})
	if err != nil {
		t.Fatal(err)
	}
	stopGateway := serve(t, gw.Serve)
	t.Cleanup(func() { stopGateway() })
	base := "http://" + gw.HTTPAddr()

	resp, raw := do(t, "GET", base+"/v1/plans", map[string]string{"Authorization": "Bearer mp_test"}, "")
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"nextPageToken":"Bearer mp_test"`) {
		t.Errorf("GET /v1/plans through the gateway = %d %s, want the Authorization header as metadata", resp.StatusCode, raw)
	}
	resp, raw = do(t, "POST", base+"/v1/features", nil, `{"feature":{"key":"Bad Key"}}`)
	if resp.StatusCode != 400 || !strings.Contains(string(raw), `"field":"feature.key"`) || !strings.Contains(string(raw), `"code":3`) {
		t.Errorf("POST /v1/features through the gateway = %d %s, want 400 with the field violation", resp.StatusCode, raw)
	}
	for _, p := range []string{"/healthz", "/metrics", "/openapi.json", "/docs", "/readyz"} {
		if resp, raw := do(t, "GET", base+p, nil, ""); resp.StatusCode != 200 {
			t.Errorf("GET %s = %d %s", p, resp.StatusCode, raw)
		}
	}

	stopBackend()
	if resp, raw := do(t, "GET", base+"/readyz", nil, ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz with the backend stopped = %d %s", resp.StatusCode, raw)
	}
	if resp, raw := do(t, "GET", base+"/v1/plans", nil, ""); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(raw), `"code":14`) {
		t.Errorf("GET /v1/plans with the backend stopped = %d %s, want 503 UNAVAILABLE", resp.StatusCode, raw)
	}
}

// serve runs fn until the returned stop is called (at most once), which
// requires it to return no error.
func serve(t *testing.T, fn func(context.Context) error) func() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var stopped atomic.Bool
	stop := func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}
