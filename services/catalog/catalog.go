// Package catalog assembles the catalog service: its database, domain and
// gRPC API, ready for the shared server to host.
package catalog

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage"
	domain "github.com/meterplane/meterplane/services/catalog/internal/catalog"
	"github.com/meterplane/meterplane/services/catalog/internal/grpcapi"
	"github.com/meterplane/meterplane/services/catalog/internal/store"
	"github.com/meterplane/meterplane/services/catalog/migrations"
)

// Open opens and migrates the catalog's database and returns the catalog
// service. The returned service's DB is closed by the server that hosts it.
func Open(ctx context.Context, d app.Deps) (server.Service, error) {
	db, err := storage.OpenService(ctx, d.Storage("catalog"), migrations.FS)
	if err != nil {
		return server.Service{}, fmt.Errorf("catalog: %w", err)
	}
	api := grpcapi.New(domain.NewService(store.New(db), d.Clock))
	svc := Gateway()
	svc.DB = db
	svc.Register = func(s *grpc.Server) { catalogv1.RegisterCatalogServiceServer(s, api) }
	return svc, nil
}

// Gateway is the service's HTTP side without its implementation: what the
// gateway binary serves in front of the service's own process. Open's
// service has the same.
func Gateway() server.Service {
	return server.Service{
		Name:            "catalog",
		GRPCName:        catalogv1.CatalogService_ServiceDesc.ServiceName,
		RegisterGateway: catalogv1.RegisterCatalogServiceHandler,
	}
}
