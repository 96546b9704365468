// Package store keeps the catalog in its SQL database through gorm. It
// implements catalog.Store on PostgreSQL and SQLite alike.
package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/catalog/internal/catalog"
)

// Store is the catalog's database.
type Store struct {
	db *storage.DB
}

var _ catalog.Store = (*Store)(nil)

// New returns a Store on db, which must be migrated with the catalog's
// migrations.
func New(db *storage.DB) *Store { return &Store{db: db} }

// InTx runs fn in a transaction carried by its context.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CreateFeature inserts a feature.
func (s *Store) CreateFeature(ctx context.Context, f catalog.Feature) error {
	return translate(s.db.Conn(ctx).Create(fromFeature(f)).Error, "feature", f.Key)
}

// GetFeature returns the feature with the given key.
func (s *Store) GetFeature(ctx context.Context, key string) (catalog.Feature, error) {
	var row feature
	if err := s.db.Conn(ctx).Where("key = ?", key).Take(&row).Error; err != nil {
		return catalog.Feature{}, translate(err, "feature", key)
	}
	return row.toDomain(), nil
}

// GetFeatures returns the features with the given keys that exist, by key.
func (s *Store) GetFeatures(ctx context.Context, keys []string) (map[string]catalog.Feature, error) {
	var rows []feature
	if err := s.db.Conn(ctx).Where("key IN ?", nonEmpty(keys)).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: get features: %w", err)
	}
	m := make(map[string]catalog.Feature, len(rows))
	for _, r := range rows {
		m[r.Key] = r.toDomain()
	}
	return m, nil
}

// ListFeatures returns up to limit features with keys after after, by key.
func (s *Store) ListFeatures(ctx context.Context, after string, limit int) ([]catalog.Feature, error) {
	var rows []feature
	if err := s.db.Conn(ctx).Where("key > ?", after).Order("key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list features: %w", err)
	}
	return mapSlice(rows, feature.toDomain), nil
}

// CreatePlan inserts a plan.
func (s *Store) CreatePlan(ctx context.Context, p catalog.Plan) error {
	return translate(s.db.Conn(ctx).Create(fromPlan(p)).Error, "plan", p.Key)
}

// UpdatePlan stores every field of p but its id, key and create time.
func (s *Store) UpdatePlan(ctx context.Context, p catalog.Plan) error {
	row := fromPlan(p)
	res := s.db.Conn(ctx).Model(&plan{}).Where("id = ?", p.ID).
		Select("name", "description", "currency", "interval_unit", "interval_count", "offering_key",
			"status", "published_version", "draft_version", "update_time").
		Updates(row)
	if res.Error != nil {
		return translate(res.Error, "plan", p.Key)
	}
	if res.RowsAffected == 0 {
		return errs.New(errs.NotFound, "plan %q not found", errs.Short(p.Key))
	}
	return nil
}

// GetPlan returns the plan whose id or else whose key is ref.
func (s *Store) GetPlan(ctx context.Context, ref string) (catalog.Plan, error) {
	return s.getPlan(s.db.Conn(ctx).Scopes(publishedForCustomers(ctx)), ref)
}

// publishedForCustomers limits a customer key's reads of plans to the
// published ones; drafts and archived plans are the provider's.
func publishedForCustomers(ctx context.Context) func(*gorm.DB) *gorm.DB {
	return auth.IfCustomer(ctx, "status = ?", string(catalog.PlanPublished))
}

// LockPlan is GetPlan that also locks the plan's row until the transaction
// ends. On SQLite, whose one writer already serialises transactions, it is
// GetPlan.
func (s *Store) LockPlan(ctx context.Context, ref string) (catalog.Plan, error) {
	return s.getPlan(s.db.Conn(ctx).Clauses(clause.Locking{Strength: "UPDATE"}), ref)
}

func (s *Store) getPlan(q *gorm.DB, ref string) (catalog.Plan, error) {
	var rows []plan
	// Plan ids start with "plan_", which plan keys may too: an id wins.
	if err := q.Where("id = ? OR key = ?", ref, ref).Find(&rows).Error; err != nil {
		return catalog.Plan{}, fmt.Errorf("store: get plan: %w", err)
	}
	for _, r := range rows {
		if r.ID == ref {
			return r.toDomain(), nil
		}
	}
	if len(rows) == 0 {
		return catalog.Plan{}, errs.New(errs.NotFound, "plan %q not found", errs.Short(ref))
	}
	return rows[0].toDomain(), nil
}

// GetPlans returns the plans with the given keys that exist, by key.
func (s *Store) GetPlans(ctx context.Context, keys []string) (map[string]catalog.Plan, error) {
	var rows []plan
	if err := s.db.Conn(ctx).Where("key IN ?", nonEmpty(keys)).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: get plans: %w", err)
	}
	m := make(map[string]catalog.Plan, len(rows))
	for _, r := range rows {
		m[r.Key] = r.toDomain()
	}
	return m, nil
}

// ListPlans returns up to limit plans matching f with keys after after, by
// key.
func (s *Store) ListPlans(ctx context.Context, f catalog.PlanFilter, after string, limit int) ([]catalog.Plan, error) {
	q := s.db.Conn(ctx).Scopes(publishedForCustomers(ctx)).Where("key > ?", after)
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.Currency != "" {
		q = q.Where("currency = ?", f.Currency)
	}
	if f.OfferingKey != "" {
		q = q.Where("offering_key = ?", f.OfferingKey)
	}
	var rows []plan
	if err := q.Order("key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list plans: %w", err)
	}
	return mapSlice(rows, plan.toDomain), nil
}

// CreateVersion inserts a plan version.
func (s *Store) CreateVersion(ctx context.Context, v catalog.PlanVersion) error {
	row, err := fromVersion(v)
	if err != nil {
		return err
	}
	err = s.db.Conn(ctx).Create(row).Error
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return errs.New(errs.FailedPrecondition, "plan %s already has version %d or an open draft", v.PlanID, v.Version)
	}
	return translate(err, "plan version", fmt.Sprint(v.Version))
}

// UpdateVersion stores the status, content and publish time of a draft
// version; a published version is refused.
func (s *Store) UpdateVersion(ctx context.Context, v catalog.PlanVersion) error {
	row, err := fromVersion(v)
	if err != nil {
		return err
	}
	res := s.db.Conn(ctx).Model(&planVersion{}).
		Where("plan_id = ? AND version = ? AND status = ?", v.PlanID, v.Version, string(catalog.VersionDraft)).
		Select("status", "content", "publish_time").Updates(row)
	if res.Error != nil {
		return fmt.Errorf("store: update plan version: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.GetVersion(ctx, v.PlanID, v.Version); err != nil {
			return err
		}
		return errs.New(errs.FailedPrecondition, "version %d of plan %s is published and cannot change", v.Version, v.PlanID)
	}
	return nil
}

// GetVersion returns version n of the plan with the given id.
func (s *Store) GetVersion(ctx context.Context, planID string, n int32) (catalog.PlanVersion, error) {
	var row planVersion
	err := s.db.Conn(ctx).Where("plan_id = ? AND version = ?", planID, n).Take(&row).Error
	if err != nil {
		return catalog.PlanVersion{}, translate(err, "plan version", fmt.Sprintf("%s/%d", planID, n))
	}
	return row.toDomain()
}

// CreateComputePlan inserts a compute plan.
func (s *Store) CreateComputePlan(ctx context.Context, c catalog.ComputePlan) error {
	return translate(s.db.Conn(ctx).Create(fromComputePlan(c)).Error, "compute plan", c.Key)
}

// GetComputePlans returns the compute plans with the given keys that exist,
// by key.
func (s *Store) GetComputePlans(ctx context.Context, keys []string) (map[string]catalog.ComputePlan, error) {
	var rows []computePlan
	if err := s.db.Conn(ctx).Where("key IN ?", nonEmpty(keys)).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: get compute plans: %w", err)
	}
	m := make(map[string]catalog.ComputePlan, len(rows))
	for _, r := range rows {
		c, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		m[r.Key] = c
	}
	return m, nil
}

// ListComputePlans returns up to limit compute plans with keys after after,
// by key.
func (s *Store) ListComputePlans(ctx context.Context, after string, limit int) ([]catalog.ComputePlan, error) {
	var rows []computePlan
	if err := s.db.Conn(ctx).Where("key > ?", after).Order("key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list compute plans: %w", err)
	}
	return mapSliceErr(rows, computePlan.toDomain)
}

// CreateStoragePlan inserts a storage plan.
func (s *Store) CreateStoragePlan(ctx context.Context, sp catalog.StoragePlan) error {
	return translate(s.db.Conn(ctx).Create(fromStoragePlan(sp)).Error, "storage plan", sp.Key)
}

// GetStoragePlan returns the storage plan with the given key.
func (s *Store) GetStoragePlan(ctx context.Context, key string) (catalog.StoragePlan, error) {
	var row storagePlan
	if err := s.db.Conn(ctx).Where("key = ?", key).Take(&row).Error; err != nil {
		return catalog.StoragePlan{}, translate(err, "storage plan", key)
	}
	return row.toDomain()
}

// ListStoragePlans returns up to limit storage plans with keys after after,
// by key.
func (s *Store) ListStoragePlans(ctx context.Context, after string, limit int) ([]catalog.StoragePlan, error) {
	var rows []storagePlan
	if err := s.db.Conn(ctx).Where("key > ?", after).Order("key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list storage plans: %w", err)
	}
	return mapSliceErr(rows, storagePlan.toDomain)
}

// CreateOffering inserts an offering and its assignments.
func (s *Store) CreateOffering(ctx context.Context, o catalog.Offering) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		if err := s.db.Conn(ctx).Create(fromOffering(o)).Error; err != nil {
			return translate(err, "offering", o.Key)
		}
		return s.insertAssignments(ctx, o.Key, o.Assignments)
	})
}

// GetOffering returns the offering with the given key and its assignments.
func (s *Store) GetOffering(ctx context.Context, key string) (catalog.Offering, error) {
	var row offering
	if err := s.db.Conn(ctx).Where("key = ?", key).Take(&row).Error; err != nil {
		return catalog.Offering{}, translate(err, "offering", key)
	}
	offerings, err := s.withAssignments(ctx, []offering{row})
	if err != nil {
		return catalog.Offering{}, err
	}
	return offerings[0], nil
}

// ListOfferings returns up to limit offerings with keys after after, by key,
// with their assignments.
func (s *Store) ListOfferings(ctx context.Context, after string, limit int) ([]catalog.Offering, error) {
	var rows []offering
	if err := s.db.Conn(ctx).Where("key > ?", after).Order("key").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list offerings: %w", err)
	}
	return s.withAssignments(ctx, rows)
}

// SetAssignments replaces the assignments of an existing offering.
func (s *Store) SetAssignments(ctx context.Context, offeringKey string, as []catalog.PlanAssignment) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		if err := s.db.Conn(ctx).Where("offering_key = ?", offeringKey).Delete(&assignment{}).Error; err != nil {
			return fmt.Errorf("store: delete assignments: %w", err)
		}
		return s.insertAssignments(ctx, offeringKey, as)
	})
}

func (s *Store) insertAssignments(ctx context.Context, offeringKey string, as []catalog.PlanAssignment) error {
	if len(as) == 0 {
		return nil
	}
	rows := make([]assignment, len(as))
	for i, a := range as {
		rows[i] = fromAssignment(offeringKey, i, a)
	}
	return translate(s.db.Conn(ctx).Create(&rows).Error, "assignments of offering", offeringKey)
}

// withAssignments returns the offerings of rows with their assignments.
func (s *Store) withAssignments(ctx context.Context, rows []offering) ([]catalog.Offering, error) {
	keys := make([]string, len(rows))
	for i, r := range rows {
		keys[i] = r.Key
	}
	var as []assignment
	if err := s.db.Conn(ctx).Where("offering_key IN ?", nonEmpty(keys)).Order("offering_key, position").Find(&as).Error; err != nil {
		return nil, fmt.Errorf("store: get assignments: %w", err)
	}
	byOffering := map[string][]catalog.PlanAssignment{}
	for _, a := range as {
		d, err := a.toDomain()
		if err != nil {
			return nil, err
		}
		byOffering[a.OfferingKey] = append(byOffering[a.OfferingKey], d)
	}
	out := make([]catalog.Offering, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain(byOffering[r.Key])
	}
	return out, nil
}

// UpdateFeature stores a feature's name and unit.
func (s *Store) UpdateFeature(ctx context.Context, f catalog.Feature) error {
	return s.update(ctx, fromFeature(f), "feature", f.Key, "name", "unit")
}

// UpdateComputePlan stores every field of a compute plan but its key.
func (s *Store) UpdateComputePlan(ctx context.Context, c catalog.ComputePlan) error {
	return s.update(ctx, fromComputePlan(c), "compute plan", c.Key, "name", "vcpu_request", "vcpu_limit", "memory_request", "memory_limit")
}

// UpdateStoragePlan stores every field of a storage plan but its key.
func (s *Store) UpdateStoragePlan(ctx context.Context, sp catalog.StoragePlan) error {
	return s.update(ctx, fromStoragePlan(sp), "storage plan", sp.Key, "name", "price_per_gib", "currency", "price_unit", "erp_product_id", "erp_unit_id")
}

// UpdateOffering stores an offering's own fields.
func (s *Store) UpdateOffering(ctx context.Context, o catalog.Offering) error {
	return s.update(ctx, fromOffering(o), "offering", o.Key, "name", "service", "control_plane", "storage_plan_key")
}

// update stores the columns of row, a model of the thing with the given
// key; a missing thing is errs.NotFound.
func (s *Store) update(ctx context.Context, row any, what, key string, columns ...string) error {
	res := s.db.Conn(ctx).Model(row).Where("key = ?", key).Select(columns).Updates(row)
	if res.Error != nil {
		return translate(res.Error, what, key)
	}
	if res.RowsAffected == 0 {
		return errs.New(errs.NotFound, "%s %q not found", what, errs.Short(key))
	}
	return nil
}

// translate turns a gorm error about the thing named what and key into a
// domain error: not found, already exists, or a dangling reference.
func translate(err error, what, key string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return errs.New(errs.NotFound, "%s %q not found", what, errs.Short(key))
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return errs.New(errs.AlreadyExists, "%s %q already exists", what, errs.Short(key))
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return errs.New(errs.FailedPrecondition, "%s %q refers to something that no longer exists", what, errs.Short(key))
	}
	return fmt.Errorf("store: %s %q: %w", what, errs.Short(key), err)
}

// nonEmpty returns keys, or a slice holding one impossible key when keys is
// empty, so that "IN ?" stays valid SQL on every engine.
func nonEmpty(keys []string) []string {
	if len(keys) == 0 {
		return []string{""}
	}
	return keys
}

func mapSlice[R, D any](rows []R, f func(R) D) []D {
	out := make([]D, len(rows))
	for i, r := range rows {
		out[i] = f(r)
	}
	return out
}

func mapSliceErr[R, D any](rows []R, f func(R) (D, error)) ([]D, error) {
	out := make([]D, len(rows))
	for i, r := range rows {
		d, err := f(r)
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// nullable returns nil for the empty string, for optional references.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
