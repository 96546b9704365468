// Package app is the body of every Meterplane binary: it loads the
// configuration, sets up logging, telemetry, Redis and the services, serves
// them until the context ends, and optionally seeds demo data.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/telemetry"
)

// Deps is what a service needs to open itself.
type Deps struct {
	Config config.Config
	Clock  clock.Clock
	Redis  *redisx.Redis
	Log    *slog.Logger
	// Catalog is a connection to the catalog service: MP_CATALOG_ADDR, or
	// this binary's own server.
	Catalog grpc.ClientConnInterface
	// Subscription is a connection to the subscription service:
	// MP_SUBSCRIPTION_ADDR, or this binary's own server.
	Subscription grpc.ClientConnInterface
	// Metering is a connection to the metering service: MP_METERING_ADDR,
	// or this binary's own server.
	Metering grpc.ClientConnInterface
}

// Storage returns the storage options of the named service.
func (d Deps) Storage(service string) storage.Options {
	return storage.Options{Service: service, URL: d.Config.DatabaseURL, Dir: d.Config.DataDir, MaxConns: d.Config.DBMaxConns}
}

// Binary describes one binary.
type Binary struct {
	// Name of the binary, for logs and telemetry.
	Name string
	// Open opens the services the binary hosts.
	Open func(ctx context.Context, d Deps) ([]server.Service, error)
	// Seed, if set, seeds demo data through conn when --demo is given.
	Seed func(ctx context.Context, conn *grpc.ClientConn) error
	// Gateway, if set instead of Open, makes the binary the HTTP gateway
	// of these services (their HTTP side, such as catalog.Gateway()),
	// which it calls at their addresses (MP_CATALOG_ADDR, ...; see
	// runGateway).
	Gateway []server.Service
}

// Run runs the binary with the given arguments and environment until ctx
// ends. It returns the first error that stops it, and nil at once after
// printing the usage for --help.
func Run(ctx context.Context, b Binary, args []string, getenv func(string) string) error {
	cfg, err := config.Load(args, getenv)
	if errors.Is(err, config.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log, err := telemetry.NewLogger(os.Stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	slog.SetDefault(log)
	log.Info("starting "+b.Name, "config", cfg)

	tel, err := telemetry.Setup(ctx, b.Name, cfg.OTLPEndpoint)
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		servePprof(ctx, log, cfg.PprofAddr)
	}
	if b.Gateway != nil {
		return runGateway(ctx, b, cfg, log, tel)
	}
	rdb, err := redisx.Open(ctx, cfg.RedisURL)
	if err != nil {
		return err
	}
	closers := []func() error{rdb.Close}
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	if cfg.ServiceKey == "" && !cfg.MigrateOnly {
		if cfg.CatalogAddr != "" || cfg.SubscriptionAddr != "" || cfg.MeteringAddr != "" {
			closeAll()
			return errors.New("MP_SERVICE_KEY must be set, the same for every service, when services run in separate processes")
		}
		cfg.ServiceKey = auth.NewToken(auth.ServiceKeyID) // one process: its own calls only
	}
	peerCreds, secure, err := server.PeerCreds(cfg)
	if err != nil {
		closeAll()
		return err
	}
	self := &SelfConn{}
	deps := Deps{Config: cfg, Clock: clock.System{}, Redis: rdb, Log: log, Catalog: unsetPeer{self, "catalog"},
		Subscription: unsetPeer{self, "subscription"}, Metering: unsetPeer{self, "metering"}}
	for _, peer := range []struct {
		name, addr string
		conn       *grpc.ClientConnInterface
	}{{"catalog", cfg.CatalogAddr, &deps.Catalog}, {"subscription", cfg.SubscriptionAddr, &deps.Subscription},
		{"metering", cfg.MeteringAddr, &deps.Metering}} {
		if peer.addr == "" {
			continue
		}
		conn, err := grpc.NewClient(peer.addr, peerCreds,
			grpc.WithPerRPCCredentials(auth.Credential{Token: cfg.ServiceKey, Secure: secure}),
			grpc.WithStatsHandler(otelgrpc.NewClientHandler()), server.CallLimits(cfg))
		if err != nil {
			closeAll()
			return fmt.Errorf("%s client: %w", peer.name, err)
		}
		*peer.conn = conn
		closers = append(closers, conn.Close)
	}
	services, err := b.Open(ctx, deps)
	if err != nil {
		closeAll()
		return err
	}
	if cfg.MigrateOnly {
		return migrated(log, tel, services, closeAll)
	}
	srv, err := server.New(ctx, cfg, log, tel, services, &server.Auth{Verifier: verifier(cfg, deps, services), ServiceKey: cfg.ServiceKey},
		[]server.Check{func(ctx context.Context) error { return rdb.Ping(ctx).Err() }},
		closers)
	if err != nil {
		closeAll()
		return err
	}
	self.Set(srv.Conn())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	if cfg.Demo && b.Seed != nil {
		if err := b.Seed(ctx, srv.Conn()); err != nil {
			cancel()
			<-done
			return fmt.Errorf("demo seed: %w", err)
		}
		log.Info("demo data seeded")
	}
	return <-done
}

// verifier is how the binary verifies API keys: in this process if it
// hosts the service that owns them, else through that service.
func verifier(cfg config.Config, d Deps, services []server.Service) auth.Verifier {
	for _, svc := range services {
		if svc.Keys != nil {
			return svc.Keys
		}
	}
	if cfg.SubscriptionAddr == "" {
		return auth.VerifierFunc(func(context.Context, string) (auth.Caller, error) {
			return auth.Caller{}, errs.New(errs.Unauthenticated,
				"this process admits only the service credential: set MP_SUBSCRIPTION_ADDR for it to verify API keys")
		})
	}
	return auth.NewCache(auth.Remote(d.Subscription))
}

// migrated ends a --migrate-only run: opening the services migrated their
// schemas, so it closes them and what they used, and flushes telemetry.
func migrated(log *slog.Logger, tel *telemetry.Telemetry, services []server.Service, closeAll func()) error {
	var failed []error
	for _, svc := range services {
		if err := svc.DB.Close(); err != nil {
			failed = append(failed, fmt.Errorf("close %s database: %w", svc.Name, err))
		}
	}
	closeAll()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.Warn("flush telemetry", "err", err)
	}
	if err := errors.Join(failed...); err != nil {
		return err
	}
	log.Info("database schemas migrated; exiting (--migrate-only)", "services", len(services))
	return nil
}

// servePprof serves Go's profiles on addr until ctx ends, on a mux of its
// own, so that they are never reachable through the API's listener.
func servePprof(ctx context.Context, log *slog.Logger, addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server", "addr", addr, "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Warn("serving Go profiles; for profiling only", "pprof_addr", addr)
}
