// Package store keeps the metering service's data in its SQL database. It
// implements metering.Store on PostgreSQL, where the hot paths are single
// array statements with decimal arithmetic in SQL, and on SQLite, where
// decimals are text and arithmetic happens in Go.
package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/platform/errs"
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

// CreateMeter inserts a meter.
func (s *Store) CreateMeter(ctx context.Context, m metering.Meter) error {
	err := s.db.Conn(ctx).Create(&meter{Key: m.Key, FeatureKey: m.Feature, Aggregation: m.Aggregation.String(),
		Description: m.Description, CreateTime: m.CreateTime}).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errs.New(errs.AlreadyExists, "meter %q, or a meter of feature %q, exists", m.Key, m.Feature)
	}
	return err
}

// GetMeter returns a meter.
func (s *Store) GetMeter(ctx context.Context, key string) (metering.Meter, error) {
	return s.findMeter(ctx, "key = ?", key)
}

// MeterOf returns the meter of a feature.
func (s *Store) MeterOf(ctx context.Context, feature string) (metering.Meter, error) {
	return s.findMeter(ctx, "feature_key = ?", feature)
}

func (s *Store) findMeter(ctx context.Context, where, arg string) (metering.Meter, error) {
	var row meter
	err := s.db.Conn(ctx).Where(where, arg).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return metering.Meter{}, errs.New(errs.NotFound, "no meter for %q", arg)
	}
	if err != nil {
		return metering.Meter{}, fmt.Errorf("store: get meter: %w", err)
	}
	return row.toDomain(), nil
}

// ListMeters returns up to limit meters after after, by key.
func (s *Store) ListMeters(ctx context.Context, after string, limit int) ([]metering.Meter, error) {
	var rows []meter
	if err := s.db.Conn(ctx).Where("key > ?", after).Order("key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list meters: %w", err)
	}
	out := make([]metering.Meter, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

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
	var taken [][]any
	for i, e := range events {
		if added[e.ID] {
			claims[i] = metering.Claim{New: true, EventID: e.ID, Hash: e.Hash}
		} else {
			taken = append(taken, []any{e.CustomerID, e.Key})
		}
	}
	if len(taken) == 0 {
		return claims, nil
	}
	var rows []struct {
		CustomerID     string
		IdempotencyKey string
		EventID        string
		PayloadHash    []byte
	}
	err = s.db.Conn(ctx).Table("event_keys").Select("customer_id, idempotency_key, event_id, payload_hash").
		Where("(customer_id, idempotency_key) IN ?", taken).Find(&rows).Error
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

// addEventsSQL claims the keys in one PostgreSQL statement, inserts the
// events whose key was new in another, and returns their ids. (One
// statement chaining both through a CTE measured slower.)
func (s *Store) addEventsSQL(ctx context.Context, events []metering.Event, props []string, received time.Time) (map[string]bool, error) {
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
	if len(added) == 0 {
		return added, nil
	}

	// The new events, by customer and time, the key of the events index,
	// so that inserts walk its pages in order.
	var order []int
	for i, e := range events {
		if added[e.ID] {
			order = append(order, i)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(events[a].CustomerID, events[b].CustomerID), events[a].Time.Compare(events[b].Time))
	})
	n := len(order)
	ids, customers, meters, quantities, keys, subjects, sources, texts := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times, deltas := make([]time.Time, n), make([]bool, n)
	for i, j := range order {
		e := events[j]
		ids[i], customers[i], meters[i], quantities[i], keys[i] = e.ID, e.CustomerID, e.Meter, e.Quantity.String(), e.Key
		subjects[i], sources[i], times[i], deltas[i], texts[i] = e.Subject, e.Source, e.Time, e.Delta, props[j]
	}
	err = s.exec(ctx, `INSERT INTO events (event_id, customer_id, meter_key, quantity, time, idempotency_key, subject, delta, source, properties, received_time)
		SELECT e.*, $11::timestamptz FROM unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[], $6::text[], $7::text[], $8::boolean[], $9::text[], $10::text[])
		AS e(event_id, customer_id, meter_key, quantity, time, idempotency_key, subject, delta, source, properties)`,
		ids, customers, meters, quantities, times, keys, subjects, deltas, sources, texts, received)
	if err != nil {
		return nil, fmt.Errorf("store: insert events: %w", err)
	}
	return added, nil
}

// addEventsInGo claims keys one by one (SQLite has one writer) and inserts
// the events whose key was new; it returns their ids.
func (s *Store) addEventsInGo(ctx context.Context, events []metering.Event, props []string, received time.Time) (map[string]bool, error) {
	added := make(map[string]bool, len(events))
	var rows []event
	for i, e := range events {
		res := s.db.Conn(ctx).Exec(`INSERT INTO event_keys (customer_id, idempotency_key, event_id, payload_hash)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, e.CustomerID, e.Key, e.ID, e.Hash)
		if res.Error != nil {
			return nil, fmt.Errorf("store: claim keys: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			continue
		}
		added[e.ID] = true
		rows = append(rows, event{EventID: e.ID, CustomerID: e.CustomerID, MeterKey: e.Meter, Quantity: e.Quantity.String(), Time: e.Time,
			IdempotencyKey: e.Key, Subject: e.Subject, Delta: e.Delta, Source: e.Source, Properties: props[i], ReceivedTime: received})
	}
	if len(rows) == 0 {
		return added, nil
	}
	if err := s.db.Conn(ctx).CreateInBatches(rows, 500).Error; err != nil {
		return nil, fmt.Errorf("store: insert events: %w", err)
	}
	return added, nil
}

// AddRollups adds hourly aggregates to the stored ones.
func (s *Store) AddRollups(ctx context.Context, rs []metering.RollupDelta) error {
	if len(rs) == 0 {
		return nil
	}
	if !s.pg {
		return s.addRollupsInGo(ctx, rs)
	}
	if err := s.upsertRollups(ctx, "rollups", "hour", rs); err != nil {
		return err
	}
	return s.upsertRollups(ctx, "daily_rollups", "day", daily(rs))
}

// daily sums hourly deltas over subjects into days, keeping their order
// (customer, meter, time).
func daily(rs []metering.RollupDelta) []metering.RollupDelta {
	var out []metering.RollupDelta
	for _, r := range rs {
		day := r.Hour.Truncate(24 * time.Hour)
		n := len(out)
		if n > 0 && out[n-1].CustomerID == r.CustomerID && out[n-1].Meter == r.Meter && out[n-1].Hour.Equal(day) {
			out[n-1].Merge(r.Rollup)
			continue
		}
		r.Hour, r.Subject = day, ""
		out = append(out, r)
	}
	return out
}

// upsertRollups adds deltas to a PostgreSQL rollup table keyed by
// customer, meter, the time column and, for hourly rollups, subject, with
// the decimal arithmetic in SQL.
func (s *Store) upsertRollups(ctx context.Context, table, timeColumn string, rs []metering.RollupDelta) error {
	n := len(rs)
	customers, meters, subjects, totals, maxes, latests := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times, latestTimes, counts := make([]time.Time, n), make([]time.Time, n), make([]int64, n)
	for i, r := range rs {
		customers[i], meters[i], subjects[i], times[i] = r.CustomerID, r.Meter, r.Subject, r.Hour
		totals[i], counts[i], maxes[i], latestTimes[i], latests[i] = r.Total.String(), r.Count, r.Max.String(), r.LatestTime, r.Latest.String()
	}
	key, subject, subjectArg := "customer_id, meter_key, "+timeColumn, "", ""
	if table == "rollups" {
		key, subject, subjectArg = key+", subject", "subject, ", "s, "
	}
	sql := fmt.Sprintf(`INSERT INTO %[1]s (customer_id, meter_key, %[2]s, %[3]stotal, count, max, latest_time, latest)
		SELECT c, m, t, %[4]stotal, count, max, latest_time, latest
		FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::numeric[], $6::bigint[], $7::numeric[], $8::timestamptz[], $9::numeric[])
			AS x(c, m, t, s, total, count, max, latest_time, latest)
		ON CONFLICT (%[5]s) DO UPDATE SET
			total = %[1]s.total + EXCLUDED.total,
			count = %[1]s.count + EXCLUDED.count,
			max = GREATEST(%[1]s.max, EXCLUDED.max),
			latest = CASE WHEN EXCLUDED.latest_time >= %[1]s.latest_time THEN EXCLUDED.latest ELSE %[1]s.latest END,
			latest_time = GREATEST(%[1]s.latest_time, EXCLUDED.latest_time)`, table, timeColumn, subject, subjectArg, key)
	if err := s.exec(ctx, sql, customers, meters, times, subjects, totals, counts, maxes, latestTimes, latests); err != nil {
		return fmt.Errorf("store: add %s: %w", table, badValue(err))
	}
	return nil
}

// addRollupsInGo reads, adds and writes rollups: SQLite has one writer, so
// nobody changes them in between.
func (s *Store) addRollupsInGo(ctx context.Context, rs []metering.RollupDelta) error {
	for _, d := range rs {
		var row rollup
		err := s.db.Conn(ctx).Where("customer_id = ? AND meter_key = ? AND hour = ? AND subject = ?", d.CustomerID, d.Meter, d.Hour, d.Subject).
			Limit(1).Find(&row).Error
		if err != nil {
			return fmt.Errorf("store: read rollup: %w", err)
		}
		next := d.Rollup
		if row.CustomerID != "" {
			old, err := row.toDomain()
			if err != nil {
				return err
			}
			old.Merge(d.Rollup)
			next = old
		}
		key := []clause.Column{{Name: "customer_id"}, {Name: "meter_key"}, {Name: "hour"}, {Name: "subject"}}
		err = s.db.Conn(ctx).Clauses(clause.OnConflict{Columns: key, UpdateAll: true}).Create(fromRollup(d.CustomerID, d.Meter, next)).Error
		if err != nil {
			return fmt.Errorf("store: write rollup: %w", err)
		}
	}
	return nil
}

// GaugeRun locks the subject and returns the points a new point at t can
// change.
func (s *Store) GaugeRun(ctx context.Context, customerID, meter, subject string, t time.Time) ([]metering.GaugePoint, error) {
	conn := s.db.Conn(ctx)
	if s.pg {
		if err := conn.Exec("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", customerID+"\x1f"+meter+"\x1f"+subject).Error; err != nil {
			return nil, fmt.Errorf("store: lock gauge: %w", err)
		}
	}
	where := "customer_id = ? AND meter_key = ? AND subject = ?"
	var base, next []gaugePoint
	if err := conn.Where(where+" AND delta = ? AND time <= ?", customerID, meter, subject, false, t).
		Order("time DESC, event_id DESC").Limit(1).Find(&base).Error; err != nil {
		return nil, fmt.Errorf("store: gauge base: %w", err)
	}
	if err := conn.Where(where+" AND delta = ? AND time > ?", customerID, meter, subject, false, t).
		Order("time, event_id").Limit(1).Find(&next).Error; err != nil {
		return nil, fmt.Errorf("store: gauge next: %w", err)
	}
	q := conn.Where(where, customerID, meter, subject)
	if len(base) == 1 {
		q = q.Where("(time > ? OR (time = ? AND event_id >= ?))", base[0].Time, base[0].Time, base[0].EventID)
	}
	if len(next) == 1 {
		q = q.Where("time < ?", next[0].Time)
	}
	var rows []gaugePoint
	if err := q.Order("time, event_id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: gauge run: %w", err)
	}
	return gaugePoints(rows)
}

// PutGaugePoints inserts points and updates levels.
func (s *Store) PutGaugePoints(ctx context.Context, customerID, meter string, insert, update []metering.GaugePoint) error {
	for _, p := range insert {
		if err := s.db.Conn(ctx).Create(fromGaugePoint(customerID, meter, p)).Error; err != nil {
			return fmt.Errorf("store: insert gauge point: %w", err)
		}
	}
	for _, p := range update {
		err := s.db.Conn(ctx).Model(&gaugePoint{}).
			Where("customer_id = ? AND meter_key = ? AND subject = ? AND time = ? AND event_id = ?", customerID, meter, p.Subject, p.Time, p.EventID).
			Update("level", p.Level.String()).Error
		if err != nil {
			return fmt.Errorf("store: update gauge level: %w", err)
		}
	}
	return nil
}

// NoteSources records sources seen.
func (s *Store) NoteSources(ctx context.Context, seen []metering.SourceDay) error {
	if len(seen) == 0 {
		return nil
	}
	seen = slices.Clone(seen)
	slices.SortFunc(seen, func(a, b metering.SourceDay) int {
		return cmp.Or(strings.Compare(a.CustomerID, b.CustomerID), a.Day.Compare(b.Day), strings.Compare(a.Source, b.Source))
	})
	var err error
	if s.pg {
		customers, sources, days := make([]string, len(seen)), make([]string, len(seen)), make([]time.Time, len(seen))
		for i, sd := range seen {
			customers[i], sources[i], days[i] = sd.CustomerID, sd.Source, sd.Day
		}
		err = s.exec(ctx, `INSERT INTO source_days (customer_id, source, day)
			SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING`, customers, sources, days)
	} else {
		rows := make([]sourceDay, len(seen))
		for i, sd := range seen {
			rows[i] = sourceDay{CustomerID: sd.CustomerID, Source: sd.Source, Day: sd.Day}
		}
		err = s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error
	}
	if err != nil {
		return fmt.Errorf("store: note sources: %w", err)
	}
	return nil
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

// Rollups returns a customer's rollups of a meter in p. On PostgreSQL
// they are combined in SQL into the caller's windows (and over subjects
// unless asked per subject), so a month is one row; SQLite returns the
// hourly rows and the caller combines them.
func (s *Store) Rollups(ctx context.Context, customerID, meter string, p metering.Period, rq metering.RollupQuery) ([]metering.Rollup, error) {
	var rows []rollup
	table, column := "rollups", "hour"
	if s.pg && !rq.PerSubject && rq.Window != metering.WindowHour && wholeDays(p) {
		table, column = "daily_rollups", "day"
	}
	q := s.db.Conn(ctx).Table(table).Where("customer_id = ? AND meter_key = ? AND "+column+" >= ? AND "+column+" < ?", customerID, meter, p.Start, p.End)
	if s.pg {
		bucket := map[metering.Window]string{
			metering.WindowHour:  "hour",
			metering.WindowDay:   "date_trunc('day', " + column + ", 'UTC')",
			metering.WindowMonth: "date_trunc('month', " + column + ", 'UTC')",
		}[rq.Window]
		if table == "daily_rollups" && rq.Window == metering.WindowDay {
			bucket = "day"
		}
		group := "customer_id"
		if bucket != "" {
			group += ", " + bucket
		} else {
			bucket = "MIN(" + column + ")"
		}
		subject := "''"
		if rq.PerSubject {
			subject, group = "subject", group+", subject"
		}
		latest := "'0'"
		if rq.Latest {
			latest = "(array_agg(latest ORDER BY latest_time DESC))[1]"
		}
		q = q.Select(bucket + " AS hour, " + subject + ` AS subject, SUM(total) AS total, SUM(count) AS count,
			MAX(max) AS max, MAX(latest_time) AS latest_time, ` + latest + " AS latest").Group(group)
	}
	if err := q.Order("hour").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: rollups: %w", err)
	}
	out := make([]metering.Rollup, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.toDomain(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// wholeDays reports whether p starts and ends at midnight UTC.
func wholeDays(p metering.Period) bool {
	return p.Start.Equal(p.Start.Truncate(24*time.Hour)) && p.End.Equal(p.End.Truncate(24*time.Hour))
}

// GaugePoints returns per subject the last point before p and the points
// in p.
func (s *Store) GaugePoints(ctx context.Context, customerID, meter string, p metering.Period) ([]metering.GaugePoint, error) {
	var before, in []gaugePoint
	err := s.db.Conn(ctx).Raw(`SELECT customer_id, meter_key, subject, time, event_id, value, delta, level FROM (
			SELECT g.*, ROW_NUMBER() OVER (PARTITION BY subject ORDER BY time DESC, event_id DESC) AS rn
			FROM gauge_points g WHERE customer_id = ? AND meter_key = ? AND time < ?) b WHERE rn = 1`,
		customerID, meter, p.Start).Scan(&before).Error
	if err != nil {
		return nil, fmt.Errorf("store: gauge points before: %w", err)
	}
	err = s.db.Conn(ctx).Where("customer_id = ? AND meter_key = ? AND time >= ? AND time < ?", customerID, meter, p.Start, p.End).
		Find(&in).Error
	if err != nil {
		return nil, fmt.Errorf("store: gauge points: %w", err)
	}
	rows := append(before, in...)
	slices.SortFunc(rows, func(a, b gaugePoint) int {
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.EventID, b.EventID)
	})
	return gaugePoints(rows)
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

// ClosedBefore returns the closing times of the customers that have one.
func (s *Store) ClosedBefore(ctx context.Context, customerIDs []string) (map[string]time.Time, error) {
	var rows []closedPeriod
	if err := s.db.Conn(ctx).Where("customer_id IN ?", customerIDs).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: closed periods: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		out[r.CustomerID] = r.ClosedBefore.UTC()
	}
	return out, nil
}

// ClosePeriod moves a customer's closing time forward.
func (s *Store) ClosePeriod(ctx context.Context, customerID string, before time.Time) (time.Time, error) {
	var out time.Time
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		var rows []closedPeriod
		if err := s.db.Conn(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("customer_id = ?", customerID).Find(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 1 && !rows[0].ClosedBefore.Before(before) {
			out = rows[0].ClosedBefore.UTC()
			return nil
		}
		out = before
		return s.db.Conn(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "customer_id"}}, UpdateAll: true}).Create(&closedPeriod{CustomerID: customerID, ClosedBefore: before}).Error
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: close period: %w", err)
	}
	return out, nil
}

// MarkComplete records a completeness mark.
func (s *Store) MarkComplete(ctx context.Context, source, customerID string, p metering.Period, at time.Time) error {
	err := s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&completenessMark{Source: source, CustomerID: customerID, StartTime: p.Start, EndTime: p.End, CreateTime: at}).Error
	if err != nil {
		return fmt.Errorf("store: mark complete: %w", err)
	}
	return nil
}

// Completeness returns the sources that reported usage of the customer on
// the days overlapping p and those that marked a period covering p.
func (s *Store) Completeness(ctx context.Context, customerID string, p metering.Period) (reported, marked []string, err error) {
	err = s.db.Conn(ctx).Model(&sourceDay{}).Distinct("source").
		Where("customer_id = ? AND day >= ? AND day < ?", customerID, p.Start.Truncate(24*time.Hour), p.End).
		Order("source").Pluck("source", &reported).Error
	if err != nil {
		return nil, nil, fmt.Errorf("store: sources: %w", err)
	}
	err = s.db.Conn(ctx).Model(&completenessMark{}).Distinct("source").
		Where("customer_id = ? AND start_time <= ? AND end_time >= ?", customerID, p.Start, p.End).
		Order("source").Pluck("source", &marked).Error
	if err != nil {
		return nil, nil, fmt.Errorf("store: marks: %w", err)
	}
	return reported, marked, nil
}

// parse reads a decimal the store wrote. Sums may exceed what an event
// quantity may hold (money.Parse's limits), so only the syntax is checked.
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
