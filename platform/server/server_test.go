package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/server/servertest"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/platform/telemetry"
)

// fakeCatalog answers CreateFeature; the key says how.
type fakeCatalog struct {
	catalogv1.UnimplementedCatalogServiceServer
	db    *storage.DB
	calls atomic.Int32
	// subscription is the server's subscription service, for "nested".
	subscription subscriptionv1.SubscriptionServiceClient
}

func (f *fakeCatalog) GetFeature(ctx context.Context, req *catalogv1.GetFeatureRequest) (*catalogv1.GetFeatureResponse, error) {
	var row featureRow
	if err := f.db.Conn(ctx).Table("features").Where("key = ?", req.GetFeatureKey()).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, errs.New(errs.NotFound, "feature %q not found", req.GetFeatureKey())
		}
		return nil, err
	}
	return &catalogv1.GetFeatureResponse{Feature: &catalogv1.Feature{Key: row.Key}}, nil
}

type featureRow struct{ Key string }

func (f *fakeCatalog) CreateFeature(ctx context.Context, req *catalogv1.CreateFeatureRequest) (*catalogv1.CreateFeatureResponse, error) {
	f.calls.Add(1)
	switch req.GetFeature().GetKey() {
	case "bad":
		return nil, errs.Field("feature.key", "must be lower snake case")
	case "panic":
		panic("boom")
	case "secret":
		return nil, io.ErrUnexpectedEOF
	case "peer_down":
		return nil, status.Error(codes.Unavailable, "subscription: rpc error: dial tcp 10.1.2.3:9090: connection refused")
	case "peer_unimplemented":
		return nil, status.Error(codes.Unimplemented, "no such method")
	case "unknown_kind":
		return nil, &errs.Error{Kind: errs.Kind(99), Message: "a kind the table lacks"}
	case "long":
		return nil, errs.New(errs.NotFound, "%s", strings.Repeat("x", 1<<20))
	case "nested":
		// An idempotent call to another service of this server, whose
		// handler reads this service's database.
		if _, err := f.subscription.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{
			Customer: &subscriptionv1.Customer{Name: "nested"}, IdempotencyKey: "nested"}); err != nil {
			return nil, err
		}
	}
	// Each answer differs, so replays can be told from runs.
	name := ids.New("run")
	err := f.db.InTx(ctx, func(ctx context.Context) error {
		return f.db.Conn(ctx).Table("features").Create(&featureRow{Key: req.GetFeature().GetKey()}).Error
	})
	if err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return nil, errs.New(errs.AlreadyExists, "feature %q exists", req.GetFeature().GetKey())
		}
		return nil, err
	}
	return &catalogv1.CreateFeatureResponse{Feature: &catalogv1.Feature{Key: req.GetFeature().GetKey(), Name: name}}, nil
}

func start(t *testing.T, db *storage.DB) (*fakeCatalog, catalogv1.CatalogServiceClient, *server.Server) {
	t.Helper()
	if err := db.Conn(t.Context()).Exec("CREATE TABLE features (key TEXT PRIMARY KEY)").Error; err != nil {
		t.Fatal(err)
	}
	fake := &fakeCatalog{db: db}
	svc := server.Service{
		Name: "catalog", GRPCName: catalogv1.CatalogService_ServiceDesc.ServiceName, DB: db,
		Register: func(s *grpc.Server) { catalogv1.RegisterCatalogServiceServer(s, fake) },
		RegisterGateway: func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			return catalogv1.RegisterCatalogServiceHandler(ctx, mux, conn)
		},
	}
	srv := servertest.Start(t, svc)
	return fake, catalogv1.NewCatalogServiceClient(srv.Conn()), srv
}

func TestServer(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", fstest.MapFS{}, func(t *testing.T, db *storage.DB) {
		fake, client, srv := start(t, db)
		ctx := t.Context()
		create := func(key, idem string) (*catalogv1.CreateFeatureResponse, error) {
			return client.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: key}, IdempotencyKey: idem})
		}

		t.Run("a retried call with the same key runs once and answers the same", func(t *testing.T) {
			first, err := create("sites", "k1")
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				resp, err := create("sites", "k1")
				if err != nil || resp.GetFeature().GetName() != first.GetFeature().GetName() {
					t.Fatalf("CreateFeature = %v, %v; want the first answer %v", resp, err, first)
				}
			}
			if n := fake.calls.Load(); n != 1 {
				t.Fatalf("handler ran %d times, want 1", n)
			}
		})
		t.Run("the same key with another request is refused", func(t *testing.T) {
			_, err := create("domains", "k1")
			if status.Code(err) != codes.FailedPrecondition {
				t.Fatalf("err = %v, want FailedPrecondition", err)
			}
		})
		t.Run("a failed call stores nothing, so its retry runs again", func(t *testing.T) {
			before := fake.calls.Load()
			create("bad", "k2")
			create("bad", "k2")
			if n := fake.calls.Load() - before; n != 2 {
				t.Fatalf("handler ran %d times, want 2", n)
			}
		})
		t.Run("invalid input carries the field", func(t *testing.T) {
			_, err := create("bad", "")
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code = %v", st.Code())
			}
			br, ok := st.Details()[0].(*errdetails.BadRequest)
			if !ok || br.GetFieldViolations()[0].GetField() != "feature.key" {
				t.Fatalf("details = %v", st.Details())
			}
		})
		t.Run("a panic is an internal error and the server lives on", func(t *testing.T) {
			_, err := create("panic", "")
			if status.Code(err) != codes.Internal {
				t.Fatalf("err = %v", err)
			}
			if _, err := create("after_panic", ""); err != nil {
				t.Fatalf("after panic: %v", err)
			}
		})
		t.Run("internal errors leave without their cause", func(t *testing.T) {
			_, err := create("secret", "")
			st := status.Convert(err)
			if st.Code() != codes.Internal || st.Message() == io.ErrUnexpectedEOF.Error() {
				t.Fatalf("err = %v", err)
			}
		})
		t.Run("health, readiness, metrics and the gateway answer", func(t *testing.T) {
			h, err := healthpb.NewHealthClient(srv.Conn()).Check(ctx, &healthpb.HealthCheckRequest{Service: catalogv1.CatalogService_ServiceDesc.ServiceName})
			if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Fatalf("health = %v, %v", h, err)
			}
			for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/v1/features/nope": 404} {
				resp, err := http.Get("http://" + srv.HTTPAddr() + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s = %d, want %d", path, resp.StatusCode, want)
				}
			}
		})
	})
}

func TestWorkers(t *testing.T) {
	t.Parallel()
	db := storagetest.SQLite(t, "catalog", fstest.MapFS{})
	started := make(chan struct{})
	var stopped atomic.Bool
	var pingAtStop error
	svc := server.Service{
		Name: "catalog", GRPCName: catalogv1.CatalogService_ServiceDesc.ServiceName, DB: db,
		Register: func(s *grpc.Server) { catalogv1.RegisterCatalogServiceServer(s, &fakeCatalog{db: db}) },
		RegisterGateway: func(ctx context.Context, mux *runtime.ServeMux, conn *grpc.ClientConn) error {
			return catalogv1.RegisterCatalogServiceHandler(ctx, mux, conn)
		},
		Workers: []func(context.Context) error{
			func(ctx context.Context) error {
				close(started)
				<-ctx.Done()
				time.Sleep(100 * time.Millisecond) // finishing its last round
				pingAtStop = db.Ping(context.Background())
				stopped.Store(true)
				return ctx.Err()
			},
			func(ctx context.Context) error { return errors.New("worker boom") },
		},
	}
	tel, err := telemetry.Setup(context.Background(), "test", "")
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg := config.Config{GRPCAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", ShutdownTimeout: 5 * time.Second}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), tel, []server.Service{svc}, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()

	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not start")
	}
	// A failed worker does not stop the server.
	h, err := healthpb.NewHealthClient(srv.Conn()).Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc.GRPCName})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", h, err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !stopped.Load() {
		t.Fatal("Serve returned before the worker stopped")
	}
	if pingAtStop != nil {
		t.Errorf("the database was closed before the worker stopped: %v", pingAtStop)
	}
	if !strings.Contains(logs.String(), "worker boom") {
		t.Errorf("the failed worker was not logged:\n%s", logs.String())
	}
}
