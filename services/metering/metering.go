// Package metering assembles the metering service: its database, domain,
// gRPC API, the customer and feature directories it asks over gRPC, the
// outbox relay and the partition keeper, ready for the shared server to
// host.
package metering

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/metering/internal/grpcapi"
	domain "github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/internal/peers"
	"github.com/meterplane/meterplane/services/metering/internal/report"
	"github.com/meterplane/meterplane/services/metering/internal/store"
	"github.com/meterplane/meterplane/services/metering/migrations"
)

// TopicRecorded is the bus topic of the usage.recorded events; the payload
// is the JSON form of meteringv1.UsageRecorded.
const TopicRecorded = domain.TopicRecorded

// Open opens and migrates the service's database and returns the service,
// with the outbox relay, the folder and the partition keeper as background
// workers. The returned service's DB is closed by the server that hosts it.
func Open(ctx context.Context, d app.Deps) (server.Service, error) {
	db, err := storage.OpenService(ctx, d.Storage("metering"), migrations.FS)
	if err != nil {
		return server.Service{}, fmt.Errorf("metering: %w", err)
	}
	st := store.New(db)
	svc := domain.NewService(st, peers.NewCustomers(d.Subscription), peers.NewFeatures(d.Catalog), d.Clock, d.Log)
	api := grpcapi.New(svc)
	relay := outbox.NewRelay(db, bus.New(d.Redis.Client), d.Log)
	out := Gateway()
	out.DB = db
	out.Register = func(s *grpc.Server) { meteringv1.RegisterMeteringServiceServer(s, api) }
	out.Workers = []func(context.Context) error{relay.Run, svc.PartitionWorker(d.Config.RetentionMonths), svc.FoldWorker}
	// Each event of a batch is checked on its own and answered in its
	// result; a bad one never refuses the batch.
	out.ItemFields = []string{
		"meterplane.metering.v1.IngestBatchRequest.events",
		"meterplane.metering.v1.IngestStreamRequest.events",
	}
	return out, nil
}

// Gateway is the service's HTTP side without its implementation: what the
// gateway binary serves in front of the service's own process. Open's
// service has the same.
func Gateway() server.Service {
	return server.Service{
		Name:            "metering",
		GRPCName:        meteringv1.MeteringService_ServiceDesc.ServiceName,
		RegisterGateway: grpcapi.RegisterGateway,
		// A usage report larger than one request uploads in chunks.
		Uploads: map[string]int64{grpcapi.UploadPath: report.MaxSize},
		// A usage report downloads as it is read, for as long as it takes.
		Streams: []string{grpcapi.DownloadPath},
	}
}
