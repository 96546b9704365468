// Package metering assembles the metering service: its database, domain,
// gRPC API, the customer and feature directories it asks over gRPC, the
// outbox relay and the partition keeper, ready for the shared server to
// host.
package metering

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"

	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/metering/internal/grpcapi"
	domain "github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/internal/peers"
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
	keeper := partitionKeeper{store: st, clock: d.Clock, log: d.Log, retention: d.Config.RetentionMonths}
	return server.Service{
		Name:            "metering",
		GRPCName:        meteringv1.MeteringService_ServiceDesc.ServiceName,
		DB:              db,
		Register:        func(s *grpc.Server) { meteringv1.RegisterMeteringServiceServer(s, api) },
		RegisterGateway: grpcapi.RegisterGateway,
		Workers:         []func(context.Context) error{relay.Run, keeper.run, fold(svc, d.Log)},
		// Each event of a batch is checked on its own and answered in its
		// result; a bad one never refuses the batch.
		ItemFields: []string{
			"meterplane.metering.v1.IngestBatchRequest.events",
			"meterplane.metering.v1.IngestStreamRequest.events",
		},
	}, nil
}

// foldInterval is how often pending batches of counter aggregates are
// folded into the rollups (and usage.recorded published) when fewer than
// a fold's load are waiting. Queries fold what is pending first, so they
// never wait for it.
const foldInterval = time.Second

// fold returns the worker that folds pending batches into the rollups.
func fold(svc *domain.Service, log *slog.Logger) func(context.Context) error {
	return func(ctx context.Context) error {
		svc.FoldEvery(ctx, foldInterval, func(err error) { log.ErrorContext(ctx, "metering: fold pending rollups; will retry", "err", err) })
		return nil
	}
}

// partitionKeeper creates the event partitions of this month and the next
// ahead of time and drops those older than the retention, hourly.
type partitionKeeper struct {
	store     *store.Store
	clock     clock.Clock
	log       *slog.Logger
	retention int
}

func (k partitionKeeper) run(ctx context.Context) error {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		k.once(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (k partitionKeeper) once(ctx context.Context) {
	now := k.clock.Now()
	if err := k.store.Prepare(ctx, []time.Time{now, now.AddDate(0, 1, 0)}); err != nil {
		k.log.WarnContext(ctx, "create event partitions", "err", err)
	}
	if k.retention == 0 {
		return
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	dropped, err := k.store.DropPartitionsBefore(ctx, month.AddDate(0, -k.retention, 0))
	if err != nil {
		k.log.WarnContext(ctx, "drop old event partitions", "err", err)
	}
	for _, name := range dropped {
		k.log.InfoContext(ctx, "dropped event partition past the retention", "partition", name)
	}
}
