package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// maxBatches is how many batch statements of one kind run at once. A
// batch statement outside a transaction commits by itself, so each write
// is durable when its caller returns, while a batch costs one round trip
// and one commit.
const maxBatches = 4

// intentOp is one AddIntent outside a transaction.
type intentOp struct {
	ctx context.Context
	row reservationRow
	err error
}

// insertIntents inserts a batch of intents in one statement. A request id
// the customer used already is skipped (ON CONFLICT DO NOTHING) and its
// caller told so; the statement never fails for it.
func (s *Store) insertIntents(ops []*intentOp) {
	var sql strings.Builder
	sql.WriteString("INSERT INTO quota_reservations (id, customer_id, request_id, status, items, subject, expire_time, create_time, update_time) VALUES ")
	args := make([]any, 0, 9*len(ops))
	for i, op := range ops {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
		r := op.row
		args = append(args, r.ID, r.CustomerID, r.RequestID, r.Status, r.Items, r.Subject, r.ExpireTime, r.CreateTime, r.UpdateTime)
	}
	sql.WriteString(" ON CONFLICT DO NOTHING RETURNING id")
	var ids []string
	// No caller's context: one that leaves must not fail the others.
	err := s.db.OutsideTx(context.WithoutCancel(ops[0].ctx)).Raw(sql.String(), args...).Scan(&ids).Error
	inserted := make(map[string]bool, len(ids))
	for _, id := range ids {
		inserted[id] = true
	}
	for _, op := range ops {
		switch {
		case err != nil:
			op.err = fmt.Errorf("store: add reservation: %w", err)
		case !inserted[op.row.ID]:
			op.err = quota.ErrDuplicateKey
		default:
			delete(inserted, op.row.ID) // one row, one caller
		}
	}
}

// heldOp is one MarkHeld outside a transaction.
type heldOp struct {
	ctx  context.Context
	id   string
	at   time.Time
	held bool
	err  error
}

// markHeld marks a batch of pending reservations held in one statement,
// at the latest of the callers' times.
func (s *Store) markHeld(ops []*heldOp) {
	ids := make([]string, len(ops))
	at := ops[0].at
	for i, op := range ops {
		ids[i] = op.id
		if op.at.After(at) {
			at = op.at
		}
	}
	var marked []string
	err := s.db.OutsideTx(context.WithoutCancel(ops[0].ctx)).Raw(
		"UPDATE quota_reservations SET status = ?, update_time = ? WHERE status = ? AND id IN ? RETURNING id",
		string(quota.StatusHeld), at, string(quota.StatusPending), ids).Scan(&marked).Error
	held := make(map[string]bool, len(marked))
	for _, id := range marked {
		held[id] = true
	}
	for _, op := range ops {
		if err != nil {
			op.err = fmt.Errorf("store: mark reservation held: %w", err)
		}
		// An id marked once is reported to one caller only, as if the
		// marks had been written one after the other.
		op.held = held[op.id]
		delete(held, op.id)
	}
}
