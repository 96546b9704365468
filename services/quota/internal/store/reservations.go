package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

type reservationRow struct {
	ID         string `gorm:"primaryKey"`
	CustomerID string
	// RequestID holds the reservation's idempotency key (the column kept
	// its first name).
	RequestID  *string
	Status     string
	Items      string
	Subject    string
	ExpireTime time.Time
	CreateTime time.Time
	UpdateTime time.Time
}

func (reservationRow) TableName() string { return "quota_reservations" }

type itemJSON struct {
	Feature  string `json:"feature"`
	Quantity int64  `json:"quantity"`
}

func fromReservation(r quota.Reservation) (reservationRow, error) {
	items := make([]itemJSON, len(r.Items))
	for i, it := range r.Items {
		items[i] = itemJSON{Feature: it.Feature, Quantity: int64(it.Quantity)}
	}
	b, err := json.Marshal(items)
	if err != nil {
		return reservationRow{}, err
	}
	subject, err := subjectsColumn(r.Subjects)
	if err != nil {
		return reservationRow{}, err
	}
	row := reservationRow{ID: r.ID, CustomerID: r.CustomerID, Status: string(r.Status), Items: string(b), Subject: subject,
		ExpireTime: r.ExpireTime, CreateTime: r.CreateTime, UpdateTime: r.UpdateTime}
	if r.Key != "" {
		row.RequestID = &r.Key
	}
	return row, nil
}

func (row reservationRow) toDomain() (quota.Reservation, error) {
	var items []itemJSON
	if err := json.Unmarshal([]byte(row.Items), &items); err != nil {
		return quota.Reservation{}, fmt.Errorf("store: reservation %s items: %w", row.ID, err)
	}
	r := quota.Reservation{ID: row.ID, CustomerID: row.CustomerID, Status: quota.Status(row.Status),
		ExpireTime: row.ExpireTime.UTC(), CreateTime: row.CreateTime.UTC(), UpdateTime: row.UpdateTime.UTC()}
	if row.RequestID != nil {
		r.Key = *row.RequestID
	}
	for _, it := range items {
		r.Items = append(r.Items, quota.Item{Feature: it.Feature, Quantity: quota.Units(it.Quantity)})
	}
	switch {
	case strings.HasPrefix(row.Subject, "["):
		if err := json.Unmarshal([]byte(row.Subject), &r.Subjects); err != nil {
			return quota.Reservation{}, fmt.Errorf("store: reservation %s subjects: %w", row.ID, err)
		}
	case row.Subject != "":
		// Written before commits named a subject per item: one subject
		// for all.
		for range r.Items {
			r.Subjects = append(r.Subjects, row.Subject)
		}
	}
	return r, nil
}

// subjectsColumn encodes a reservation's subjects, one per item, as the
// JSON array the subject column holds; empty when there are none.
func subjectsColumn(subjects []string) (string, error) {
	if len(subjects) == 0 {
		return "", nil
	}
	b, err := json.Marshal(subjects)
	return string(b), err
}

// AddIntent implements quota.Store.
func (s *Store) AddIntent(ctx context.Context, r quota.Reservation) error {
	row, err := fromReservation(r)
	if err != nil {
		return err
	}
	if ctx.Value(inGroup{}) == nil {
		// Outside a transaction, concurrent intents are inserted together.
		op := &intentOp{ctx: ctx, row: row}
		s.intents.Do(op)
		return op.err
	}
	// ON CONFLICT DO NOTHING rather than a unique violation, which would
	// abort the group transaction the insert shares with other callers.
	res := s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if errors.Is(res.Error, gorm.ErrDuplicatedKey) || res.Error == nil && res.RowsAffected == 0 {
		return quota.ErrDuplicateKey
	}
	if res.Error != nil {
		return fmt.Errorf("store: add reservation: %w", res.Error)
	}
	return nil
}

// ByKey implements quota.Store.
func (s *Store) ByKey(ctx context.Context, customerID, key string) (quota.Reservation, bool, error) {
	var rows []reservationRow
	if err := s.db.Conn(ctx).Where("customer_id = ? AND request_id = ?", customerID, key).Limit(1).Find(&rows).Error; err != nil {
		return quota.Reservation{}, false, fmt.Errorf("store: reservation by key: %w", err)
	}
	if len(rows) == 0 {
		return quota.Reservation{}, false, nil
	}
	r, err := rows[0].toDomain()
	return r, err == nil, err
}

// Reservation implements quota.Store.
func (s *Store) Reservation(ctx context.Context, id string) (quota.Reservation, error) {
	var rows []reservationRow
	if err := s.db.Conn(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return quota.Reservation{}, fmt.Errorf("store: reservation: %w", err)
	}
	if len(rows) == 0 || rows[0].Status == string(quota.StatusPending) {
		return quota.Reservation{}, errs.New(errs.NotFound, "reservation %q not found", id)
	}
	return rows[0].toDomain()
}

// MarkHeld implements quota.Store. Outside a transaction the marks of
// concurrent Reserves are written together, in one statement.
func (s *Store) MarkHeld(ctx context.Context, id string, at time.Time) (bool, error) {
	if ctx.Value(inGroup{}) != nil {
		return s.SetStatus(ctx, id, []quota.Status{quota.StatusPending}, quota.StatusHeld, nil, at)
	}
	op := &heldOp{ctx: ctx, id: id, at: at}
	s.helds.Do(op)
	return op.held, op.err
}

// DeletePending implements quota.Store.
func (s *Store) DeletePending(ctx context.Context, id string) error {
	err := s.db.Conn(ctx).Where("id = ? AND status = ?", id, quota.StatusPending).Delete(&reservationRow{}).Error
	if err != nil {
		return fmt.Errorf("store: delete pending reservation: %w", err)
	}
	return nil
}

// SetStatus implements quota.Store.
func (s *Store) SetStatus(ctx context.Context, id string, from []quota.Status, to quota.Status, subjects []string, at time.Time) (bool, error) {
	set := map[string]any{"status": string(to), "update_time": at}
	if len(subjects) > 0 {
		subject, err := subjectsColumn(subjects)
		if err != nil {
			return false, err
		}
		set["subject"] = subject
	}
	res := s.db.Conn(ctx).Model(&reservationRow{}).Where("id = ? AND status IN ?", id, statuses(from)).Updates(set)
	if res.Error != nil {
		return false, fmt.Errorf("store: set reservation status: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

func statuses(in []quota.Status) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// ExpireDue implements quota.Store: held reservations past their expiry
// become expired; pending ones past it are deleted (they were never
// answered, and whatever Redis holds for them has expired too).
func (s *Store) ExpireDue(ctx context.Context, now time.Time) (int64, error) {
	db := s.db.Conn(ctx)
	res := db.Model(&reservationRow{}).Where("status = ? AND expire_time <= ?", string(quota.StatusHeld), now).
		Updates(map[string]any{"status": string(quota.StatusExpired), "update_time": now})
	if res.Error != nil {
		return 0, fmt.Errorf("store: expire reservations: %w", res.Error)
	}
	if err := db.Where("status = ? AND expire_time <= ?", string(quota.StatusPending), now).Delete(&reservationRow{}).Error; err != nil {
		return 0, fmt.Errorf("store: delete expired intents: %w", err)
	}
	return res.RowsAffected, nil
}

// Unsettled implements quota.Store.
func (s *Store) Unsettled(ctx context.Context, before time.Time, limit int) ([]quota.Reservation, error) {
	var rows []reservationRow
	if err := s.db.Conn(ctx).Where("status = ? AND NOT settled AND expire_time < ?", string(quota.StatusCommitted), before).
		Order("expire_time").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: unsettled commits: %w", err)
	}
	out := make([]quota.Reservation, len(rows))
	for i, row := range rows {
		r, err := row.toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// MarkSettled implements quota.Store.
func (s *Store) MarkSettled(ctx context.Context, ids []string) error {
	if err := s.db.Conn(ctx).Model(&reservationRow{}).Where("id IN ?", ids).Update("settled", true).Error; err != nil {
		return fmt.Errorf("store: mark settled: %w", err)
	}
	return nil
}
