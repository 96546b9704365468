package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

func (row allocationRow) toDomain() quota.Allocation {
	return quota.Allocation{CustomerID: row.CustomerID, Feature: row.FeatureKey, Subject: row.Subject, ReservationID: row.ReservationID,
		Quantity: quota.Units(row.Quantity), CreateTime: row.CreateTime.UTC()}
}

// Level implements quota.Store.
func (s *Store) Level(ctx context.Context, customerID, feature, subject string) (quota.Units, error) {
	var total int64
	err := s.db.Conn(ctx).Model(&allocationRow{}).Select("COALESCE(SUM(quantity), 0)").
		Where("customer_id = ? AND feature_key = ? AND subject = ?", customerID, feature, subject).Scan(&total).Error
	if err != nil {
		return 0, fmt.Errorf("store: subject level: %w", err)
	}
	return quota.Units(total), nil
}

// RemoveAllocations implements quota.Store. One DELETE … RETURNING, so
// that of two concurrent deallocations of a subject only one gets its
// allocations.
func (s *Store) RemoveAllocations(ctx context.Context, customerID, feature, subject string) ([]quota.Allocation, error) {
	var rows []allocationRow
	err := s.db.Conn(ctx).Clauses(clause.Returning{}).
		Where("customer_id = ? AND feature_key = ? AND subject = ?", customerID, feature, subject).Delete(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: remove allocations: %w", err)
	}
	out := make([]quota.Allocation, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// Allocations implements quota.Store.
func (s *Store) Allocations(ctx context.Context, customerID, feature, after string, limit int) ([]quota.Allocation, error) {
	q := s.db.Conn(ctx).Where("customer_id = ?", customerID)
	if feature != "" {
		q = q.Where("feature_key = ?", feature)
	}
	if after != "" {
		res, feat, _ := cutKey(after)
		q = q.Where("reservation_id > ? OR (reservation_id = ? AND feature_key > ?)", res, res, feat)
	}
	var rows []allocationRow
	if err := q.Order("reservation_id, feature_key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list allocations: %w", err)
	}
	out := make([]quota.Allocation, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// cutKey splits a quota.AllocationKey.
func cutKey(key string) (reservationID, feature string, ok bool) {
	for i := range len(key) {
		if key[i] == 0 {
			return key[:i], key[i+1:], true
		}
	}
	return key, "", false
}

type deallocationRow struct {
	ID             string `gorm:"primaryKey"`
	CustomerID     string
	FeatureKey     string
	Subject        string
	IdempotencyKey *string
	Quantity       int64
	Allocations    string
	CreateTime     time.Time
}

func (deallocationRow) TableName() string { return "quota_deallocations" }

type deallocatedJSON struct {
	ReservationID string    `json:"reservation_id"`
	Quantity      int64     `json:"quantity"`
	CreateTime    time.Time `json:"create_time"`
}

// AddDeallocation implements quota.Store.
func (s *Store) AddDeallocation(ctx context.Context, d quota.Deallocation) error {
	allocs := make([]deallocatedJSON, len(d.Allocations))
	for i, a := range d.Allocations {
		allocs[i] = deallocatedJSON{ReservationID: a.ReservationID, Quantity: int64(a.Quantity), CreateTime: a.CreateTime}
	}
	b, err := json.Marshal(allocs)
	if err != nil {
		return err
	}
	row := deallocationRow{ID: d.ID, CustomerID: d.CustomerID, FeatureKey: d.Feature, Subject: d.Subject,
		Quantity: int64(d.Quantity()), Allocations: string(b), CreateTime: d.CreateTime}
	if d.Key != "" {
		row.IdempotencyKey = &d.Key
	}
	err = s.db.Conn(ctx).Create(&row).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return quota.ErrDuplicateKey
	}
	if err != nil {
		return fmt.Errorf("store: add deallocation: %w", err)
	}
	return nil
}

// DeallocationByKey implements quota.Store.
func (s *Store) DeallocationByKey(ctx context.Context, customerID, key string) (quota.Deallocation, bool, error) {
	var rows []deallocationRow
	if err := s.db.Conn(ctx).Where("customer_id = ? AND idempotency_key = ?", customerID, key).Limit(1).Find(&rows).Error; err != nil {
		return quota.Deallocation{}, false, fmt.Errorf("store: deallocation by key: %w", err)
	}
	if len(rows) == 0 {
		return quota.Deallocation{}, false, nil
	}
	d, err := rows[0].toDomain()
	return d, err == nil, err
}

func (row deallocationRow) toDomain() (quota.Deallocation, error) {
	var allocs []deallocatedJSON
	if err := json.Unmarshal([]byte(row.Allocations), &allocs); err != nil {
		return quota.Deallocation{}, fmt.Errorf("store: deallocation %s: %w", row.ID, err)
	}
	d := quota.Deallocation{ID: row.ID, CustomerID: row.CustomerID, Feature: row.FeatureKey, Subject: row.Subject,
		CreateTime: row.CreateTime.UTC()}
	if row.IdempotencyKey != nil {
		d.Key = *row.IdempotencyKey
	}
	for _, a := range allocs {
		d.Allocations = append(d.Allocations, quota.Allocation{CustomerID: row.CustomerID, Feature: row.FeatureKey, Subject: row.Subject,
			ReservationID: a.ReservationID, Quantity: quota.Units(a.Quantity), CreateTime: a.CreateTime.UTC()})
	}
	return d, nil
}

// UnsettledDeallocations implements quota.Store.
func (s *Store) UnsettledDeallocations(ctx context.Context, before time.Time, limit int) ([]quota.Deallocation, error) {
	var rows []deallocationRow
	if err := s.db.Conn(ctx).Where("NOT settled AND create_time < ?", before).Order("create_time").Limit(limit).
		Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: unsettled deallocations: %w", err)
	}
	out := make([]quota.Deallocation, len(rows))
	for i, row := range rows {
		d, err := row.toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// MarkDeallocationsSettled implements quota.Store.
func (s *Store) MarkDeallocationsSettled(ctx context.Context, ids []string) error {
	if err := s.db.Conn(ctx).Model(&deallocationRow{}).Where("id IN ?", ids).Update("settled", true).Error; err != nil {
		return fmt.Errorf("store: mark deallocations settled: %w", err)
	}
	return nil
}

// recentDeallocations returns the ids of the customer's deallocations
// made after since, for a snapshot's done list.
func (s *Store) recentDeallocations(ctx context.Context, customerID string, since time.Time) ([]string, error) {
	var ids []string
	if err := s.db.Conn(ctx).Model(&deallocationRow{}).Where("customer_id = ? AND create_time > ?", customerID, since).
		Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("store: recent deallocations: %w", err)
	}
	return ids, nil
}

type feedRow struct {
	ID         string `gorm:"primaryKey"`
	CustomerID string
	FeatureKey string
	Subject    string
	Level      int64
	EventTime  time.Time
	Attempts   int
	DueTime    time.Time
	LastError  string
}

func (feedRow) TableName() string { return "quota_feed" }

// AddFeed implements quota.Store.
func (s *Store) AddFeed(ctx context.Context, events []quota.FeedEvent) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]feedRow, len(events))
	for i, e := range events {
		rows[i] = feedRow{ID: e.ID, CustomerID: e.CustomerID, FeatureKey: e.Feature, Subject: e.Subject, Level: int64(e.Level),
			EventTime: e.Time, DueTime: e.Time}
	}
	if err := s.db.Conn(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("store: add feed: %w", err)
	}
	return nil
}

// DueFeed implements quota.Store.
func (s *Store) DueFeed(ctx context.Context, now time.Time, limit int) ([]quota.FeedEvent, error) {
	var rows []feedRow
	if err := s.db.Conn(ctx).Where("due_time <= ?", now).Order("event_time, id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: due feed: %w", err)
	}
	out := make([]quota.FeedEvent, len(rows))
	for i, r := range rows {
		out[i] = quota.FeedEvent{ID: r.ID, CustomerID: r.CustomerID, Feature: r.FeatureKey, Subject: r.Subject,
			Level: quota.Units(r.Level), Time: r.EventTime.UTC(), Attempts: r.Attempts}
	}
	return out, nil
}

// DeleteFeed implements quota.Store.
func (s *Store) DeleteFeed(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.db.Conn(ctx).Where("id IN ?", ids).Delete(&feedRow{}).Error; err != nil {
		return fmt.Errorf("store: delete feed: %w", err)
	}
	return nil
}

// DeferFeed implements quota.Store.
func (s *Store) DeferFeed(ctx context.Context, id string, next time.Time, reason string) error {
	err := s.db.Conn(ctx).Model(&feedRow{}).Where("id = ?", id).
		Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "due_time": next, "last_error": reason}).Error
	if err != nil {
		return fmt.Errorf("store: defer feed: %w", err)
	}
	return nil
}
