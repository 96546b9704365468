package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

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

// ClosePeriods moves the closing time of each customer of before forward,
// in one statement: an upsert that keeps the later of the stored and the
// new time, returning every row it touched.
func (s *Store) ClosePeriods(ctx context.Context, before map[string]time.Time) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(before))
	if len(before) == 0 {
		return out, nil
	}
	customers := slices.Sorted(maps.Keys(before))
	var sql strings.Builder
	sql.WriteString("INSERT INTO closed_periods (customer_id, closed_before) VALUES ")
	args := make([]any, 0, 2*len(customers))
	for i, c := range customers {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString("(?, ?)")
		args = append(args, c, before[c].UTC())
	}
	sql.WriteString(` ON CONFLICT (customer_id) DO UPDATE SET closed_before = CASE
		WHEN excluded.closed_before > closed_periods.closed_before THEN excluded.closed_before
		ELSE closed_periods.closed_before END
		RETURNING customer_id, closed_before`)
	var rows []closedPeriod
	if err := s.db.Conn(ctx).Raw(sql.String(), args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: close periods: %w", err)
	}
	for _, r := range rows {
		out[r.CustomerID] = r.ClosedBefore.UTC()
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
