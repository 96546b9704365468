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
