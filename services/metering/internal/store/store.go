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

// sqliteChunk is how many rows one multi-row statement of the SQLite hot
// paths writes or reads. Its SQLite driver parses a statement at every
// execution, so one statement per row would cost a parse per row; 250
// rows of 11 columns stay far below SQLite's limit of 32,766 variables.
const sqliteChunk = 250

// valuesList returns n rows of k placeholders, "(?, ?), (?, ?)", for a
// multi-row statement.
func valuesList(n, k int) string {
	row := "(" + strings.Repeat("?, ", k-1) + "?)"
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

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
