package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"google.golang.org/grpc"

	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/telemetry"
)

// addrSettings are the settings that name each service's gRPC address.
var addrSettings = map[string]string{
	"catalog": "MP_CATALOG_ADDR", "subscription": "MP_SUBSCRIPTION_ADDR", "metering": "MP_METERING_ADDR",
	"quota": "MP_QUOTA_ADDR", "invoice": "MP_INVOICE_ADDR",
}

// serviceAddr returns the configured gRPC address of the named service.
func serviceAddr(cfg config.Config, name string) string {
	return map[string]string{
		"catalog": cfg.CatalogAddr, "subscription": cfg.SubscriptionAddr, "metering": cfg.MeteringAddr,
		"quota": cfg.QuotaAddr, "invoice": cfg.InvoiceAddr,
	}[name]
}

// runGateway runs b as the HTTP gateway of b.Gateway: it connects to
// each service at its configured address, which must be set, and serves
// their HTTP API (server.Gateway) until ctx ends. It opens no database
// and no Redis.
func runGateway(ctx context.Context, b Binary, cfg config.Config, log *slog.Logger, tel *telemetry.Telemetry) error {
	var errs []error
	for _, svc := range b.Gateway {
		if serviceAddr(cfg, svc.Name) == "" {
			errs = append(errs, fmt.Errorf("%s: the %s service's gRPC address must be set", addrSettings[svc.Name], svc.Name))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var remotes []server.Remote
	closeAll := func() {
		for _, r := range remotes {
			r.Conn.Close()
		}
	}
	defer closeAll()
	// The gateway's calls carry their HTTP clients' keys, never the
	// service credential.
	creds, _, err := server.PeerCreds(cfg)
	if err != nil {
		return err
	}
	for _, svc := range b.Gateway {
		conn, err := grpc.NewClient(serviceAddr(cfg, svc.Name), creds,
			grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithMeterProvider(tel.MeterProvider), otelgrpc.WithTracerProvider(tel.TracerProvider))),
			server.CallLimits(cfg))
		if err != nil {
			return fmt.Errorf("%s client: %w", svc.Name, err)
		}
		remotes = append(remotes, server.Remote{Service: svc, Conn: conn})
	}
	gw, err := server.NewGateway(ctx, cfg, log, tel, remotes)
	if err != nil {
		return err
	}
	return gw.Serve(ctx)
}
