package server_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/server/servertest"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// fakeSubscription answers CreateCustomer after reading a feature from the
// catalog, which reads the catalog's database.
type fakeSubscription struct {
	subscriptionv1.UnimplementedSubscriptionServiceServer
	catalog catalogv1.CatalogServiceClient
}

func (f *fakeSubscription) CreateCustomer(ctx context.Context, req *subscriptionv1.CreateCustomerRequest) (*subscriptionv1.CreateCustomerResponse, error) {
	if _, err := f.catalog.GetFeature(ctx, &catalogv1.GetFeatureRequest{FeatureKey: "sites"}); err != nil && status.Code(err) != codes.NotFound {
		return nil, errs.New(errs.FailedPrecondition, "catalog: %v", err)
	}
	return &subscriptionv1.CreateCustomerResponse{Customer: req.GetCustomer()}, nil
}

// startPair serves the fake catalog on db and the fake subscription on a
// database of the same engine, on one server.
func startPair(t *testing.T, db *storage.DB) (*fakeCatalog, catalogv1.CatalogServiceClient) {
	t.Helper()
	if err := db.Conn(t.Context()).Exec("CREATE TABLE features (key TEXT PRIMARY KEY)").Error; err != nil {
		t.Fatal(err)
	}
	subDB := storagetest.SQLite(t, "subscription", fstest.MapFS{})
	if db.Dialect() == storage.Postgres {
		subDB = storagetest.Postgres(t, "subscription", fstest.MapFS{})
	}
	cat := &fakeCatalog{db: db}
	sub := &fakeSubscription{}
	srv := servertest.Start(t,
		server.Service{
			Name: "catalog", GRPCName: catalogv1.CatalogService_ServiceDesc.ServiceName, DB: db,
			Register: func(s *grpc.Server) { catalogv1.RegisterCatalogServiceServer(s, cat) },
			RegisterGateway: func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
				return catalogv1.RegisterCatalogServiceHandler(ctx, mux, conn)
			},
		},
		server.Service{
			Name: "subscription", GRPCName: subscriptionv1.SubscriptionService_ServiceDesc.ServiceName, DB: subDB,
			Register: func(s *grpc.Server) { subscriptionv1.RegisterSubscriptionServiceServer(s, sub) },
			RegisterGateway: func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
				return subscriptionv1.RegisterSubscriptionServiceHandler(ctx, mux, conn)
			},
		})
	cat.subscription = subscriptionv1.NewSubscriptionServiceClient(srv.Conn())
	sub.catalog = catalogv1.NewCatalogServiceClient(srv.Conn())
	return cat, catalogv1.NewCatalogServiceClient(srv.Conn())
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", fstest.MapFS{}, func(t *testing.T, db *storage.DB) {
		fake, client := startPair(t, db)
		create := func(ctx context.Context, key, idem string) (*catalogv1.CreateFeatureResponse, error) {
			return client.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: key}, IdempotencyKey: idem})
		}

		t.Run("concurrent identical calls run once and all get the first answer", func(t *testing.T) {
			before := fake.calls.Load()
			const n = 50
			answers := make([]string, n)
			failures := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					resp, err := create(t.Context(), "concurrent", "c1")
					answers[i], failures[i] = resp.GetFeature().GetName(), err
				})
			}
			wg.Wait()
			for i := range n {
				if failures[i] != nil {
					t.Fatalf("call %d: %v", i, failures[i])
				}
				if answers[i] != answers[0] {
					t.Fatalf("call %d answered %q, call 0 %q", i, answers[i], answers[0])
				}
			}
			if runs := fake.calls.Load() - before; runs != 1 {
				t.Fatalf("the handler ran %d times, want 1", runs)
			}
		})
		t.Run("another request with a used key is refused", func(t *testing.T) {
			if _, err := create(t.Context(), "other", "c1"); status.Code(err) != codes.FailedPrecondition {
				t.Fatalf("err = %v, want FailedPrecondition", err)
			}
		})
		t.Run("a failed call's retry runs again", func(t *testing.T) {
			before := fake.calls.Load()
			for range 2 {
				if _, err := create(t.Context(), "bad", "f1"); status.Code(err) != codes.InvalidArgument {
					t.Fatalf("err = %v, want InvalidArgument", err)
				}
			}
			if runs := fake.calls.Load() - before; runs != 2 {
				t.Fatalf("the handler ran %d times, want 2", runs)
			}
		})
		t.Run("a claim whose lease ran out is taken over", func(t *testing.T) {
			hung := time.Now().Add(-time.Hour).UTC()
			if err := db.Conn(t.Context()).Exec(
				"INSERT INTO idempotency_keys (method, idempotency_key, request_hash, response, completed, claim, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				catalogv1.CatalogService_CreateFeature_FullMethodName, "hung", requestHash(t, "taken_over"), []byte{}, false, "claim_dead", hung).Error; err != nil {
				t.Fatal(err)
			}
			resp, err := create(t.Context(), "taken_over", "hung")
			if err != nil || resp.GetFeature().GetKey() != "taken_over" {
				t.Fatalf("CreateFeature = %v, %v", resp, err)
			}
		})
		t.Run("an idempotent call to another service of the server does not deadlock", func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			if _, err := create(ctx, "nested", "n1"); err != nil {
				t.Fatalf("nested call: %v", err)
			}
		})
	})
}

// requestHash is the hash the server stores for a CreateFeature of key.
func requestHash(t *testing.T, key string) []byte {
	t.Helper()
	return server.RequestHash(&catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: key}})
}

func TestPrune(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", fstest.MapFS{}, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		now := time.Now().UTC()
		for key, age := range map[string]time.Duration{"old": 31 * 24 * time.Hour, "new": time.Hour} {
			if err := db.Conn(ctx).Exec("INSERT INTO idempotency_keys (method, idempotency_key, request_hash, response, created_at) VALUES ('m', ?, ?, ?, ?)",
				key, []byte{1}, []byte{}, now.Add(-age)).Error; err != nil {
				t.Fatal(err)
			}
			if err := db.Conn(ctx).Exec("INSERT INTO inbox (consumer, event_id, received_at) VALUES ('c', ?, ?)", key, now.Add(-age)).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := server.Prune(ctx, db, now.Add(-30*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		var keys, events []string
		db.Conn(ctx).Raw("SELECT idempotency_key FROM idempotency_keys").Scan(&keys)
		db.Conn(ctx).Raw("SELECT event_id FROM inbox").Scan(&events)
		if len(keys) != 1 || keys[0] != "new" || len(events) != 1 || events[0] != "new" {
			t.Fatalf("after pruning: keys %v, inbox %v; want only the new ones", keys, events)
		}
	})
}
