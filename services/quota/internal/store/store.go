// Package store keeps the quota service's reservations and allocations in
// its SQL database (PostgreSQL or SQLite): the truth from which the
// admission state in Redis is rebuilt.
package store

import (
	"context"

	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/quota/internal/coalesce"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// Store is the quota service's database.
type Store struct {
	db      *storage.DB
	group   *group
	intents *coalesce.Batcher[intentOp]
	helds   *coalesce.Batcher[heldOp]
}

var _ quota.Store = (*Store)(nil)

// New returns a Store on db, which must be migrated with the service's
// migrations.
func New(db *storage.DB) *Store {
	s := &Store{db: db}
	s.group = newGroup(db.InTx)
	s.intents = &coalesce.Batcher[intentOp]{Max: maxBatches, Exec: s.insertIntents}
	s.helds = &coalesce.Batcher[heldOp]{Max: maxBatches, Exec: s.markHeld}
	return s
}

// InTx runs fn in a transaction carried by its context: a group
// transaction shared with concurrent callers (see group), or, inside
// one, that transaction.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if ctx.Value(inGroup{}) != nil {
		return s.db.InTx(ctx, fn)
	}
	return s.group.do(ctx, fn)
}
