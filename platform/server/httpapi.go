package server

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meterplane/meterplane/gen"
	"github.com/meterplane/meterplane/platform/apidocs"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/telemetry"
)

// The HTTP server's timeouts besides the per-request one
// (MP_HTTP_REQUEST_TIMEOUT). readTimeout bounds reading a whole request,
// body included: an upload of 64 MiB needs about 110 KB/s. The streaming
// downloads, which read no body, lift it (see bound).
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 10 * time.Minute
	idleTimeout       = 2 * time.Minute
)

// newHTTP returns the HTTP server of services, whose gRPC APIs conn
// connects to (the server's own listener in a service binary, each
// service's process in the gateway): the grpc-gateway routes, /healthz,
// readyz at /readyz, /metrics, the services' OpenAPI document at
// /openapi.json and its reference page at /docs, behind the body limits,
// CORS and the timeouts.
func newHTTP(ctx context.Context, cfg config.Config, tel *telemetry.Telemetry, services []Service, conn func(Service) *grpc.ClientConn, readyz http.HandlerFunc) (*http.Server, error) {
	var rawBodies, names []string
	uploads := map[string]int64{}
	unbounded := map[string]bool{}
	for _, svc := range services {
		names = append(names, svc.Name)
		rawBodies = append(rawBodies, svc.RawBodies...)
		maps.Copy(uploads, svc.Uploads)
		for path := range svc.Uploads {
			unbounded[path] = true
		}
		for _, path := range svc.Streams {
			unbounded[path] = true
		}
	}
	gw := newGateway(rawBodies)
	for _, svc := range services {
		if err := svc.RegisterGateway(ctx, gw, conn(svc)); err != nil {
			return nil, fmt.Errorf("%s gateway: %w", svc.Name, err)
		}
	}
	spec, err := gen.OpenAPI(names...)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/", gw)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", readyz)
	mux.Handle("GET /metrics", tel.Metrics)
	mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(spec)
	})
	apidocs.Register(mux)
	timeout := cfg.HTTPRequestTimeout
	if timeout <= 0 {
		timeout = config.DefaultHTTPRequestTimeout
	}
	handler := cors(cfg.CORSOrigins, guardHTTP(int64(maxBytes(cfg)), uploads, bound(timeout, unbounded, notePattern(mux))))
	return &http.Server{
		Handler: otelhttp.NewHandler(labelRoutes(handler), "http",
			otelhttp.WithMeterProvider(tel.MeterProvider), otelhttp.WithTracerProvider(tel.TracerProvider)),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
	}, nil
}

// bound gives each call a deadline timeout away, except the calls of the
// unbounded paths (uploads and streaming downloads): the gateway's gRPC
// call then ends with DEADLINE_EXCEEDED, which it answers 504 with the
// error as JSON, and the deadline travels with the call, so that the
// service stops working on it too. A streaming download also lifts the
// server's read timeout, which would otherwise cancel it (it reads no
// body).
func bound(timeout time.Duration, unbounded map[string]bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unbounded[r.URL.Path] {
			if r.Method == http.MethodGet {
				http.NewResponseController(w).SetReadDeadline(time.Time{})
			}
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// The CORS answers: the methods of the API's routes, and the request
// headers a browser page sends (the API key and the JSON body's type).
const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type"
	corsMaxAge  = "600"
)

// cors lets browser pages of the origins (or of any origin with "*")
// call the API: it answers their preflight requests itself (204, or 403
// for another origin) and allows their calls' responses to be read. With
// no origins it adds nothing, and browsers keep pages of other origins
// from reading the API's responses.
func cors(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	allowed := map[string]bool{}
	for _, o := range origins {
		allowed[strings.TrimSuffix(o, "/")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		ok := origin != "" && (allowed["*"] || allowed[origin])
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			if !ok {
				writeStatus(w, http.StatusForbidden, status.Newf(codes.PermissionDenied, "origin %q may not call this API (MP_CORS_ORIGINS)", origin))
				return
			}
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if ok {
			h.Set("Access-Control-Allow-Origin", origin)
		}
		next.ServeHTTP(w, r)
	})
}
