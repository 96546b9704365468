package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

// AddEvents claims each event's idempotency key and stores the events
// whose key was new, in key order so that concurrent batches lock rows in
// one order. On PostgreSQL that is usually two COPYs; only the keys claimed
// before are read back.
func (s *Store) AddEvents(ctx context.Context, events []metering.Event, received time.Time) ([]metering.Claim, error) {
	sorted := slices.Clone(events)
	slices.SortFunc(sorted, func(a, b metering.Event) int {
		return cmp.Or(strings.Compare(a.CustomerID, b.CustomerID), strings.Compare(a.Key, b.Key))
	})
	props := make([]string, len(sorted))
	for i, e := range sorted {
		if len(e.Properties) > 0 {
			b, err := json.Marshal(e.Properties)
			if err != nil {
				return nil, err
			}
			props[i] = string(b)
		}
	}
	var added map[string]bool // event ids stored
	var err error
	if s.pg {
		added, err = s.addEventsSQL(ctx, sorted, props, received)
	} else {
		added, err = s.addEventsInGo(ctx, sorted, props, received)
	}
	if err != nil {
		return nil, err
	}

	claims := make([]metering.Claim, len(events))
	var takenCustomers, takenKeys []string
	for i, e := range events {
		if added[e.ID] {
			claims[i] = metering.Claim{New: true, EventID: e.ID, Hash: e.Hash}
		} else {
			takenCustomers, takenKeys = append(takenCustomers, e.CustomerID), append(takenKeys, e.Key)
		}
	}
	if len(takenKeys) == 0 {
		return claims, nil
	}
	rows, err := s.readKeys(ctx, takenCustomers, takenKeys)
	if err != nil {
		return nil, fmt.Errorf("store: read keys: %w", err)
	}
	type key struct{ customer, key string }
	before := make(map[key]metering.Claim, len(rows))
	for _, r := range rows {
		before[key{r.CustomerID, r.IdempotencyKey}] = metering.Claim{EventID: r.EventID, Hash: r.PayloadHash}
	}
	for i, e := range events {
		if !claims[i].New {
			claims[i] = before[key{e.CustomerID, e.Key}]
		}
	}
	return claims, nil
}

// keyRow is a claimed idempotency key.
type keyRow struct {
	CustomerID     string
	IdempotencyKey string
	EventID        string
	PayloadHash    []byte
}

// readKeysChunk is how many keys one SQLite query reads: a list of row
// values in IN is bounded by SQLite's limit on variables.
const readKeysChunk = 500

// readKeys reads the claims of the keys (customers[i], keys[i]): on
// PostgreSQL in one query joining two arrays (a list of 10,000 row values
// in IN would exceed PostgreSQL's stack depth while it is parsed), on
// SQLite in chunks.
func (s *Store) readKeys(ctx context.Context, customers, keys []string) ([]keyRow, error) {
	var rows []keyRow
	if s.pg {
		// Through the pool, as addEventsSQL: gorm would expand the arrays.
		res, err := s.db.Conn(ctx).Statement.ConnPool.QueryContext(ctx, `SELECT k.customer_id, k.idempotency_key, k.event_id, k.payload_hash
			FROM unnest($1::text[], $2::text[]) AS t(customer_id, idempotency_key)
			JOIN event_keys k ON k.customer_id = t.customer_id AND k.idempotency_key = t.idempotency_key`,
			customers, keys)
		if err != nil {
			return nil, err
		}
		defer res.Close()
		for res.Next() {
			var r keyRow
			if err := res.Scan(&r.CustomerID, &r.IdempotencyKey, &r.EventID, &r.PayloadHash); err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
		return rows, res.Err()
	}
	for start := 0; start < len(keys); start += readKeysChunk {
		end := min(start+readKeysChunk, len(keys))
		pairs := make([][]any, 0, end-start)
		for i := start; i < end; i++ {
			pairs = append(pairs, []any{customers[i], keys[i]})
		}
		var chunk []keyRow
		err := s.db.Conn(ctx).Table("event_keys").Select("customer_id, idempotency_key, event_id, payload_hash").
			Where("(customer_id, idempotency_key) IN ?", pairs).Find(&chunk).Error
		if err != nil {
			return nil, err
		}
		rows = append(rows, chunk...)
	}
	return rows, nil
}

// addEventsSQL claims the keys and stores the events whose key was new,
// and returns their ids. Usually every key is new, so it first claims
// them all with one COPY into event_keys in a savepoint: the least
// PostgreSQL can do to store the keys. A key claimed before fails that
// COPY (a concurrent batch's key makes it wait for that batch, as an
// insert would); then the savepoint is rolled back and the keys are
// claimed by INSERT … ON CONFLICT DO NOTHING, which returns the new ones.
// The events of the new keys are then stored with COPY too, by customer
// and time, the key of the events index, so that their inserts walk its
// pages in order.
func (s *Store) addEventsSQL(ctx context.Context, events []metering.Event, props []string, received time.Time) (map[string]bool, error) {
	added := make(map[string]bool, len(events))
	err := s.db.Pgx(ctx, func(c *pgx.Conn) error {
		fresh, freshProps := events, props
		claimed, err := copyKeys(ctx, c, events)
		if err != nil {
			return err
		}
		if !claimed {
			if fresh, freshProps, err = claimKeys(ctx, c, events, props); err != nil {
				return err
			}
		}
		for _, e := range fresh {
			added[e.ID] = true
		}
		if len(fresh) == 0 {
			return nil
		}
		return copyEvents(ctx, c, fresh, freshProps, received)
	})
	return added, err
}

// copyKeys claims every event's key with one COPY in a savepoint and
// reports whether it could; when a key was claimed before, it rolls the
// savepoint back and claims nothing.
func copyKeys(ctx context.Context, c *pgx.Conn, events []metering.Event) (bool, error) {
	if _, err := c.Exec(ctx, "SAVEPOINT claim_keys"); err != nil {
		return false, fmt.Errorf("store: claim keys: %w", err)
	}
	i := 0
	_, err := c.CopyFrom(ctx, pgx.Identifier{"event_keys"}, []string{"customer_id", "idempotency_key", "event_id", "payload_hash"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(events) {
				return nil, nil
			}
			e := events[i]
			i++
			return []any{e.CustomerID, e.Key, e.ID, e.Hash}, nil
		}))
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &pgErr) && pgErr.Code == uniqueViolation:
		if _, err := c.Exec(ctx, "ROLLBACK TO SAVEPOINT claim_keys"); err != nil {
			return false, fmt.Errorf("store: claim keys: %w", err)
		}
		return false, nil
	default:
		return false, fmt.Errorf("store: claim keys: %w", err)
	}
}

// claimKeys claims the keys not claimed before and returns their events
// and properties.
func claimKeys(ctx context.Context, c *pgx.Conn, events []metering.Event, props []string) ([]metering.Event, []string, error) {
	customers, keys, ids, hashes := make([]string, len(events)), make([]string, len(events)), make([]string, len(events)), make([][]byte, len(events))
	for i, e := range events {
		customers[i], keys[i], ids[i], hashes[i] = e.CustomerID, e.Key, e.ID, e.Hash
	}
	rows, err := c.Query(ctx, `INSERT INTO event_keys (customer_id, idempotency_key, event_id, payload_hash)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) ON CONFLICT DO NOTHING RETURNING event_id`,
		customers, keys, ids, hashes)
	if err != nil {
		return nil, nil, fmt.Errorf("store: claim keys: %w", err)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("store: claim keys: %w", err)
	}
	added := make(map[string]bool, len(claimed))
	for _, id := range claimed {
		added[id] = true
	}
	var fresh []metering.Event
	var freshProps []string
	for i, e := range events {
		if added[e.ID] {
			fresh, freshProps = append(fresh, e), append(freshProps, props[i])
		}
	}
	return fresh, freshProps, nil
}

// copyEvents stores events (props[i] is the JSON of events[i]'s
// properties) with one COPY, by customer and time.
func copyEvents(ctx context.Context, c *pgx.Conn, events []metering.Event, props []string, received time.Time) error {
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(events[a].CustomerID, events[b].CustomerID), events[a].Time.Compare(events[b].Time))
	})
	n := 0
	_, err := c.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"event_id", "customer_id", "meter_key", "quantity", "time",
		"idempotency_key", "subject", "delta", "source", "properties", "received_time"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if n == len(order) {
				return nil, nil
			}
			i := order[n]
			e := events[i]
			n++
			return []any{e.ID, e.CustomerID, e.Meter, numeric{e.Quantity}, e.Time, e.Key, e.Subject, e.Delta, e.Source, props[i], received}, nil
		}))
	if err != nil {
		return fmt.Errorf("store: insert events: %w", badValue(err))
	}
	return nil
}

// numeric is a decimal as pgx encodes a NUMERIC: its coefficient and
// exponent, with no text in between.
type numeric struct{ d money.Decimal }

func (n numeric) NumericValue() (pgtype.Numeric, error) {
	return pgtype.Numeric{Int: n.d.Coefficient(), Exp: n.d.Exponent(), Valid: true}, nil
}

// addEventsInGo claims keys one by one (SQLite has one writer) and inserts
// each event whose key was new, and returns their ids. Row by row, and
// without gorm, whose reflection cost as much as SQLite: the SQLite driver
// parses a statement at every execution anyway, and multi-row statements
// measured slower (docs/benchmarks.md).
func (s *Store) addEventsInGo(ctx context.Context, events []metering.Event, props []string, received time.Time) (map[string]bool, error) {
	conn, rowCtx := s.db.Conn(ctx).Statement.ConnPool, rowContext(ctx)
	added := make(map[string]bool, len(events))
	for i, e := range events {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := conn.ExecContext(rowCtx, `INSERT INTO event_keys (customer_id, idempotency_key, event_id, payload_hash)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, e.CustomerID, e.Key, e.ID, e.Hash)
		if err != nil {
			return nil, fmt.Errorf("store: claim keys: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, fmt.Errorf("store: claim keys: %w", err)
		}
		if n == 0 {
			continue
		}
		added[e.ID] = true
		if _, err := conn.ExecContext(rowCtx, `INSERT INTO events (event_id, customer_id, meter_key, quantity, time, idempotency_key,
			subject, delta, source, properties, received_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.CustomerID, e.Meter, e.Quantity.String(), e.Time, e.Key, e.Subject, e.Delta, e.Source, props[i], received); err != nil {
			return nil, fmt.Errorf("store: insert events: %w", err)
		}
	}
	return added, nil
}

// EventsAfter returns up to limit events of a customer or a source in p
// after the event after (from the start if nil), in the reports' order:
// by time, customer, meter and idempotency key, which identify an event.
// The identifiers are COLLATE "C" on PostgreSQL and BINARY on SQLite, so
// both order them as Go compares strings.
func (s *Store) EventsAfter(ctx context.Context, customerID, source string, p metering.Period, after *metering.Event, limit int) ([]metering.Event, error) {
	q := s.db.Conn(ctx).Where("time >= ? AND time < ?", p.Start, p.End)
	if customerID != "" {
		q = q.Where("customer_id = ?", customerID)
	} else {
		q = q.Where("source = ?", source)
	}
	if after != nil {
		q = q.Where("(time, customer_id, meter_key, idempotency_key) > (?, ?, ?, ?)", after.Time, after.CustomerID, after.Meter, after.Key)
	}
	var rows []event
	if err := q.Order("time, customer_id, meter_key, idempotency_key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	out := make([]metering.Event, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.toDomain(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"
