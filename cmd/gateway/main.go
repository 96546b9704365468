// Command gateway serves the HTTP/JSON API of every Meterplane service in
// front of the services' own processes, as deployed by the Helm chart: it
// calls catalog, subscription, metering, quota and invoice over gRPC at
// MP_CATALOG_ADDR, MP_SUBSCRIPTION_ADDR, MP_METERING_ADDR, MP_QUOTA_ADDR
// and MP_INVOICE_ADDR, and listens on MP_HTTP_ADDR with the same routes,
// limits and errors as the all-in-one binary, /healthz, /readyz (ready
// when every service answers its health check), /metrics, /openapi.json
// and /docs. It keeps no state: run as many as needed.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/invoice"
	"github.com/meterplane/meterplane/services/metering"
	"github.com/meterplane/meterplane/services/quota"
	"github.com/meterplane/meterplane/services/subscription"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := app.Binary{
		Name:    "gateway",
		Gateway: []server.Service{catalog.Gateway(), subscription.Gateway(), metering.Gateway(), quota.Gateway(), invoice.Gateway()},
	}
	if err := app.Run(ctx, b, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}
