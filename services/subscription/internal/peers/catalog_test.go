package peers

import (
	"errors"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meterplane/meterplane/platform/errs"
)

func TestCatalogErr(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		code  codes.Code
		want  errs.Kind
		field string
	}{
		{"a missing plan is the caller's bad plan_id", codes.NotFound, errs.Invalid, "plan_id"},
		{"a plan id the catalog refuses is the caller's bad plan_id", codes.InvalidArgument, errs.Invalid, "plan_id"},
		{"a plan the catalog will not sell is a failed precondition", codes.FailedPrecondition, errs.FailedPrecondition, ""},
		{"an unavailable catalog is unavailable: the caller may retry", codes.Unavailable, errs.Unavailable, ""},
		{"a catalog deadline is unavailable: the caller may retry", codes.DeadlineExceeded, errs.Unavailable, ""},
		{"a catalog's internal error is internal", codes.Internal, errs.Internal, ""},
		{"a catalog's permission denied is internal", codes.PermissionDenied, errs.Internal, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := catalogErr(status.Error(tt.code, "plan \"x\" not found"), "GetPlan", "plan_id")
			if got := errs.KindOf(err); got != tt.want {
				t.Fatalf("kind of %v = %v, want %v", err, got, tt.want)
			}
			var e *errs.Error
			if tt.field != "" && (!errors.As(err, &e) || len(e.Violations) != 1 || e.Violations[0].Field != tt.field) {
				t.Errorf("%v does not name %s", err, tt.field)
			}
			if _, ok := status.FromError(err); ok {
				t.Errorf("%v keeps the catalog's gRPC status", err)
			}
		})
	}
}
