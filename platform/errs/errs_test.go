package errs_test

import (
	"strings"
	"testing"

	"github.com/meterplane/meterplane/platform/errs"
)

func TestLongArgumentsAreCut(t *testing.T) {
	t.Parallel()
	id := strings.Repeat("x", 1<<20)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{name: "New", err: errs.New(errs.NotFound, "customer %q not found", id)},
		{name: "Field", err: errs.Field("customer.id", "no customer %q", id)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if n := len(tc.err.Error()); n > 2*errs.MaxArg {
				t.Fatalf("message is %d bytes, want at most %d", n, 2*errs.MaxArg)
			}
			if !strings.Contains(tc.err.Error(), "xxx…") {
				t.Fatalf("message %q does not show the cut", tc.err.Error()[:64])
			}
		})
	}
}
