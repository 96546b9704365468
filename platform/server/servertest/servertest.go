// Package servertest runs the shared server in a test, on loopback ports,
// with the same interceptors as production, and stops it when the test ends.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/server"
	"github.com/meterplane/meterplane/platform/telemetry"
)

// Start serves services until the test ends; Serve must return no error.
func Start(t testing.TB, services ...server.Service) *server.Server {
	t.Helper()
	return StartConfig(t, config.Config{}, services...)
}

// StartConfig is Start with cfg, whose listen addresses and shutdown
// timeout it sets.
func StartConfig(t testing.TB, cfg config.Config, services ...server.Service) *server.Server {
	t.Helper()
	tel, err := telemetry.Setup(context.Background(), "test", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.ShutdownTimeout = "127.0.0.1:0", "127.0.0.1:0", 5*time.Second
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), tel, services, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv
}
