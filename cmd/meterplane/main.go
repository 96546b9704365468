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
	"time"

	"google.golang.org/grpc"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
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
		cat, err := catalog.Open(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		sub, err := subscription.Open(ctx, d)
		if err != nil {
			cat.DB.Close()
			return nil, fmt.Errorf("subscription: %w", err)
		}
		met, err := metering.Open(ctx, d)
		if err != nil {
			cat.DB.Close()
			sub.DB.Close()
			return nil, fmt.Errorf("metering: %w", err)
		}
		quo, err := quota.Open(ctx, d)
		if err != nil {
			cat.DB.Close()
			sub.DB.Close()
			met.DB.Close()
			return nil, fmt.Errorf("quota: %w", err)
		}
		inv, err := invoice.Open(ctx, d)
		if err != nil {
			for _, s := range []server.Service{cat, sub, met, quo} {
				s.DB.Close()
			}
			return nil, fmt.Errorf("invoice: %w", err)
		}
		return []server.Service{cat, sub, met, quo, inv}, nil
	},
	Seed: func(ctx context.Context, conn *grpc.ClientConn) error {
		if err := catalog.Seed(ctx, catalogv1.NewCatalogServiceClient(conn)); err != nil {
			return err
		}
		subs := subscriptionv1.NewSubscriptionServiceClient(conn)
		if err := subscription.Seed(ctx, subs); err != nil {
			return err
		}
		if err := metering.Seed(ctx, meteringv1.NewMeteringServiceClient(conn), subs, time.Now().UTC()); err != nil {
			return err
		}
		if err := quota.Seed(ctx, quotav1.NewQuotaServiceClient(conn), subs); err != nil {
			return err
		}
		return invoice.Seed(ctx, invoicev1.NewInvoiceServiceClient(conn), subs, time.Now().UTC())
	},
}
