// Package server is the one gRPC and HTTP server every Meterplane binary
// runs: it binds its listeners in New, hosts one or more services with
// health, reflection, error mapping, panic recovery, idempotent replay,
// request logging and OpenTelemetry, serves the grpc-gateway HTTP/JSON API
// with /healthz, /readyz and /metrics beside it, runs the services'
// background workers, and shuts down in order.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/meterplane/meterplane/gen"
	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/telemetry"
)

// Check is a readiness check of a dependency, such as a Redis ping.
type Check func(context.Context) error

// Server hosts services over gRPC and HTTP.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	tel      *telemetry.Telemetry
	services []Service
	checks   []Check
	closers  []func() error

	grpcLis, httpLis net.Listener
	grpc             *grpc.Server
	health           *health.Server
	http             *http.Server
	conn             *grpc.ClientConn // with the service credential
	gwConn           *grpc.ClientConn // the gateway's: each call with its client's key
	stopping         atomic.Bool
}

// Auth is how a server knows its callers (see package auth).
type Auth struct {
	// Verifier verifies API keys.
	Verifier auth.Verifier
	// ServiceKey is the service credential: the server admits it as the
	// service role, and Conn sends it with every call.
	ServiceKey string
}

// New binds the listeners and registers the services. Every call needs a
// key that a is satisfied with; a nil a serves without keys, for tests of
// one service. checks are run by /readyz besides each service's database;
// closers run at shutdown after the databases are closed (for example the
// Redis client).
func New(ctx context.Context, cfg config.Config, log *slog.Logger, tel *telemetry.Telemetry, services []Service, a *Auth, checks []Check, closers []func() error) (*Server, error) {
	s := &Server{cfg: cfg, log: log, tel: tel, services: services, checks: checks, closers: closers}
	var err error
	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("listen gRPC: %w", err)
	}
	if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		s.grpcLis.Close()
		return nil, fmt.Errorf("listen HTTP: %w", err)
	}

	dbOf := map[string]*storage.DB{}
	ownKeys := map[string]bool{}
	for _, svc := range services {
		dbOf[svc.GRPCName] = svc.DB
		for _, m := range svc.OwnKeys {
			ownKeys[m] = true
		}
	}

	tlsConfig, err := serverTLS(cfg)
	if err != nil {
		s.closeListeners()
		return nil, err
	}
	limit := maxBytes(cfg)
	check := newChecker(services)
	unary := []grpc.UnaryServerInterceptor{unaryLog(log), UnaryErrors(log)}
	streams := []grpc.StreamServerInterceptor{streamLog(log), streamErrors(log)}
	creds := []grpc.DialOption{selfCreds(tlsConfig)}
	if a != nil {
		guard := auth.NewGuard(a.Verifier, a.ServiceKey)
		unary, streams = append(unary, guard.Unary()), append(streams, guard.Stream())
		creds = append(creds, grpc.WithPerRPCCredentials(auth.Credential{Token: a.ServiceKey, Secure: tlsConfig != nil}))
	}
	var serverCreds []grpc.ServerOption
	if tlsConfig != nil {
		serverCreds = append(serverCreds, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	unary = append(unary, check.unary(), idempotency{dbOf: dbOf, own: ownKeys, lease: idempotencyLease}.unary())
	streams = append(streams, check.stream())
	s.grpc = grpc.NewServer(append(serverCreds,
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithMeterProvider(tel.MeterProvider), otelgrpc.WithTracerProvider(tel.TracerProvider))),
		grpc.ForceServerCodecV2(newCodec()),
		grpc.MaxRecvMsgSize(limit),
		grpc.MaxSendMsgSize(limit),
		// Calls run on long-lived workers whose stacks have grown already,
		// instead of a new goroutine each that grows its stack again (about
		// a tenth of a short call's CPU); past them grpc-go starts a
		// goroutine as before.
		grpc.NumStreamWorkers(streamWorkers),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(streams...),
	)...)
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if err := registerReflection(s.grpc); err != nil {
		s.closeListeners()
		return nil, err
	}
	for _, svc := range services {
		svc.Register(s.grpc)
		s.health.SetServingStatus(svc.GRPCName, healthpb.HealthCheckResponse_SERVING)
	}

	s.conn, err = grpc.NewClient(s.grpcLis.Addr().String(),
		append(creds, grpc.WithStatsHandler(otelgrpc.NewClientHandler()), CallLimits(cfg))...)
	if err != nil {
		s.closeListeners()
		return nil, fmt.Errorf("self client: %w", err)
	}
	s.gwConn, err = grpc.NewClient(s.grpcLis.Addr().String(), selfCreds(tlsConfig),
		grpc.WithStatsHandler(otelgrpc.NewClientHandler()), CallLimits(cfg))
	if err != nil {
		s.conn.Close()
		s.closeListeners()
		return nil, fmt.Errorf("gateway client: %w", err)
	}
	if s.http, err = newHTTP(ctx, cfg, tel, services, func(Service) *grpc.ClientConn { return s.gwConn }, s.readyz); err != nil {
		s.conn.Close()
		s.gwConn.Close()
		s.closeListeners()
		return nil, err
	}
	s.http.TLSConfig = tlsConfig
	return s, nil
}

// streamWorkers is how many goroutines serve gRPC calls, more than a busy
// server's concurrent calls usually are.
const streamWorkers = 64

// maxBytes is the configured request size limit, or its default.
func maxBytes(cfg config.Config) int {
	if cfg.MaxRequestBytes <= 0 {
		return config.DefaultMaxRequestBytes
	}
	return int(cfg.MaxRequestBytes)
}

// CallLimits is the dial option that lets a client of a Meterplane server
// send and receive messages up to the configured request size limit, as
// the server does.
func CallLimits(cfg config.Config) grpc.DialOption {
	limit := maxBytes(cfg)
	return grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(limit), grpc.MaxCallSendMsgSize(limit))
}

// registerReflection serves reflection (v1 and v1alpha) from the embedded
// descriptors, which keep the proto comments, so `grpcurl describe`
// documents every field.
func registerReflection(s *grpc.Server) error {
	files, err := gen.Files()
	if err != nil {
		return fmt.Errorf("reflection descriptors: %w", err)
	}
	// The error details, so that grpcurl shows a BadRequest readably.
	if err := addFile(files, errdetails.File_google_rpc_error_details_proto); err != nil {
		return fmt.Errorf("reflection descriptors: %w", err)
	}
	opts := reflection.ServerOptions{Services: s, DescriptorResolver: files, ExtensionResolver: protoregistry.GlobalTypes}
	reflectionv1.RegisterServerReflectionServer(s, reflection.NewServerV1(opts))
	reflectionv1alpha.RegisterServerReflectionServer(s, reflection.NewServer(opts))
	return nil
}

// addFile adds fd and its imports to files unless they are there already.
func addFile(files *protoregistry.Files, fd protoreflect.FileDescriptor) error {
	if _, err := files.FindFileByPath(fd.Path()); err == nil {
		return nil
	}
	imports := fd.Imports()
	for i := range imports.Len() {
		if err := addFile(files, imports.Get(i).FileDescriptor); err != nil {
			return err
		}
	}
	return files.RegisterFile(fd)
}

// GRPCAddr is the bound gRPC address.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the bound HTTP address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// Conn is a client connection to this server's gRPC listener whose calls
// carry the service credential: for the services' calls to each other and
// the demo seed. The HTTP gateway has its own, on which each call carries
// its client's key.
func (s *Server) Conn() *grpc.ClientConn { return s.conn }

// Services returns the services the server hosts.
func (s *Server) Services() []Service { return s.services }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var errs []error
	if s.stopping.Load() {
		errs = append(errs, errors.New("shutting down"))
	}
	for _, svc := range s.services {
		if err := svc.DB.Ping(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s database: %w", svc.Name, err))
		}
	}
	for _, c := range s.checks {
		errs = append(errs, c(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
}

// Serve serves and runs the services' workers until ctx is done, then
// shuts down in order: health and readiness report NOT_SERVING, HTTP
// drains, gRPC stops gracefully, the workers stop, databases and other
// resources close, telemetry flushes with a fresh timeout. The shutdown
// timeout bounds the draining, stopping and waiting for the workers.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	go func() { errc <- s.grpc.Serve(s.grpcLis) }()
	go func() { errc <- serveHTTP(s.http, s.httpLis) }()
	s.log.InfoContext(ctx, "serving", "grpc", s.GRPCAddr(), "http", s.HTTPAddr())
	// Not ctx: the workers stop after gRPC, whose calls may rely on them.
	workCtx, stopWorkers := context.WithCancel(context.Background())
	defer stopWorkers()
	workers := s.startWorkers(workCtx)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	s.log.Info("shutting down")
	s.stopping.Store(true)
	s.health.Shutdown()

	stopCtx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(stopCtx); err != nil {
		s.log.Warn("HTTP shutdown", "err", err)
	}
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-stopCtx.Done():
		s.log.Warn("gRPC graceful stop timed out; stopping")
		s.grpc.Stop()
	}
	stopWorkers()
	if !wait(stopCtx, workers) {
		s.log.Warn("workers did not stop within the shutdown timeout; closing the databases under them")
	}
	s.conn.Close()
	s.gwConn.Close()
	for _, svc := range s.services {
		if err := svc.DB.Close(); err != nil {
			s.log.Warn("close database", "service", svc.Name, "err", err)
		}
	}
	for _, c := range s.closers {
		if err := c(); err != nil {
			s.log.Warn("close", "err", err)
		}
	}
	flushCtx, cancelFlush := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelFlush()
	if err := s.tel.Shutdown(flushCtx); err != nil {
		s.log.Warn("flush telemetry", "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) && !errors.Is(serveErr, grpc.ErrServerStopped) {
		return serveErr
	}
	return nil
}

// startWorkers starts each service's workers, and the pruner of its
// database (see Prune), with ctx and returns a group
// that is done when they have all returned.
func (s *Server) startWorkers(ctx context.Context) *sync.WaitGroup {
	var wg sync.WaitGroup
	retention := s.cfg.IdempotencyRetention
	if retention <= 0 {
		retention = config.DefaultIdempotencyRetention
	}
	for _, svc := range s.services {
		workers := svc.Workers
		if svc.DB != nil {
			workers = append(slices.Clip(workers), pruner(s.log, svc.Name, svc.DB, retention))
		}
		for i, work := range workers {
			wg.Go(func() {
				err := work(ctx)
				switch {
				case ctx.Err() == nil && err != nil:
					s.log.Error("worker failed", "service", svc.Name, "worker", i, "err", err)
				case ctx.Err() == nil:
					s.log.Info("worker finished", "service", svc.Name, "worker", i)
				case err != nil && !errors.Is(err, context.Canceled):
					s.log.Warn("worker failed at shutdown", "service", svc.Name, "worker", i, "err", err)
				}
			})
		}
	}
	return &wg
}

// wait waits for wg until ctx is done and reports whether wg is done.
func wait(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) closeListeners() {
	s.grpcLis.Close()
	s.httpLis.Close()
}

func unaryLog(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, start, err)
		return resp, err
	}
}

func streamLog(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

// logCall logs successful calls at debug level and failed ones at info.
func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	level := slog.LevelDebug
	if err != nil {
		level = slog.LevelInfo
	}
	// The attributes cost each call a few allocations; most calls log
	// nothing.
	if !log.Enabled(ctx, level) {
		return
	}
	log.LogAttrs(ctx, level, "rpc",
		slog.String("method", method),
		slog.String("code", status.Code(err).String()),
		slog.Duration("duration", time.Since(start)),
		slog.String("trace_id", trace.SpanContextFromContext(ctx).TraceID().String()))
}
