// Command invoice runs the invoice service alone, as deployed by the Helm
// chart. It takes the same configuration as the all-in-one binary, with
// MP_SUBSCRIPTION_ADDR, MP_CATALOG_ADDR and MP_METERING_ADDR naming the
// services it reads.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/services/invoice"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := app.Binary{
		Name: "invoice",
		Open: func(ctx context.Context, d app.Deps) ([]server.Service, error) {
			svc, err := invoice.Open(ctx, d)
			return []server.Service{svc}, err
		},
	}
	if err := app.Run(ctx, b, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "invoice:", err)
		os.Exit(1)
	}
}
