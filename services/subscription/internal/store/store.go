// Package store keeps the subscription service's data in its SQL database
// through gorm. It implements subscription.Store on PostgreSQL and SQLite
// alike.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/subscription/internal/subscription"
)

// Store is the subscription service's database.
type Store struct {
	db *storage.DB
}

var _ subscription.Store = (*Store)(nil)

// New returns a Store on db, which must be migrated with the service's
// migrations and have the outbox tables.
func New(db *storage.DB) *Store { return &Store{db: db} }

// InTx runs fn in a transaction carried by its context.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CreateCustomer inserts a customer.
func (s *Store) CreateCustomer(ctx context.Context, c subscription.Customer) error {
	return translate(s.db.Conn(ctx).Create(fromCustomer(c)).Error, "customer", c.ID)
}

// UpdateCustomer stores every field of c but its id and create time.
func (s *Store) UpdateCustomer(ctx context.Context, c subscription.Customer) error {
	row := fromCustomer(c)
	res := s.db.Conn(ctx).Model(&customer{}).Where("id = ?", c.ID).
		Select("external_id", "name", "email", "currency", "anchor_kind", "anchor_date", "parent_id", "update_time").
		Updates(row)
	if res.Error != nil {
		return translate(res.Error, "customer", c.ID)
	}
	if res.RowsAffected == 0 {
		return errs.New(errs.NotFound, "customer %q not found", errs.Short(c.ID))
	}
	return nil
}

// GetCustomer returns a customer.
func (s *Store) GetCustomer(ctx context.Context, id string) (subscription.Customer, error) {
	return s.getCustomer(s.db.Conn(ctx).Scopes(auth.Scope(ctx, "id")), id)
}

// LockCustomer returns a customer and locks it until the transaction ends.
func (s *Store) LockCustomer(ctx context.Context, id string) (subscription.Customer, error) {
	return s.getCustomer(s.db.Conn(ctx).Clauses(clause.Locking{Strength: "UPDATE"}), id)
}

func (s *Store) getCustomer(q *gorm.DB, id string) (subscription.Customer, error) {
	var row customer
	if err := q.Where("id = ?", id).Take(&row).Error; err != nil {
		return subscription.Customer{}, translate(err, "customer", id)
	}
	return row.toDomain(), nil
}

// ListCustomers returns up to limit customers matching f after after, by id.
func (s *Store) ListCustomers(ctx context.Context, f subscription.CustomerFilter, after string, limit int) ([]subscription.Customer, error) {
	q := s.db.Conn(ctx).Scopes(auth.Scope(ctx, "id")).Where("id > ?", after)
	if f.ExternalID != "" {
		q = q.Where("external_id = ?", f.ExternalID)
	}
	if f.ParentID != "" {
		q = q.Where("parent_id = ?", f.ParentID)
	}
	var rows []customer
	if err := q.Order("id").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list customers: %w", err)
	}
	return mapSlice(rows, customer.toDomain), nil
}

// GetCustomers returns the customers of ids that exist.
func (s *Store) GetCustomers(ctx context.Context, ids []string) ([]subscription.Customer, error) {
	var rows []customer
	if err := s.db.Conn(ctx).Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: get customers: %w", err)
	}
	return mapSlice(rows, customer.toDomain), nil
}

// HasSubscriptions reports whether the customer has a subscription.
func (s *Store) HasSubscriptions(ctx context.Context, customerID string) (bool, error) {
	var n int64
	err := s.db.Conn(ctx).Model(&subscriptionRow{}).Where("customer_id = ?", customerID).Limit(1).Count(&n).Error
	if err != nil {
		return false, fmt.Errorf("store: count subscriptions: %w", err)
	}
	return n > 0, nil
}

// PutPlanVersion stores a copy of a plan version unless it has one.
func (s *Store) PutPlanVersion(ctx context.Context, v subscription.PlanVersion) error {
	content, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&planVersion{PlanID: v.PlanID, Version: v.Version, Content: string(content)}).Error
	if err != nil {
		return fmt.Errorf("store: put plan version: %w", err)
	}
	return nil
}

// GetPlanVersions returns the stored copies of the versions that exist.
func (s *Store) GetPlanVersions(ctx context.Context, refs []subscription.VersionRef) ([]subscription.PlanVersion, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	pairs := make([][]any, len(refs))
	for i, r := range refs {
		pairs[i] = []any{r.PlanID, r.Version}
	}
	var rows []planVersion
	if err := s.db.Conn(ctx).Where("(plan_id, version) IN ?", pairs).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: get plan versions: %w", err)
	}
	out := make([]subscription.PlanVersion, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal([]byte(r.Content), &out[i]); err != nil {
			return nil, fmt.Errorf("store: plan version %s/%d: %w", r.PlanID, r.Version, err)
		}
	}
	return out, nil
}

// CreateSubscription inserts a subscription and its changes.
func (s *Store) CreateSubscription(ctx context.Context, sub subscription.Subscription) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		row := subscriptionRow{ID: sub.ID, CustomerID: sub.CustomerID, BillSeparately: sub.BillSeparately, CreateTime: sub.CreateTime}
		if err := s.db.Conn(ctx).Create(&row).Error; err != nil {
			return translate(err, "subscription", sub.ID)
		}
		for _, c := range sub.Changes {
			if err := s.AddChange(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// GetSubscription returns a subscription with its changes.
func (s *Store) GetSubscription(ctx context.Context, id string) (subscription.Subscription, error) {
	return s.getSubscription(ctx, s.db.Conn(ctx).Scopes(auth.Scope(ctx, "customer_id")), id)
}

// LockSubscription returns a subscription with its changes and locks it
// until the transaction ends.
func (s *Store) LockSubscription(ctx context.Context, id string) (subscription.Subscription, error) {
	return s.getSubscription(ctx, s.db.Conn(ctx).Clauses(clause.Locking{Strength: "UPDATE"}), id)
}

func (s *Store) getSubscription(ctx context.Context, q *gorm.DB, id string) (subscription.Subscription, error) {
	var row subscriptionRow
	if err := q.Where("id = ?", id).Take(&row).Error; err != nil {
		return subscription.Subscription{}, translate(err, "subscription", id)
	}
	subs, err := s.withChanges(ctx, []subscriptionRow{row})
	if err != nil {
		return subscription.Subscription{}, err
	}
	return subs[0], nil
}

// ListSubscriptions returns up to limit of a customer's subscriptions after
// after, by id.
func (s *Store) ListSubscriptions(ctx context.Context, customerID, after string, limit int) ([]subscription.Subscription, error) {
	var rows []subscriptionRow
	err := s.db.Conn(ctx).Scopes(auth.Scope(ctx, "customer_id")).Where("customer_id = ? AND id > ?", customerID, after).
		Order("id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: list subscriptions: %w", err)
	}
	return s.withChanges(ctx, rows)
}

// withChanges loads the changes of the subscriptions, in one query.
func (s *Store) withChanges(ctx context.Context, rows []subscriptionRow) ([]subscription.Subscription, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var changes []changeRow
	if err := s.db.Conn(ctx).Where("subscription_id IN ?", ids).Order("subscription_id, seq").Find(&changes).Error; err != nil {
		return nil, fmt.Errorf("store: load changes: %w", err)
	}
	bySub := map[string][]subscription.Change{}
	for _, c := range changes {
		bySub[c.SubscriptionID] = append(bySub[c.SubscriptionID], c.toDomain())
	}
	out := make([]subscription.Subscription, len(rows))
	for i, r := range rows {
		out[i] = subscription.Subscription{ID: r.ID, CustomerID: r.CustomerID, BillSeparately: r.BillSeparately,
			CreateTime: r.CreateTime.UTC(), Changes: bySub[r.ID]}
	}
	return out, nil
}

// AddChange inserts a change.
func (s *Store) AddChange(ctx context.Context, c subscription.Change) error {
	err := s.db.Conn(ctx).Create(fromChange(c)).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errs.New(errs.Conflict, "subscription %s changed concurrently; retry", c.SubscriptionID)
	}
	if err != nil {
		return fmt.Errorf("store: add change: %w", err)
	}
	return nil
}

// WithdrawChanges marks changes withdrawn.
func (s *Store) WithdrawChanges(ctx context.Context, ids []string, at time.Time) error {
	err := s.db.Conn(ctx).Model(&changeRow{}).Where("id IN ? AND withdraw_time IS NULL", ids).Update("withdraw_time", at).Error
	if err != nil {
		return fmt.Errorf("store: withdraw changes: %w", err)
	}
	return nil
}

// current selects segments that are not superseded.
func (s *Store) current(ctx context.Context) *gorm.DB {
	return s.db.Conn(ctx).Table("segments AS g").
		Select("g.*, s.bill_separately").
		Joins("JOIN subscriptions s ON s.id = g.subscription_id").
		Where("g.superseded_time IS NULL")
}

// CurrentSegments returns a subscription's current segments by start.
func (s *Store) CurrentSegments(ctx context.Context, subscriptionID string) ([]subscription.Segment, error) {
	var rows []segmentRow
	if err := s.current(ctx).Where("g.subscription_id = ?", subscriptionID).Order("g.start_time").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: current segments: %w", err)
	}
	return mapSlice(rows, segmentRow.toDomain), nil
}

// ReplaceSegments supersedes segments and adds new ones.
func (s *Store) ReplaceSegments(ctx context.Context, supersede, add []subscription.Segment, at time.Time) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		if len(supersede) > 0 {
			ids := make([]string, len(supersede))
			for i, sg := range supersede {
				ids[i] = sg.ID
			}
			res := s.db.Conn(ctx).Model(&segmentRow{}).Where("id IN ? AND superseded_time IS NULL", ids).Update("superseded_time", at)
			if res.Error != nil {
				return fmt.Errorf("store: supersede segments: %w", res.Error)
			}
			if res.RowsAffected != int64(len(ids)) {
				return errs.New(errs.Conflict, "segments changed concurrently; retry")
			}
		}
		for _, sg := range add {
			row := fromSegment(sg, at)
			if err := s.db.Conn(ctx).Create(&row).Error; err != nil {
				if errors.Is(err, gorm.ErrDuplicatedKey) {
					return errs.New(errs.Conflict, "segments of subscription %s changed concurrently; retry", sg.SubscriptionID)
				}
				return fmt.Errorf("store: add segment: %w", err)
			}
		}
		return nil
	})
}

// SegmentsAt returns the customer's current segments containing at,
// without BillSeparately, and the start of its first current segment
// after at (zero if none).
func (s *Store) SegmentsAt(ctx context.Context, customerID string, at time.Time) ([]subscription.Segment, time.Time, error) {
	// The hot path of GetEntitlements: one round trip of two index
	// ranges, no join. The second part finds the next segment, which
	// bounds how long the answer holds.
	var rows []segmentRow
	err := s.db.Conn(ctx).Raw(`SELECT * FROM segments
		WHERE customer_id = ? AND superseded_time IS NULL AND start_time <= ? AND (end_time IS NULL OR end_time > ?)
		UNION ALL
		SELECT * FROM (SELECT * FROM segments
			WHERE customer_id = ? AND superseded_time IS NULL AND start_time > ?
			ORDER BY start_time LIMIT 1) AS n`, customerID, at, at, customerID, at).Scan(&rows).Error
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("store: segments at: %w", err)
	}
	var next time.Time
	segs := make([]subscription.Segment, 0, len(rows))
	for _, r := range rows {
		if sg := r.toDomain(); sg.Start.After(at) {
			next = sg.Start
		} else {
			segs = append(segs, sg)
		}
	}
	slices.SortFunc(segs, func(a, b subscription.Segment) int { return strings.Compare(a.SubscriptionID, b.SubscriptionID) })
	return segs, next, nil
}

// SegmentsIn returns the customer's current segments overlapping p.
func (s *Store) SegmentsIn(ctx context.Context, customerID, subscriptionID string, p subscription.Period) ([]subscription.Segment, error) {
	q := s.current(ctx).Where("g.customer_id = ? AND g.start_time < ? AND (g.end_time IS NULL OR g.end_time > ?)", customerID, p.End, p.Start)
	if subscriptionID != "" {
		q = q.Where("g.subscription_id = ?", subscriptionID)
	}
	var rows []segmentRow
	if err := q.Order("g.subscription_id, g.start_time").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: segments in: %w", err)
	}
	return mapSlice(rows, segmentRow.toDomain), nil
}

// CustomersWithSegments returns up to limit customers having current
// segments after after, by id, with those segments.
func (s *Store) CustomersWithSegments(ctx context.Context, after string, limit int) ([]subscription.Customer, map[string][]subscription.Segment, error) {
	var rows []customer
	err := s.db.Conn(ctx).Where("id > ? AND EXISTS (SELECT 1 FROM segments g WHERE g.customer_id = customers.id AND g.superseded_time IS NULL)", after).
		Order("id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, nil, fmt.Errorf("store: customers with segments: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	of, err := s.SegmentsOf(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	return mapSlice(rows, customer.toDomain), of, nil
}

// SegmentsOf returns the current segments of the customers, by customer,
// each customer's by subscription and start, in one query.
func (s *Store) SegmentsOf(ctx context.Context, customerIDs []string) (map[string][]subscription.Segment, error) {
	var segs []segmentRow
	if err := s.current(ctx).Where("g.customer_id IN ?", customerIDs).Order("g.customer_id, g.subscription_id, g.start_time").Find(&segs).Error; err != nil {
		return nil, fmt.Errorf("store: customers' segments: %w", err)
	}
	of := map[string][]subscription.Segment{}
	for _, sg := range segs {
		of[sg.CustomerID] = append(of[sg.CustomerID], sg.toDomain())
	}
	return of, nil
}

// Publish writes an event to the outbox in the transaction of ctx.
func (s *Store) Publish(ctx context.Context, topic, key string, payload []byte, at time.Time) error {
	_, err := outbox.Add(ctx, s.db, topic, key, payload, at)
	return err
}

// translate turns gorm errors into domain errors naming the thing.
func translate(err error, what, id string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return errs.New(errs.NotFound, "%s %q not found", what, errs.Short(id))
	case errors.Is(err, gorm.ErrDuplicatedKey):
		if what == "customer" {
			return errs.New(errs.AlreadyExists, "a customer with this external id exists")
		}
		return errs.New(errs.AlreadyExists, "%s %q exists", what, errs.Short(id))
	}
	return fmt.Errorf("store: %s %s: %w", what, errs.Short(id), err)
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
