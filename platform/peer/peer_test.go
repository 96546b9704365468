package peer_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/peer"
)

func TestFailed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		kind errs.Kind
		is   error
	}{
		{"a peer that is down is unavailable", status.Error(codes.Unavailable, "dial tcp 127.0.0.1:1: connection refused"), errs.Unavailable, nil},
		{"a peer too slow is unavailable", status.Error(codes.DeadlineExceeded, "deadline"), errs.Unavailable, nil},
		{"an overloaded peer is unavailable", status.Error(codes.ResourceExhausted, "too many"), errs.Unavailable, nil},
		{"an unexpected code is internal", status.Error(codes.Internal, "boom"), errs.Internal, nil},
		{"the caller's cancellation stays", status.Error(codes.Canceled, "canceled"), errs.Internal, context.Canceled},
		{"the caller's deadline stays", context.DeadlineExceeded, errs.Internal, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := peer.Failed("catalog", "GetPlan", tc.err)
			if got := errs.KindOf(err); got != tc.kind {
				t.Errorf("kind = %v, want %v (%v)", got, tc.kind, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("err = %v, want %v", err, tc.is)
			}
			if _, ok := status.FromError(err); ok && tc.is == nil {
				t.Errorf("err %v still carries a gRPC status", err)
			}
		})
	}
}
