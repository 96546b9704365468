package ids_test

import (
	"strings"
	"testing"

	"github.com/meterplane/meterplane/platform/ids"
)

func TestNew(t *testing.T) {
	t.Parallel()
	a, b := ids.New("cus"), ids.New("cus")
	if !strings.HasPrefix(a, "cus_") || len(a) != len("cus_")+32 {
		t.Fatalf("New = %q, want cus_ and 32 hex digits", a)
	}
	if a == b {
		t.Fatalf("two ids are equal: %q", a)
	}
}
