package app_test

import (
	"testing"

	"github.com/meterplane/meterplane/platform/app"
)

func TestRunHelp(t *testing.T) {
	t.Parallel()
	b := app.Binary{Name: "test"}
	for _, arg := range []string{"--help", "-h"} {
		t.Run(arg, func(t *testing.T) {
			t.Parallel()
			if err := app.Run(t.Context(), b, []string{arg}, func(string) string { return "" }); err != nil {
				t.Fatalf("Run(%s) = %v, want nil after printing the usage", arg, err)
			}
		})
	}
}
