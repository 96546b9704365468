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

// TestIdempotencySkipsSelfIdempotentMethods: a method the service declares
// idempotent by itself runs every time and leaves no stored answer, while
// another method of the service is replayed from its key.
func TestIdempotencySkipsSelfIdempotentMethods(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "catalog", fstest.MapFS{}, func(t *testing.T, db *storage.DB) {
		self := catalogv1.CatalogService_CreateFeature_FullMethodName
		intercept := idempotency{dbOf: map[string]*storage.DB{catalogv1.CatalogService_ServiceDesc.ServiceName: db},
			self: map[string]bool{self: true}, lease: time.Minute}.unary()
		var runs atomic.Int32
		handler := func(ctx context.Context, _ any) (any, error) {
			runs.Add(1)
			return &catalogv1.CreateFeatureResponse{}, nil
		}
		req := &catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: "k"}, IdempotencyKey: "same"}
		for _, method := range []string{self, self, catalogv1.CatalogService_UpdateFeature_FullMethodName, catalogv1.CatalogService_UpdateFeature_FullMethodName} {
			if _, err := intercept(t.Context(), req, &grpc.UnaryServerInfo{FullMethod: method}, handler); err != nil {
				t.Fatal(err)
			}
		}
		if n := runs.Load(); n != 3 {
			t.Errorf("the handler ran %d times, want 3 (twice for the self-idempotent method, once for the other)", n)
		}
		var stored int64
		if err := db.Conn(t.Context()).Model(&idempotencyRow{}).Where("method = ?", self).Count(&stored).Error; err != nil {
			t.Fatal(err)
		}
		if stored != 0 {
			t.Errorf("%d answers stored for the self-idempotent method, want none", stored)
		}
	})
}
