package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/meterplane/meterplane/platform/storage"
)

// pruneEvery is how often the server prunes each service's database.
const pruneEvery = time.Hour

// Prune deletes from db the idempotency keys written before before (the
// stored answers, and claims abandoned that long ago) and the inbox
// records of events received before it.
func Prune(ctx context.Context, db *storage.DB, before time.Time) error {
	if err := db.Conn(ctx).Exec("DELETE FROM idempotency_keys WHERE created_at < ?", before.UTC()).Error; err != nil {
		return err
	}
	return db.Conn(ctx).Exec("DELETE FROM inbox WHERE received_at < ?", before.UTC()).Error
}

// pruner is the worker that prunes db at start and every pruneEvery,
// keeping retention's worth of rows.
func pruner(log *slog.Logger, name string, db *storage.DB, retention time.Duration) func(context.Context) error {
	return func(ctx context.Context) error {
		tick := time.NewTicker(pruneEvery)
		defer tick.Stop()
		for {
			if err := Prune(ctx, db, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "prune idempotency keys and inbox", "service", name, "err", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
	}
}
