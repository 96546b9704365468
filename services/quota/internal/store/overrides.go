package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

type overrideRow struct {
	ID             string `gorm:"primaryKey"`
	CustomerID     string
	FeatureKey     string
	Extra          int64
	ExpireTime     sql.NullTime
	Reason         string
	IdempotencyKey *string
	CreateTime     time.Time
	DeleteTime     sql.NullTime
}

func (overrideRow) TableName() string { return "quota_overrides" }

func nullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: !t.IsZero()} }

func timeOf(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

func fromOverride(o quota.Override) overrideRow {
	row := overrideRow{ID: o.ID, CustomerID: o.CustomerID, FeatureKey: o.Feature, Extra: int64(o.Extra),
		ExpireTime: nullTime(o.ExpireTime), Reason: o.Reason, CreateTime: o.CreateTime, DeleteTime: nullTime(o.DeleteTime)}
	if o.IdempotencyKey != "" {
		row.IdempotencyKey = &o.IdempotencyKey
	}
	return row
}

func (row overrideRow) toDomain() quota.Override {
	o := quota.Override{ID: row.ID, CustomerID: row.CustomerID, Feature: row.FeatureKey, Extra: quota.Units(row.Extra),
		ExpireTime: timeOf(row.ExpireTime), Reason: row.Reason, CreateTime: row.CreateTime.UTC(), DeleteTime: timeOf(row.DeleteTime)}
	if row.IdempotencyKey != nil {
		o.IdempotencyKey = *row.IdempotencyKey
	}
	return o
}

func overrides(rows []overrideRow) []quota.Override {
	out := make([]quota.Override, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out
}

// AddOverride implements quota.Store.
func (s *Store) AddOverride(ctx context.Context, o quota.Override) error {
	row := fromOverride(o)
	err := s.db.Conn(ctx).Create(&row).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return quota.ErrDuplicateOverride
	}
	if err != nil {
		return fmt.Errorf("store: add override: %w", err)
	}
	return nil
}

// OverrideByKey implements quota.Store.
func (s *Store) OverrideByKey(ctx context.Context, customerID, key string) (quota.Override, bool, error) {
	var rows []overrideRow
	if err := s.db.Conn(ctx).Where("customer_id = ? AND idempotency_key = ?", customerID, key).Limit(1).Find(&rows).Error; err != nil {
		return quota.Override{}, false, fmt.Errorf("store: override by key: %w", err)
	}
	if len(rows) == 0 {
		return quota.Override{}, false, nil
	}
	return rows[0].toDomain(), true, nil
}

// LiveOverrides implements quota.Store.
func (s *Store) LiveOverrides(ctx context.Context, customerID string, now time.Time) ([]quota.Override, error) {
	var rows []overrideRow
	if err := s.db.Conn(ctx).Where("customer_id = ? AND delete_time IS NULL AND (expire_time IS NULL OR expire_time > ?)", customerID, now).
		Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: live overrides: %w", err)
	}
	return overrides(rows), nil
}

// ListOverrides implements quota.Store.
func (s *Store) ListOverrides(ctx context.Context, customerID, after string, limit int) ([]quota.Override, error) {
	var rows []overrideRow
	if err := s.db.Conn(ctx).Where("customer_id = ? AND delete_time IS NULL AND id > ?", customerID, after).
		Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list overrides: %w", err)
	}
	return overrides(rows), nil
}

// DeleteOverride implements quota.Store.
func (s *Store) DeleteOverride(ctx context.Context, customerID, id string, at time.Time) (quota.Override, error) {
	db := s.db.Conn(ctx)
	if err := db.Model(&overrideRow{}).Where("id = ? AND customer_id = ? AND delete_time IS NULL", id, customerID).
		Update("delete_time", at).Error; err != nil {
		return quota.Override{}, fmt.Errorf("store: delete override: %w", err)
	}
	var rows []overrideRow
	if err := db.Where("id = ? AND customer_id = ?", id, customerID).Limit(1).Find(&rows).Error; err != nil {
		return quota.Override{}, fmt.Errorf("store: deleted override: %w", err)
	}
	if len(rows) == 0 {
		return quota.Override{}, errs.New(errs.NotFound, "override %q not found", id)
	}
	return rows[0].toDomain(), nil
}
