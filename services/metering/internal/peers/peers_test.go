package peers

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meterplane/meterplane/platform/errs"
)

// failing is a connection whose every call fails with one code.
type failing codes.Code

func (f failing) Invoke(context.Context, string, any, any, ...grpc.CallOption) error {
	return status.Error(codes.Code(f), "peer says no")
}

func (failing) NewStream(context.Context, *grpc.StreamDesc, string, ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Error(codes.Unimplemented, "no streams")
}

// TestStatusMapping checks that a peer's status never passes through: what
// it means for the call is an errs kind (Unavailable for a peer that is
// down) or a plain error (Internal).
func TestStatusMapping(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		code     codes.Code
		notFound bool // an unknown feature / customer, not a failure
	}{
		{"NotFound is an unknown feature or customer", codes.NotFound, true},
		{"InvalidArgument names nothing", codes.InvalidArgument, true},
		{"Unavailable is the peer's failure, which the caller may retry", codes.Unavailable, false},
		{"PermissionDenied is a failure of ours", codes.PermissionDenied, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conn := failing(tt.code)
			_, err := NewFeatures(conn).IsGauge(t.Context(), "f")
			if got := errs.Is(err, errs.NotFound); got != tt.notFound {
				t.Errorf("IsGauge: %v; want NotFound %v", err, tt.notFound)
			}
			known, err := NewCustomers(conn).Known(t.Context(), []string{"cus_1"})
			if tt.notFound != (err == nil) || known["cus_1"] {
				t.Errorf("Known: %v, %v", known, err)
			}
			for _, err := range []error{err, func() error { _, err := NewFeatures(conn).IsGauge(t.Context(), "f"); return err }()} {
				if err == nil || errs.Is(err, errs.NotFound) {
					continue
				}
				if _, ok := status.FromError(err); ok {
					t.Errorf("the peer's status passes through: %v", err)
				}
				if down := tt.code == codes.Unavailable; down != errs.Is(err, errs.Unavailable) {
					t.Errorf("%v: Unavailable is %v, want %v", err, !down, down)
				}
			}
		})
	}
}
