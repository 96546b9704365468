// Command subscription runs the subscription service alone, as deployed by
// the Helm chart. It takes the same configuration as the all-in-one binary,
// with MP_CATALOG_ADDR naming the catalog service.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/services/subscription"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := app.Binary{
		Name: "subscription",
		Open: func(ctx context.Context, d app.Deps) ([]server.Service, error) {
			svc, err := subscription.Open(ctx, d)
			return []server.Service{svc}, err
		},
	}
	if err := app.Run(ctx, b, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "subscription:", err)
		os.Exit(1)
	}
}
