package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
)

// CreateMeter inserts a meter.
func (s *Store) CreateMeter(ctx context.Context, m metering.Meter) error {
	err := s.db.Conn(ctx).Create(&meter{Key: m.Key, FeatureKey: m.Feature, Aggregation: m.Aggregation.String(),
		Description: m.Description, CreateTime: m.CreateTime, FedByQuota: m.FedByQuota}).Error
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
