// Package subscription assembles the subscription service: its database,
// domain, gRPC API, catalog client and outbox relay, ready for the shared
// server to host.
package subscription

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/subscription/internal/grpcapi"
	"github.com/meterplane/meterplane/services/subscription/internal/peers"
	"github.com/meterplane/meterplane/services/subscription/internal/store"
	domain "github.com/meterplane/meterplane/services/subscription/internal/subscription"
	"github.com/meterplane/meterplane/services/subscription/migrations"
)

// TopicChanged is the bus topic of the subscription.changed events; the
// payload is the JSON form of subscriptionv1.SubscriptionChanged.
const TopicChanged = domain.TopicChanged

// Open opens and migrates the service's database and returns the service,
// with the outbox relay as its background worker. The returned service's
// DB is closed by the server that hosts it.
func Open(ctx context.Context, d app.Deps) (server.Service, error) {
	db, err := storage.OpenService(ctx, d.Storage("subscription"), migrations.FS)
	if err != nil {
		return server.Service{}, fmt.Errorf("subscription: %w", err)
	}
	svc := domain.NewService(store.New(db), peers.NewCatalog(d.Catalog), d.Clock)
	if !d.Config.MigrateOnly { // a migration job makes no key
		token, err := svc.EnsureAdminKey(ctx, d.Config.AdminKey)
		if err != nil {
			db.Close()
			return server.Service{}, fmt.Errorf("subscription: admin key: %w", err)
		}
		if token != "" {
			d.Log.Warn("created the first admin API key; it is shown only now, keep it: only its hash is stored", "admin_key", token)
		}
	}
	keys := auth.NewCache(auth.VerifierFunc(func(ctx context.Context, token string) (auth.Caller, error) {
		k, customers, err := svc.VerifyKey(ctx, token)
		return auth.Caller{KeyID: k.ID, Role: k.Role, Customers: customers}, err
	}))
	svc.OnKeyChange(keys.Forget)
	api := grpcapi.New(svc)
	relay := outbox.NewRelay(db, bus.New(d.Redis.Client), d.Log)
	out := Gateway()
	out.DB = db
	out.Register = func(s *grpc.Server) { subscriptionv1.RegisterSubscriptionServiceServer(s, api) }
	out.Workers = []func(context.Context) error{relay.Run}
	// A retry of CreateApiKey answers the key without its token, which is
	// never stored (not even as an idempotent answer).
	out.OwnKeys = []string{subscriptionv1.SubscriptionService_CreateApiKey_FullMethodName}
	out.Keys = keys
	return out, nil
}

// Gateway is the service's HTTP side without its implementation: what the
// gateway binary serves in front of the service's own process. Open's
// service has the same.
func Gateway() server.Service {
	return server.Service{
		Name:            "subscription",
		GRPCName:        subscriptionv1.SubscriptionService_ServiceDesc.ServiceName,
		RegisterGateway: subscriptionv1.RegisterSubscriptionServiceHandler,
	}
}
