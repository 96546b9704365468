package server

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"google.golang.org/grpc"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

func TestIdempotencyRenewsTheClaimOfALongCall(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", fstest.MapFS{}, func(t *testing.T, db *storage.DB) {
		const lease = 300 * time.Millisecond
		intercept := idempotency{dbOf: map[string]*storage.DB{catalogv1.CatalogService_ServiceDesc.ServiceName: db}, lease: lease}.unary()
		info := &grpc.UnaryServerInfo{FullMethod: catalogv1.CatalogService_CreateFeature_FullMethodName}
		req := &catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: "slow"}, IdempotencyKey: "slow"}
		var runs atomic.Int32
		started := make(chan struct{})
		handler := func(ctx context.Context, _ any) (any, error) {
			if runs.Add(1) == 1 {
				close(started)
				<-time.After(3 * lease) // a call that runs longer than the lease
			}
			return &catalogv1.CreateFeatureResponse{Feature: &catalogv1.Feature{Name: ids.New("run")}}, nil
		}
		first := make(chan any, 1)
		go func() {
			resp, err := intercept(t.Context(), req, info, handler)
			if err != nil {
				t.Error(err)
			}
			first <- resp
		}()
		<-started
		second, err := intercept(t.Context(), req, info, handler)
		if err != nil {
			t.Fatal(err)
		}
		if n := runs.Load(); n != 1 {
			t.Fatalf("the handler ran %d times, want 1: a running call's key was taken over", n)
		}
		want := (<-first).(*catalogv1.CreateFeatureResponse).GetFeature().GetName()
		if got := second.(*catalogv1.CreateFeatureResponse).GetFeature().GetName(); got != want {
			t.Fatalf("the waiting call got %q, want the first answer %q", got, want)
		}
	})
}

// TestIdempotencyLeavesOwnKeysToTheHandler: a method the service lists in
// OwnKeys runs on every call with the same key, and nothing is stored.
func TestIdempotencyLeavesOwnKeysToTheHandler(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", fstest.MapFS{}, func(t *testing.T, db *storage.DB) {
		method := catalogv1.CatalogService_CreateFeature_FullMethodName
		intercept := idempotency{dbOf: map[string]*storage.DB{catalogv1.CatalogService_ServiceDesc.ServiceName: db},
			own: map[string]bool{method: true}, lease: time.Second}.unary()
		info := &grpc.UnaryServerInfo{FullMethod: method}
		req := &catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: "own"}, IdempotencyKey: "own"}
		var runs atomic.Int32
		handler := func(context.Context, any) (any, error) {
			runs.Add(1)
			return &catalogv1.CreateFeatureResponse{}, nil
		}
		for range 2 {
			if _, err := intercept(t.Context(), req, info, handler); err != nil {
				t.Fatal(err)
			}
		}
		var stored int64
		if err := db.Conn(t.Context()).Raw("SELECT COUNT(*) FROM idempotency_keys").Scan(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if runs.Load() != 2 || stored != 0 {
			t.Fatalf("the handler ran %d times and %d keys were stored; want 2 and 0", runs.Load(), stored)
		}
	})
}
