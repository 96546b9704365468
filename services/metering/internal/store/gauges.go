package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

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
