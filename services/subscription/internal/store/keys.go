package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/services/subscription/internal/subscription"
)

type apiKey struct {
	ID         string `gorm:"primaryKey"`
	Name       string
	Role       string
	CustomerID sql.NullString
	SecretHash []byte
	CreateTime time.Time
	ExpireTime sql.NullTime
	RevokeTime sql.NullTime
	RequestKey sql.NullString
}

func (apiKey) TableName() string { return "api_keys" }

func fromKey(k subscription.APIKey) apiKey {
	return apiKey{ID: k.ID, Name: k.Name, Role: string(k.Role), CustomerID: nullString(k.CustomerID), SecretHash: k.Hash,
		CreateTime: k.CreateTime, ExpireTime: nullTime(k.ExpireTime), RevokeTime: nullTime(k.RevokeTime), RequestKey: nullString(k.RequestKey)}
}

func (r apiKey) toDomain() subscription.APIKey {
	return subscription.APIKey{ID: r.ID, Name: r.Name, Role: auth.Role(r.Role), CustomerID: r.CustomerID.String, Hash: r.SecretHash,
		CreateTime: r.CreateTime.UTC(), ExpireTime: timeOf(r.ExpireTime), RevokeTime: timeOf(r.RevokeTime), RequestKey: r.RequestKey.String}
}

// CreateKey inserts a key.
func (s *Store) CreateKey(ctx context.Context, k subscription.APIKey) error {
	return translate(s.db.Conn(ctx).Create(new(fromKey(k))).Error, "API key", k.ID)
}

// KeyByRequest returns the key created by the call with the idempotency
// key requestKey.
func (s *Store) KeyByRequest(ctx context.Context, requestKey string) (subscription.APIKey, error) {
	var row apiKey
	if err := s.db.Conn(ctx).Where("request_key = ?", requestKey).Take(&row).Error; err != nil {
		return subscription.APIKey{}, translate(err, "API key of request", requestKey)
	}
	return row.toDomain(), nil
}

// GetKey returns a key.
func (s *Store) GetKey(ctx context.Context, id string) (subscription.APIKey, error) {
	var row apiKey
	if err := s.db.Conn(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return subscription.APIKey{}, translate(err, "API key", id)
	}
	return row.toDomain(), nil
}

// LockKey returns a key and locks it until the transaction ends.
func (s *Store) LockKey(ctx context.Context, id string) (subscription.APIKey, error) {
	var row apiKey
	if err := s.db.Conn(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&row).Error; err != nil {
		return subscription.APIKey{}, translate(err, "API key", id)
	}
	return row.toDomain(), nil
}

// UpdateKey stores a key's expiry and revocation.
func (s *Store) UpdateKey(ctx context.Context, k subscription.APIKey) error {
	row := fromKey(k)
	err := s.db.Conn(ctx).Model(&apiKey{}).Where("id = ?", k.ID).
		Updates(map[string]any{"expire_time": row.ExpireTime, "revoke_time": row.RevokeTime}).Error
	return translate(err, "API key", k.ID)
}

// ListKeys returns up to limit keys after after, by id.
func (s *Store) ListKeys(ctx context.Context, after string, limit int) ([]subscription.APIKey, error) {
	var rows []apiKey
	if err := s.db.Conn(ctx).Where("id > ?", after).Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list API keys: %w", err)
	}
	return mapSlice(rows, apiKey.toDomain), nil
}

// HasLiveAdminKey reports whether an admin key works at now.
func (s *Store) HasLiveAdminKey(ctx context.Context, now time.Time) (bool, error) {
	var n int64
	err := s.db.Conn(ctx).Model(&apiKey{}).
		Where("role = ? AND revoke_time IS NULL AND (expire_time IS NULL OR expire_time > ?)", string(auth.Admin), now).
		Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: admin keys: %w", err)
	}
	return n > 0, nil
}

// ChildIDs returns the ids of a reseller's customers.
func (s *Store) ChildIDs(ctx context.Context, customerID string) ([]string, error) {
	var ids []string
	if err := s.db.Conn(ctx).Model(&customer{}).Where("parent_id = ?", customerID).Order("id").Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("store: children of %s: %w", customerID, err)
	}
	return ids, nil
}
