// Command catalog runs the catalog service alone, as deployed by the Helm
// chart. It takes the same configuration as the all-in-one binary.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/services/catalog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := app.Binary{
		Name: "catalog",
		Open: func(ctx context.Context, d app.Deps) ([]server.Service, error) {
			svc, err := catalog.Open(ctx, d)
			return []server.Service{svc}, err
		},
		Seed: func(ctx context.Context, conn *grpc.ClientConn) error {
			return catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(conn))
		},
	}
	if err := app.Run(ctx, b, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "catalog:", err)
		os.Exit(1)
	}
}
