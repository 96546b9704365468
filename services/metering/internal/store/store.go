// Package store keeps the metering service's data in its SQL database. It
// implements metering.Store on PostgreSQL, where the hot paths are single
// array statements with decimal arithmetic in SQL, and on SQLite, where
// decimals are text and arithmetic happens in Go.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

// Store is the metering service's database.
type Store struct {
	db *storage.DB
	pg bool
	// months holds the first instants of the months whose event partition
	// exists.
	months sync.Map
}

var _ metering.Store = (*Store)(nil)

// New returns a Store on db, which must be migrated with the service's
// migrations and have the outbox tables.
func New(db *storage.DB) *Store { return &Store{db: db, pg: db.Dialect() == storage.Postgres} }

// InTx runs fn in a transaction carried by its context.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// exec runs a statement with PostgreSQL placeholders ($1…), passing slices
// as arrays, in the transaction of ctx if any.
func (s *Store) exec(ctx context.Context, sql string, args ...any) error {
	_, err := s.db.Conn(ctx).Statement.ConnPool.ExecContext(ctx, sql, args...)
	return err
}

// rowContext is the context of the statements of a row-by-row loop on
// SQLite: ctx without its cancellation, which the loop checks between
// rows instead, because the SQLite driver starts a goroutine to watch the
// context of every statement that has one (measured: about 5% of
// ingestion).
func rowContext(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// Publish writes events to the outbox.
func (s *Store) Publish(ctx context.Context, topic string, msgs []metering.Outgoing, at time.Time) error {
	if len(msgs) == 0 {
		return nil
	}
	out := make([]outbox.Message, len(msgs))
	for i, m := range msgs {
		out[i] = outbox.Message{Topic: topic, Key: m.Key, Payload: m.Payload}
	}
	_, err := outbox.AddAll(ctx, s.db, out, at)
	return err
}

func parse(s string) (money.Decimal, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return money.Decimal{}, fmt.Errorf("store: stored decimal %q: %w", s, err)
	}
	return d, nil
}

// badValue wraps err with metering.ErrBadBatch when PostgreSQL refused the
// values themselves (SQLSTATE class 22, data exception: a numeric
// overflow, for one), not the state of the database.
func badValue(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "22") {
		return fmt.Errorf("%w: %w", metering.ErrBadBatch, err)
	}
	return err
}
