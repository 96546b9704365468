// Command meterplane runs every Meterplane service and the HTTP gateway in
// one process. With no configuration it keeps its data in an embedded SQLite
// file under ./data and runs an in-process Redis-protocol server.
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
	if err := app.Run(ctx, binary, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "meterplane:", err)
		os.Exit(1)
	}
}

// binary lists the services of the suite. Each later service adds its Open
// and its demo seed here.
var binary = app.Binary{
	Name: "meterplane",
	Open: func(ctx context.Context, d app.Deps) ([]server.Service, error) {
		cat, err := catalog.Open(ctx, d.Storage("catalog"), d.Clock)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		return []server.Service{cat}, nil
	},
	Seed: func(ctx context.Context, conn *grpc.ClientConn) error {
		return catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(conn))
	},
}
