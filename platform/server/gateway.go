package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/telemetry"
)

// Remote is a service that another process hosts, as the gateway serves
// it: the service's HTTP side (Name, GRPCName, RegisterGateway, Uploads,
// Streams and RawBodies; the rest is unused) and a connection to the
// process.
type Remote struct {
	Service Service
	Conn    *grpc.ClientConn
}

// Gateway serves the HTTP/JSON API of services that other processes host,
// exactly as a service binary serves its own (the same routes, limits,
// errors, CORS, timeouts, /openapi.json and /docs), by calling them over
// gRPC; it forwards the Authorization header as gRPC metadata, and the
// services check it. /readyz is ready when every service answers its
// health check SERVING.
type Gateway struct {
	cfg      config.Config
	log      *slog.Logger
	tel      *telemetry.Telemetry
	remotes  []Remote
	lis      net.Listener
	http     *http.Server
	stopping atomic.Bool
}

// NewGateway binds the HTTP listener and registers the remotes' routes.
// The connections are the caller's to close.
func NewGateway(ctx context.Context, cfg config.Config, log *slog.Logger, tel *telemetry.Telemetry, remotes []Remote) (*Gateway, error) {
	g := &Gateway{cfg: cfg, log: log, tel: tel, remotes: remotes}
	services := make([]Service, len(remotes))
	conns := map[string]*grpc.ClientConn{}
	for i, r := range remotes {
		services[i] = r.Service
		conns[r.Service.Name] = r.Conn
	}
	tlsConfig, err := serverTLS(cfg)
	if err != nil {
		return nil, err
	}
	if g.lis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listen HTTP: %w", err)
	}
	if g.http, err = newHTTP(ctx, cfg, tel, services, func(s Service) *grpc.ClientConn { return conns[s.Name] }, g.readyz); err != nil {
		g.lis.Close()
		return nil, err
	}
	g.http.TLSConfig = tlsConfig
	return g, nil
}

// HTTPAddr is the bound HTTP address.
func (g *Gateway) HTTPAddr() string { return g.lis.Addr().String() }

// readyz answers 200 when every remote service answers its health check
// SERVING within two seconds, and 503 naming those that do not.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	errs := make([]error, len(g.remotes))
	var wg sync.WaitGroup
	for i, rem := range g.remotes {
		wg.Go(func() {
			res, err := healthpb.NewHealthClient(rem.Conn).Check(ctx, &healthpb.HealthCheckRequest{Service: rem.Service.GRPCName})
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("%s: %w", rem.Service.Name, err)
			case res.GetStatus() != healthpb.HealthCheckResponse_SERVING:
				errs[i] = fmt.Errorf("%s: %s", rem.Service.Name, res.GetStatus())
			}
		})
	}
	wg.Wait()
	if g.stopping.Load() {
		errs = append(errs, errors.New("shutting down"))
	}
	if err := errors.Join(errs...); err != nil {
		g.log.WarnContext(ctx, "not ready", "err", err)
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// Serve serves until ctx is done, then drains HTTP within the shutdown
// timeout and flushes telemetry.
func (g *Gateway) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- serveHTTP(g.http, g.lis) }()
	g.log.InfoContext(ctx, "serving", "http", g.HTTPAddr())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	g.log.Info("shutting down")
	g.stopping.Store(true)
	stopCtx, cancel := context.WithTimeout(context.Background(), g.cfg.ShutdownTimeout)
	defer cancel()
	if err := g.http.Shutdown(stopCtx); err != nil {
		g.log.Warn("HTTP shutdown", "err", err)
	}
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelFlush()
	if err := g.tel.Shutdown(flushCtx); err != nil {
		g.log.Warn("flush telemetry", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}
