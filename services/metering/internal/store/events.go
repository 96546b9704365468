package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

// AddEvents claims each event's idempotency key and stores the events
// whose key was new, in key order so that concurrent batches lock rows in
// one order. On PostgreSQL that is one statement; only the keys claimed
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

// addEventsSQL claims the keys in one PostgreSQL statement, inserts the
// events whose key was new in another, and returns their ids. (One
// statement chaining both through a CTE measured slower.) While
// PostgreSQL claims the keys, the insert's columns are built for every
// event: usually every key is new, and the insert then takes them as
// built, so the Go work overlaps the claim instead of following it.
func (s *Store) addEventsSQL(ctx context.Context, events []metering.Event, props []string, received time.Time) (map[string]bool, error) {
	built := make(chan eventColumns, 1)
	go func() { built <- newEventColumns(events, props) }()
	customers, keys, ids, hashes := make([]string, len(events)), make([]string, len(events)), make([]string, len(events)), make([][]byte, len(events))
	for i, e := range events {
		customers[i], keys[i], ids[i], hashes[i] = e.CustomerID, e.Key, e.ID, e.Hash
	}
	rows, err := s.db.Conn(ctx).Statement.ConnPool.QueryContext(ctx, `INSERT INTO event_keys (customer_id, idempotency_key, event_id, payload_hash)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]) ON CONFLICT DO NOTHING RETURNING event_id`,
		customers, keys, ids, hashes)
	if err != nil {
		return nil, fmt.Errorf("store: claim keys: %w", err)
	}
	defer rows.Close()
	added := make(map[string]bool, len(events))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: claim keys: %w", err)
		}
		added[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: claim keys: %w", err)
	}
	cols := <-built
	if len(added) == 0 {
		return added, nil
	}
	if len(added) < len(events) {
		// Rare: a retry or a conflict. Build the columns of the new ones.
		var fresh []metering.Event
		var freshProps []string
		for i, e := range events {
			if added[e.ID] {
				fresh, freshProps = append(fresh, e), append(freshProps, props[i])
			}
		}
		cols = newEventColumns(fresh, freshProps)
	}
	err = s.exec(ctx, `INSERT INTO events (event_id, customer_id, meter_key, quantity, time, idempotency_key, subject, delta, source, properties, received_time)
		SELECT e.*, $11::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[], $6::text[], $7::text[], $8::boolean[], $9::text[], $10::text[])
		AS e(event_id, customer_id, meter_key, quantity, time, idempotency_key, subject, delta, source, properties)`,
		cols.ids, cols.customers, cols.meters, cols.quantities, cols.times, cols.keys, cols.subjects, cols.deltas, cols.sources, cols.props, received)
	if err != nil {
		return nil, fmt.Errorf("store: insert events: %w", err)
	}
	return added, nil
}

// eventColumns are events as the columns of the events insert.
type eventColumns struct {
	ids, customers, meters, quantities, keys, subjects, sources, props []string
	times                                                              []time.Time
	deltas                                                             []bool
}

// newEventColumns returns the columns of events (props[i] is the JSON of
// events[i]'s properties) by customer and time, the key of the events
// index, so that an insert walks its pages in order.
func newEventColumns(events []metering.Event, props []string) eventColumns {
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(events[a].CustomerID, events[b].CustomerID), events[a].Time.Compare(events[b].Time))
	})
	n := len(order)
	c := eventColumns{ids: make([]string, n), customers: make([]string, n), meters: make([]string, n), quantities: make([]string, n),
		keys: make([]string, n), subjects: make([]string, n), sources: make([]string, n), props: make([]string, n),
		times: make([]time.Time, n), deltas: make([]bool, n)}
	for i, j := range order {
		e := events[j]
		c.ids[i], c.customers[i], c.meters[i], c.quantities[i], c.keys[i] = e.ID, e.CustomerID, e.Meter, e.Quantity.String(), e.Key
		c.subjects[i], c.sources[i], c.times[i], c.deltas[i], c.props[i] = e.Subject, e.Source, e.Time, e.Delta, props[j]
	}
	return c
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
