package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

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

// addRollupsInGo reads, adds and writes rollups row by row, without
// gorm: SQLite has one writer, so nobody changes them in between.
func (s *Store) addRollupsInGo(ctx context.Context, rs []metering.RollupDelta) error {
	conn, rowCtx := s.db.Conn(ctx).Statement.ConnPool, rowContext(ctx)
	for _, d := range rs {
		if err := ctx.Err(); err != nil {
			return err
		}
		next := d.Rollup
		row := rollup{Hour: d.Hour, Subject: d.Subject}
		err := conn.QueryRowContext(rowCtx, `SELECT total, count, max, latest_time, latest FROM rollups
			WHERE customer_id = ? AND meter_key = ? AND hour = ? AND subject = ?`, d.CustomerID, d.Meter, d.Hour, d.Subject).
			Scan(&row.Total, &row.Count, &row.Max, &row.LatestTime, &row.Latest)
		switch {
		case err == nil:
			prev, err := row.toDomain()
			if err != nil {
				return err
			}
			prev.Merge(d.Rollup)
			next = prev
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("store: read rollup: %w", err)
		}
		if _, err := conn.ExecContext(rowCtx, `INSERT INTO rollups (customer_id, meter_key, hour, subject, total, count, max, latest_time, latest)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (customer_id, meter_key, hour, subject) DO UPDATE SET total = excluded.total, count = excluded.count,
				max = excluded.max, latest_time = excluded.latest_time, latest = excluded.latest`,
			d.CustomerID, d.Meter, d.Hour, d.Subject, next.Total.String(), next.Count, next.Max.String(), next.LatestTime, next.Latest.String()); err != nil {
			return fmt.Errorf("store: write rollup: %w", err)
		}
	}
	return nil
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
