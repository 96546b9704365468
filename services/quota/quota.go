// Package quota assembles the quota service: its database, the admission
// state in Redis, the domain, the gRPC API, and the entitlements and
// features it asks over gRPC, ready for the shared server to host.
package quota

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/otel"
	"google.golang.org/grpc"

	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/quota/internal/grpcapi"
	"github.com/meterplane/meterplane/services/quota/internal/live"
	"github.com/meterplane/meterplane/services/quota/internal/peers"
	domain "github.com/meterplane/meterplane/services/quota/internal/quota"
	"github.com/meterplane/meterplane/services/quota/internal/store"
	"github.com/meterplane/meterplane/services/quota/migrations"
)

// expirySweep is how often expired reservations are marked in the
// database.
const expirySweep = 30 * time.Second

// feedPoll is how often the feed of gauge levels to metering looks for
// new ones when idle.
const feedPoll = 200 * time.Millisecond

// Open opens and migrates the service's database and returns the service,
// with the expiry worker, the consumer of subscription.changed events
// (which makes a customer's limits be asked again at once), the consumer
// of usage.recorded events (which keeps counters current), the
// reconciliation of counters with metering and the feed of gauge levels
// to metering. The returned service's DB is closed by the server that
// hosts it.
func Open(ctx context.Context, d app.Deps) (server.Service, error) {
	db, err := storage.OpenService(ctx, d.Storage("quota"), migrations.FS)
	if err != nil {
		return server.Service{}, fmt.Errorf("quota: %w", err)
	}
	lv := live.New(d.Redis.Client)
	if policy, risky := lv.EvictionPolicy(ctx); risky {
		d.Log.WarnContext(ctx, "quota: Redis may evict quota keys under memory pressure; each eviction costs a rebuild from the database; set maxmemory-policy to noeviction or a volatile-* policy",
			"maxmemory-policy", policy)
	}
	ents := peers.NewEntitlements(d.Subscription)
	svc := domain.NewService(store.New(db), lv, ents, peers.NewFeatures(d.Catalog), d.Clock, d.Log)
	meter := otel.Meter("github.com/meterplane/meterplane/services/quota")
	svc.EnableCounters(peers.NewUsage(d.Metering), ents, lv, meter)
	api, err := grpcapi.New(svc, meter)
	if err != nil {
		db.Close()
		return server.Service{}, fmt.Errorf("quota: %w", err)
	}
	events := bus.New(d.Redis.Client)
	consumer, err := os.Hostname()
	if err != nil {
		consumer = "quota"
	}
	changes := func(ctx context.Context) error {
		return events.Consume(ctx, domain.TopicSubscriptionChanged, "quota", consumer, func(ctx context.Context, m bus.Message) error {
			return svc.LimitsChanged(ctx, m.Key)
		})
	}
	usage := func(ctx context.Context) error {
		return events.Consume(ctx, domain.TopicUsageRecorded, "quota", consumer, func(ctx context.Context, m bus.Message) error {
			r, err := peers.UsageRecorded(m)
			if err != nil {
				// A payload that cannot be decoded never will be: it is
				// dropped, and reconciliation makes up for it.
				d.Log.ErrorContext(ctx, "quota: drop an undecodable usage.recorded", "error", err)
				return nil
			}
			return svc.Record(ctx, r)
		})
	}
	reconcile := d.Config.QuotaReconcile
	if reconcile <= 0 {
		reconcile = config.DefaultQuotaReconcile
	}
	out := Gateway()
	out.DB = db
	out.Register = func(s *grpc.Server) { quotav1.RegisterQuotaServiceServer(s, api) }
	out.Workers = []func(context.Context) error{svc.ExpiryWorker(expirySweep), changes, usage,
		svc.ReconcileWorker(reconcile), svc.FeedWorker(peers.NewMetering(d.Metering), feedPoll)}
	// Reserve keeps its keys in the domain: a denial is an answer the
	// server would store and replay, while a retry must be judged
	// afresh. A reservation is committed or released once; a repeat is
	// answered as the reservation is (the same subjects, or refused),
	// so storing answers by key would only add two commits to each
	// call.
	out.OwnKeys = []string{quotav1.QuotaService_Reserve_FullMethodName, quotav1.QuotaService_Commit_FullMethodName,
		quotav1.QuotaService_Release_FullMethodName}
	return out, nil
}

// Gateway is the service's HTTP side without its implementation: what the
// gateway binary serves in front of the service's own process. Open's
// service has the same.
func Gateway() server.Service {
	return server.Service{
		Name:            "quota",
		GRPCName:        quotav1.QuotaService_ServiceDesc.ServiceName,
		RegisterGateway: grpcapi.RegisterGateway,
	}
}
