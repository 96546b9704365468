package apptest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/server/servertest"
)

// Open opens one service, as each service's package-level Open does.
type Open func(ctx context.Context, d app.Deps) (server.Service, error)

// Serve opens the services with d and serves them on one shared server, in
// this process, until the test ends: the in-process test environment for
// services that need their peers. A peer connection d leaves nil (Catalog,
// Subscription, Metering) is the server itself, as in the all-in-one binary; give one
// to reach a peer served elsewhere, as deployed. Without a database URL the
// services use SQLite files in a temporary directory; the clock defaults to
// the system's and the log to nothing.
func Serve(t testing.TB, d app.Deps, opens ...Open) *server.Server {
	t.Helper()
	self := &app.SelfConn{}
	if d.Catalog == nil {
		d.Catalog = self
	}
	if d.Subscription == nil {
		d.Subscription = self
	}
	if d.Metering == nil {
		d.Metering = self
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Config.DatabaseURL == "" && d.Config.DataDir == "" {
		d.Config.DataDir = t.TempDir()
	}
	var services []server.Service
	for _, open := range opens {
		svc, err := open(t.Context(), d)
		if err != nil {
			for _, s := range services {
				s.DB.Close()
			}
			t.Fatal(err)
		}
		services = append(services, svc)
	}
	srv := servertest.Start(t, services...)
	self.Set(srv.Conn())
	return srv
}
