package store

import (
	"context"
	"fmt"
	"time"

	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

type allocationRow struct {
	CustomerID    string
	FeatureKey    string
	Subject       string
	ReservationID string
	Quantity      int64
	CreateTime    time.Time
}

func (allocationRow) TableName() string { return "quota_allocations" }

// AddAllocations implements quota.Store.
func (s *Store) AddAllocations(ctx context.Context, r quota.Reservation, subjects []string, at time.Time) error {
	rows := make([]allocationRow, len(r.Items))
	for i, it := range r.Items {
		rows[i] = allocationRow{CustomerID: r.CustomerID, FeatureKey: it.Feature, Subject: subjects[i], ReservationID: r.ID,
			Quantity: int64(it.Quantity), CreateTime: at}
	}
	if err := s.db.Conn(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("store: add allocations: %w", err)
	}
	return nil
}

// recentlyDone is how far back a snapshot lists committed and released
// reservations: longer than any reservation lives, so that a commit or
// release script that runs late finds its id done.
const recentlyDone = quota.MaxTTL + time.Hour

// Snapshot implements quota.Store. Its reads see one snapshot of the
// database (REPEATABLE READ on PostgreSQL, SQLite's transactions are
// serializable), so that a commit between them is seen whole or not at
// all.
func (s *Store) Snapshot(ctx context.Context, customerID string, now time.Time) (quota.Snapshot, error) {
	var snap quota.Snapshot
	err := s.db.InTx(ctx, func(ctx context.Context) error {
		var err error
		if s.db.Dialect() == storage.Postgres {
			if err := s.db.Conn(ctx).Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").Error; err != nil {
				return fmt.Errorf("store: snapshot isolation: %w", err)
			}
		}
		snap, err = s.snapshot(ctx, customerID, now)
		return err
	})
	return snap, err
}

func (s *Store) snapshot(ctx context.Context, customerID string, now time.Time) (quota.Snapshot, error) {
	snap := quota.Snapshot{Used: map[string]quota.Units{}}
	var used []struct {
		FeatureKey string
		Total      int64
	}
	db := s.db.Conn(ctx)
	if err := db.Model(&allocationRow{}).Select("feature_key, SUM(quantity) AS total").
		Where("customer_id = ?", customerID).Group("feature_key").Scan(&used).Error; err != nil {
		return snap, fmt.Errorf("store: sum allocations: %w", err)
	}
	for _, u := range used {
		snap.Used[u.FeatureKey] = quota.Units(u.Total)
	}
	var live []reservationRow
	if err := db.Where("customer_id = ? AND status IN ? AND expire_time > ?", customerID,
		[]string{string(quota.StatusPending), string(quota.StatusHeld)}, now).Find(&live).Error; err != nil {
		return snap, fmt.Errorf("store: live reservations: %w", err)
	}
	for _, row := range live {
		r, err := row.toDomain()
		if err != nil {
			return snap, err
		}
		snap.Live = append(snap.Live, r)
	}
	if err := db.Model(&reservationRow{}).Where("customer_id = ? AND status IN ? AND update_time > ?", customerID,
		[]string{string(quota.StatusCommitted), string(quota.StatusReleased)}, now.Add(-recentlyDone)).
		Pluck("id", &snap.Done).Error; err != nil {
		return snap, fmt.Errorf("store: done reservations: %w", err)
	}
	deallocs, err := s.recentDeallocations(ctx, customerID, now.Add(-recentlyDone))
	if err != nil {
		return snap, err
	}
	snap.Done = append(snap.Done, deallocs...)
	return snap, nil
}
