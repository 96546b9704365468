package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

// queriesCTE returns a WITH clause naming the queries q(i, c, s, e) (index,
// customer, start, end) and its arguments. PostgreSQL types the columns by
// the first row's casts; SQLite compares the times as the driver binds
// them, as every other query of the store does.
func (s *Store) queriesCTE(qs []metering.UsageQuery) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 4*len(qs))
	b.WriteString("WITH q(i, c, s, e) AS (VALUES ")
	for i, q := range qs {
		switch {
		case i > 0:
			b.WriteString(", (?, ?, ?, ?)")
		case s.pg:
			b.WriteString("(CAST(? AS integer), CAST(? AS text), CAST(? AS timestamptz), CAST(? AS timestamptz))")
		default:
			b.WriteString("(?, ?, ?, ?)")
		}
		args = append(args, i, q.CustomerID, q.Period.Start.UTC(), q.Period.End.UTC())
	}
	b.WriteString(") ")
	return b.String(), args
}

type queryRollup struct {
	Query      int
	MeterKey   string
	Hour       time.Time
	Subject    string
	Total      string
	Count      int64
	Max        string
	LatestTime time.Time
	Latest     string
}

// BatchRollups returns the rollups of every meter of each query's customer
// in its period, in one statement, by query, meter and subject. On
// PostgreSQL they are summed in SQL per query, meter and subject (Hour is
// the first hour); SQLite returns the hourly rows.
func (s *Store) BatchRollups(ctx context.Context, qs []metering.UsageQuery) ([]metering.QueryRollup, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	with, args := s.queriesCTE(qs)
	sql := with + `SELECT q.i AS query, r.meter_key, r.hour, r.subject, r.total, r.count, r.max, r.latest_time, r.latest
		FROM q JOIN rollups r ON r.customer_id = q.c AND r.hour >= q.s AND r.hour < q.e
		ORDER BY q.i, r.meter_key, r.subject, r.hour`
	if s.pg {
		sql = with + `SELECT q.i AS query, r.meter_key, MIN(r.hour) AS hour, r.subject, SUM(r.total) AS total, SUM(r.count) AS count,
			MAX(r.max) AS max, MAX(r.latest_time) AS latest_time, (array_agg(r.latest ORDER BY r.latest_time DESC))[1] AS latest
		FROM q JOIN rollups r ON r.customer_id = q.c AND r.hour >= q.s AND r.hour < q.e
		GROUP BY q.i, r.meter_key, r.subject
		ORDER BY q.i, r.meter_key, r.subject`
	}
	var rows []queryRollup
	if err := s.db.Conn(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: batch rollups: %w", err)
	}
	out := make([]metering.QueryRollup, len(rows))
	for i, r := range rows {
		ro, err := rollup{Hour: r.Hour, Subject: r.Subject, Total: r.Total, Count: r.Count, Max: r.Max,
			LatestTime: r.LatestTime, Latest: r.Latest}.toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = metering.QueryRollup{Query: r.Query, Meter: r.MeterKey, Rollup: ro}
	}
	return out, nil
}

type queryPoint struct {
	Query      int
	CustomerID string
	MeterKey   string
	Subject    string
	Time       time.Time
	EventID    string
	Value      string
	Delta      bool
	Level      string
}

// BatchGaugePoints returns, for each query, the gauge points of every
// meter of its customer that its period needs: per meter and subject the
// last point before the period and the points in it, in one statement, by
// query, meter, subject, time and event id.
func (s *Store) BatchGaugePoints(ctx context.Context, qs []metering.UsageQuery) ([]metering.QueryPoint, error) {
	if len(qs) == 0 {
		return nil, nil
	}
	with, args := s.queriesCTE(qs)
	const columns = "customer_id, meter_key, subject, time, event_id, value, delta, level"
	sql := with + `SELECT q.i AS query, g.customer_id, g.meter_key, g.subject, g.time, g.event_id, g.value, g.delta, g.level
		FROM q JOIN gauge_points g ON g.customer_id = q.c AND g.time >= q.s AND g.time < q.e
		UNION ALL
		SELECT query, ` + columns + ` FROM (
			SELECT q.i AS query, g.customer_id, g.meter_key, g.subject, g.time, g.event_id, g.value, g.delta, g.level,
				ROW_NUMBER() OVER (PARTITION BY q.i, g.meter_key, g.subject ORDER BY g.time DESC, g.event_id DESC) AS rn
			FROM q JOIN gauge_points g ON g.customer_id = q.c AND g.time < q.s) b
		WHERE rn = 1
		ORDER BY query, meter_key, subject, time, event_id`
	var rows []queryPoint
	if err := s.db.Conn(ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: batch gauge points: %w", err)
	}
	out := make([]metering.QueryPoint, len(rows))
	for i, r := range rows {
		pts, err := gaugePoints([]gaugePoint{{CustomerID: r.CustomerID, MeterKey: r.MeterKey, Subject: r.Subject, Time: r.Time,
			EventID: r.EventID, Value: r.Value, Delta: r.Delta, Level: r.Level}})
		if err != nil {
			return nil, err
		}
		out[i] = metering.QueryPoint{Query: r.Query, Meter: r.MeterKey, Point: pts[0]}
	}
	return out, nil
}
