// Package invoice assembles the invoice service: its database, the domain
// (billing runs, invoices, credit notes), the gRPC API, the reads of the
// subscription, catalog and metering services, the outbox relay of
// invoice.finalized events and the scheduled billing run, ready for the
// shared server to host. See docs/architecture.md ("Invoice").
package invoice

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"google.golang.org/grpc"

	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/invoice/internal/document"
	"github.com/meterplane/meterplane/services/invoice/internal/grpcapi"
	domain "github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/peers"
	"github.com/meterplane/meterplane/services/invoice/internal/store"
	"github.com/meterplane/meterplane/services/invoice/migrations"
)

// TopicFinalized is the bus topic of the invoice.finalized events; the
// payload is the JSON form of invoicev1.InvoiceFinalized.
const TopicFinalized = domain.TopicFinalized

// Open opens and migrates the service's database and returns the service,
// with the outbox relay and the scheduled billing run as its workers. The
// returned service's DB is closed by the server that hosts it.
func Open(ctx context.Context, d app.Deps) (server.Service, error) {
	// A run's statements name a page of customers each.
	opts := d.Storage("invoice")
	opts.CustomPlans = true
	db, err := storage.OpenService(ctx, opts, migrations.FS)
	if err != nil {
		return server.Service{}, fmt.Errorf("invoice: %w", err)
	}
	every := d.Config.InvoiceRunInterval
	if every <= 0 {
		every = config.DefaultInvoiceRunInterval
	}
	cfg := domain.Config{Grace: d.Config.InvoiceGrace, RequireComplete: d.Config.InvoiceRequireComplete,
		Seller: document.Party{Name: d.Config.InvoiceSeller}, EncodeFinalized: grpcapi.EncodeFinalized}
	if cfg.Seller.Name == "" {
		cfg.Seller.Name = "Meterplane"
	}
	svc, err := domain.NewService(store.New(db), peers.NewSources(d.Subscription, d.Catalog, d.Metering), d.Clock, d.Log,
		otel.Meter("github.com/meterplane/meterplane/services/invoice"), cfg)
	if err != nil {
		db.Close()
		return server.Service{}, fmt.Errorf("invoice: %w", err)
	}
	api := grpcapi.New(svc)
	relay := outbox.NewRelay(db, bus.New(d.Redis.Client), d.Log)
	out := Gateway()
	out.DB = db
	out.Register = func(s *grpc.Server) { invoicev1.RegisterInvoiceServiceServer(s, api) }
	out.Workers = []func(context.Context) error{relay.Run, svc.Worker(every)}
	return out, nil
}

// Gateway is the service's HTTP side without its implementation: what the
// gateway binary serves in front of the service's own process. Open's
// service has the same.
func Gateway() server.Service {
	return server.Service{
		Name:            "invoice",
		GRPCName:        invoicev1.InvoiceService_ServiceDesc.ServiceName,
		RegisterGateway: grpcapi.RegisterGateway,
		// The document is the HTTP response itself.
		RawBodies: []string{string((&invoicev1.GetInvoiceDocumentResponse{}).ProtoReflect().Descriptor().FullName())},
	}
}
