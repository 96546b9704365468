package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Prepare creates the monthly event partitions the times need.
func (s *Store) Prepare(ctx context.Context, times []time.Time) error {
	if !s.pg {
		return nil
	}
	for _, t := range times {
		month := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		if _, ok := s.months.Load(month); ok {
			continue
		}
		if err := s.createPartition(ctx, month); err != nil {
			return err
		}
		s.months.Store(month, true)
	}
	return nil
}

// partitionName names the events partition of a month.
func partitionName(month time.Time) string { return "events_" + month.Format("2006_01") }

func (s *Store) createPartition(ctx context.Context, month time.Time) error {
	sql := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s PARTITION OF events FOR VALUES FROM ('%s') TO ('%s')",
		partitionName(month), month.Format(time.RFC3339), month.AddDate(0, 1, 0).Format(time.RFC3339))
	// Its own statement, outside the caller's transaction (a rollback of
	// the caller must not undo it, and a failure must not abort the
	// caller's transaction), and not cancelled with the caller: the
	// partition serves every later caller.
	if err := s.db.OutsideTx(context.WithoutCancel(ctx)).Exec(sql).Error; err != nil && !createdConcurrently(err) {
		return fmt.Errorf("store: create partition %s: %w", partitionName(month), err)
	}
	return nil
}

// createdConcurrently reports whether creating a table failed because a
// concurrent transaction created it first: "already exists" (42P07,
// duplicate_table) once that transaction has committed, or a unique
// violation (23505) on the catalog's pg_type while both are inserting the
// table's row type.
func createdConcurrently(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P07" || pgErr.Code == "23505")
}

// DropPartitionsBefore drops the monthly event partitions that end at or
// before t, with the idempotency keys of their events, and reports their
// names. Rollups and gauge points stay.
func (s *Store) DropPartitionsBefore(ctx context.Context, t time.Time) ([]string, error) {
	if !s.pg {
		return nil, nil
	}
	var names []string
	err := s.db.Conn(ctx).Raw(`SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		JOIN pg_namespace n ON n.oid = p.relnamespace
		WHERE p.relname = 'events' AND n.nspname = current_schema() ORDER BY c.relname`).Scan(&names).Error
	if err != nil {
		return nil, fmt.Errorf("store: list partitions: %w", err)
	}
	var dropped []string
	for _, name := range names {
		month, err := time.Parse("events_2006_01", name)
		if err != nil || month.AddDate(0, 1, 0).After(t) {
			continue
		}
		err = s.db.InTx(ctx, func(ctx context.Context) error {
			err := s.db.Conn(ctx).Exec(`DELETE FROM event_keys k USING ` + name + ` e
				WHERE k.customer_id = e.customer_id AND k.idempotency_key = e.idempotency_key`).Error
			if err != nil {
				return err
			}
			return s.db.Conn(ctx).Exec("DROP TABLE " + name).Error
		})
		if err != nil {
			return dropped, fmt.Errorf("store: drop partition %s: %w", name, err)
		}
		s.months.Delete(month)
		dropped = append(dropped, name)
	}
	return dropped, nil
}
