package catalog

import (
	"context"
	"fmt"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
)

// Service implements the catalog's calls on a Store.
type Service struct {
	store Store
	clock clock.Clock
}

// NewService returns a Service keeping the catalog in store and telling
// time with clk.
func NewService(store Store, clk clock.Clock) *Service {
	return &Service{store: store, clock: clk}
}

// CreateFeature stores a new feature.
func (s *Service) CreateFeature(ctx context.Context, in CreateFeatureInput) (Feature, error) {
	if err := in.Validate(); err != nil {
		return Feature{}, err
	}
	f := in.Feature
	f.CreateTime = s.clock.Now()
	if err := s.store.CreateFeature(ctx, f); err != nil {
		return Feature{}, err
	}
	return f, nil
}

// GetFeature returns the feature with the given key.
func (s *Service) GetFeature(ctx context.Context, key string) (Feature, error) {
	if key == "" {
		return Feature{}, errs.Field("feature_key", "is required")
	}
	return s.store.GetFeature(ctx, key)
}

// ListFeatures returns one page of features, by key.
func (s *Service) ListFeatures(ctx context.Context, pr PageRequest) (Page[Feature], error) {
	if err := validatePage(pr); err != nil {
		return Page[Feature]{}, err
	}
	after, limit := pr.Cursor()
	fs, err := s.store.ListFeatures(ctx, after, limit+1)
	if err != nil {
		return Page[Feature]{}, err
	}
	return page.New(fs, limit, func(f Feature) string { return f.Key }), nil
}

// CreatePlan creates a plan in status draft with draft version 1 holding
// in.Draft. The plan's id is assigned here by ids.New: "plan_" and a
// time-ordered UUID.
func (s *Service) CreatePlan(ctx context.Context, in CreatePlanInput) (Plan, PlanVersion, error) {
	var plan Plan
	var draft PlanVersion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var known Known
		var err error
		if known.Features, err = s.store.GetFeatures(ctx, in.Draft.featureKeys()); err != nil {
			return err
		}
		if known.Offerings, err = optional(ctx, in.Plan.OfferingKey, s.store.GetOffering); err != nil {
			return err
		}
		if err := in.Validate(known); err != nil {
			return err
		}
		now := s.clock.Now()
		plan = in.Plan
		plan.ID = ids.New("plan")
		plan.Status = PlanDraft
		plan.PublishedVersion = 0
		plan.DraftVersion = 1
		plan.CreateTime, plan.UpdateTime = now, now
		draft = PlanVersion{PlanID: plan.ID, Version: 1, Status: VersionDraft, Content: in.Draft, CreateTime: now}
		if err := s.store.CreatePlan(ctx, plan); err != nil {
			return err
		}
		return s.store.CreateVersion(ctx, draft)
	})
	if err != nil {
		return Plan{}, PlanVersion{}, err
	}
	draft.Currency = plan.Currency
	return plan, draft, nil
}

// GetPlan returns the plan whose id or key is ref, and its latest published
// version, or its draft if none is published.
func (s *Service) GetPlan(ctx context.Context, ref string) (Plan, PlanVersion, error) {
	if ref == "" {
		return Plan{}, PlanVersion{}, errs.Field("plan_id", "is required")
	}
	plan, err := s.store.GetPlan(ctx, ref)
	if err != nil {
		return Plan{}, PlanVersion{}, err
	}
	n := plan.PublishedVersion
	if n == 0 {
		n = plan.DraftVersion
	}
	v, err := s.store.GetVersion(ctx, plan.ID, n)
	if err != nil {
		return Plan{}, PlanVersion{}, err
	}
	v.Currency = plan.Currency
	return plan, v, nil
}

// ListPlans returns one page of the plans matching the input's filters, by
// key.
func (s *Service) ListPlans(ctx context.Context, in ListPlansInput) (Page[Plan], error) {
	if err := in.Validate(); err != nil {
		return Page[Plan]{}, err
	}
	after, limit := in.Page.Cursor()
	f := PlanFilter{Status: in.Status, Currency: in.Currency, OfferingKey: in.OfferingKey}
	ps, err := s.store.ListPlans(ctx, f, after, limit+1)
	if err != nil {
		return Page[Plan]{}, err
	}
	return page.New(ps, limit, func(p Plan) string { return p.Key }), nil
}

// UpdatePlanVersion replaces the content of a draft version. Published
// versions never change, and archived plans are closed to changes.
func (s *Service) UpdatePlanVersion(ctx context.Context, in UpdatePlanVersionInput) (PlanVersion, error) {
	var v PlanVersion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		features, err := s.store.GetFeatures(ctx, in.Content.featureKeys())
		if err != nil {
			return err
		}
		// The plan's currency bounds the prices' digits.
		var plan Plan
		if in.PlanRef != "" {
			if plan, err = s.store.LockPlan(ctx, in.PlanRef); err != nil {
				return err
			}
		}
		if err := in.Validate(Known{Features: features, Currency: plan.Currency}); err != nil {
			return err
		}
		if plan.Status == PlanArchived {
			return errs.New(errs.FailedPrecondition, "plan %q is archived and cannot change", plan.Key)
		}
		if v, err = s.store.GetVersion(ctx, plan.ID, in.Version); err != nil {
			return err
		}
		if v.Status != VersionDraft {
			return errs.New(errs.FailedPrecondition, "version %d of plan %q is published and cannot change; create a new version", v.Version, plan.Key)
		}
		v.Content = in.Content
		v.Currency = plan.Currency
		if err := s.store.UpdateVersion(ctx, v); err != nil {
			return err
		}
		plan.UpdateTime = s.clock.Now()
		return s.store.UpdatePlan(ctx, plan)
	})
	if err != nil {
		return PlanVersion{}, err
	}
	return v, nil
}

// PublishPlan publishes the plan's draft version: the version becomes
// immutable and the plan published. A draft without charges cannot be
// published, nor can a draft of an archived plan.
func (s *Service) PublishPlan(ctx context.Context, ref string) (Plan, PlanVersion, error) {
	if ref == "" {
		return Plan{}, PlanVersion{}, errs.Field("plan_id", "is required")
	}
	var plan Plan
	var v PlanVersion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if plan, err = s.store.LockPlan(ctx, ref); err != nil {
			return err
		}
		switch {
		case plan.Status == PlanArchived:
			return errs.New(errs.FailedPrecondition, "plan %q is archived and cannot be published", plan.Key)
		case plan.DraftVersion == 0:
			return errs.New(errs.FailedPrecondition, "plan %q has no draft version to publish; create a new version first", plan.Key)
		}
		if v, err = s.store.GetVersion(ctx, plan.ID, plan.DraftVersion); err != nil {
			return err
		}
		if len(v.Charges) == 0 {
			return errs.New(errs.FailedPrecondition, "draft version %d of plan %q has no charges; a free plan needs a charge of amount 0", v.Version, plan.Key)
		}
		now := s.clock.Now()
		v.Currency = plan.Currency
		v.Status = VersionPublished
		v.PublishTime = now
		if err := s.store.UpdateVersion(ctx, v); err != nil {
			return err
		}
		plan.Status = PlanPublished
		plan.PublishedVersion = v.Version
		plan.DraftVersion = 0
		plan.UpdateTime = now
		return s.store.UpdatePlan(ctx, plan)
	})
	if err != nil {
		return Plan{}, PlanVersion{}, err
	}
	return plan, v, nil
}

// CreatePlanVersion starts a new draft version, numbered one above the
// latest published version and copied from it. A plan has at most one
// draft at a time, and archived plans get no new versions.
func (s *Service) CreatePlanVersion(ctx context.Context, ref string) (PlanVersion, error) {
	if ref == "" {
		return PlanVersion{}, errs.Field("plan_id", "is required")
	}
	var v PlanVersion
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		plan, err := s.store.LockPlan(ctx, ref)
		if err != nil {
			return err
		}
		switch {
		case plan.Status == PlanArchived:
			return errs.New(errs.FailedPrecondition, "plan %q is archived and gets no new versions", plan.Key)
		case plan.DraftVersion != 0:
			return errs.New(errs.FailedPrecondition, "plan %q already has the open draft version %d; update or publish it", plan.Key, plan.DraftVersion)
		}
		latest, err := s.store.GetVersion(ctx, plan.ID, plan.PublishedVersion)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		v = PlanVersion{PlanID: plan.ID, Version: latest.Version + 1, Status: VersionDraft, Currency: plan.Currency, Content: latest.Content, CreateTime: now}
		if err := s.store.CreateVersion(ctx, v); err != nil {
			return err
		}
		plan.DraftVersion = v.Version
		plan.UpdateTime = now
		return s.store.UpdatePlan(ctx, plan)
	})
	if err != nil {
		return PlanVersion{}, err
	}
	return v, nil
}

// GetPlanVersion returns version n of the plan whose id or key is ref.
func (s *Service) GetPlanVersion(ctx context.Context, ref string, n int32) (PlanVersion, error) {
	var v errs.Violations
	if ref == "" {
		v.Add("plan_id", "is required")
	}
	if n < 1 {
		v.Add("version", "must be at least 1")
	}
	if err := v.Err(); err != nil {
		return PlanVersion{}, err
	}
	plan, err := s.store.GetPlan(ctx, ref)
	if err != nil {
		return PlanVersion{}, err
	}
	pv, err := s.store.GetVersion(ctx, plan.ID, n)
	pv.Currency = plan.Currency
	return pv, err
}

// ArchivePlan closes a plan to new subscriptions; its versions stay
// readable. Archiving is final, and archiving an archived plan is refused
// with errs.FailedPrecondition rather than ignored, so that a caller learns
// that someone else archived it first.
func (s *Service) ArchivePlan(ctx context.Context, ref string) (Plan, error) {
	if ref == "" {
		return Plan{}, errs.Field("plan_id", "is required")
	}
	var plan Plan
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if plan, err = s.store.LockPlan(ctx, ref); err != nil {
			return err
		}
		if plan.Status == PlanArchived {
			return errs.New(errs.FailedPrecondition, "plan %q is already archived", plan.Key)
		}
		plan.Status = PlanArchived
		plan.UpdateTime = s.clock.Now()
		return s.store.UpdatePlan(ctx, plan)
	})
	if err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// CreateComputePlan stores a new compute plan.
func (s *Service) CreateComputePlan(ctx context.Context, in CreateComputePlanInput) (ComputePlan, error) {
	if err := in.Validate(); err != nil {
		return ComputePlan{}, err
	}
	if err := s.store.CreateComputePlan(ctx, in.ComputePlan); err != nil {
		return ComputePlan{}, err
	}
	return in.ComputePlan, nil
}

// ListComputePlans returns one page of compute plans, by key.
func (s *Service) ListComputePlans(ctx context.Context, pr PageRequest) (Page[ComputePlan], error) {
	if err := validatePage(pr); err != nil {
		return Page[ComputePlan]{}, err
	}
	after, limit := pr.Cursor()
	cs, err := s.store.ListComputePlans(ctx, after, limit+1)
	if err != nil {
		return Page[ComputePlan]{}, err
	}
	return page.New(cs, limit, func(c ComputePlan) string { return c.Key }), nil
}

// CreateStoragePlan stores a new storage plan.
func (s *Service) CreateStoragePlan(ctx context.Context, in CreateStoragePlanInput) (StoragePlan, error) {
	if err := in.Validate(); err != nil {
		return StoragePlan{}, err
	}
	if err := s.store.CreateStoragePlan(ctx, in.StoragePlan); err != nil {
		return StoragePlan{}, err
	}
	return in.StoragePlan, nil
}

// ListStoragePlans returns one page of storage plans, by key.
func (s *Service) ListStoragePlans(ctx context.Context, pr PageRequest) (Page[StoragePlan], error) {
	if err := validatePage(pr); err != nil {
		return Page[StoragePlan]{}, err
	}
	after, limit := pr.Cursor()
	ss, err := s.store.ListStoragePlans(ctx, after, limit+1)
	if err != nil {
		return Page[StoragePlan]{}, err
	}
	return page.New(ss, limit, func(s StoragePlan) string { return s.Key }), nil
}

// CreateOffering stores a new offering with its assignments.
func (s *Service) CreateOffering(ctx context.Context, in CreateOfferingInput) (Offering, error) {
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		known, err := s.assignmentRefs(ctx, in.Offering.Assignments)
		if err != nil {
			return err
		}
		if known.StoragePlans, err = optional(ctx, in.Offering.StoragePlanKey, s.store.GetStoragePlan); err != nil {
			return err
		}
		if err := in.Validate(known); err != nil {
			return err
		}
		return s.store.CreateOffering(ctx, in.Offering)
	})
	if err != nil {
		return Offering{}, err
	}
	return in.Offering, nil
}

// GetOffering returns the offering with the given key.
func (s *Service) GetOffering(ctx context.Context, key string) (Offering, error) {
	if key == "" {
		return Offering{}, errs.Field("offering_key", "is required")
	}
	return s.store.GetOffering(ctx, key)
}

// ListOfferings returns one page of offerings, by key.
func (s *Service) ListOfferings(ctx context.Context, pr PageRequest) (Page[Offering], error) {
	if err := validatePage(pr); err != nil {
		return Page[Offering]{}, err
	}
	after, limit := pr.Cursor()
	offerings, err := s.store.ListOfferings(ctx, after, limit+1)
	if err != nil {
		return Page[Offering]{}, err
	}
	return page.New(offerings, limit, func(o Offering) string { return o.Key }), nil
}

// SetOfferingAssignments replaces the assignments of an offering.
func (s *Service) SetOfferingAssignments(ctx context.Context, in SetOfferingAssignmentsInput) (Offering, error) {
	var o Offering
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		known, err := s.assignmentRefs(ctx, in.Assignments)
		if err != nil {
			return err
		}
		if err := in.Validate(known); err != nil {
			return err
		}
		if o, err = s.store.GetOffering(ctx, in.OfferingKey); err != nil {
			return err
		}
		o.Assignments = in.Assignments
		return s.store.SetAssignments(ctx, o.Key, o.Assignments)
	})
	if err != nil {
		return Offering{}, err
	}
	return o, nil
}

// ListPlansForOffering returns what a frontend shows when a user orders the
// offering: each assignment with its compute plan and monthly price, in
// assignment order, and the storage plan. An offering without assignments
// is not orderable.
func (s *Service) ListPlansForOffering(ctx context.Context, key string) (OfferingPlans, error) {
	o, err := s.GetOffering(ctx, key)
	if err != nil {
		return OfferingPlans{}, err
	}
	res := OfferingPlans{Offering: o, Orderable: len(o.Assignments) > 0}
	if !res.Orderable {
		res.NotOrderableReason = "offering has no plans"
	}
	computeKeys, _ := assignmentKeys(o.Assignments)
	cps, err := s.store.GetComputePlans(ctx, computeKeys)
	if err != nil {
		return OfferingPlans{}, err
	}
	for _, a := range o.Assignments {
		cp, ok := cps[a.ComputePlanKey]
		if !ok {
			return OfferingPlans{}, fmt.Errorf("catalog: offering %q: compute plan %q is missing", o.Key, a.ComputePlanKey)
		}
		res.Plans = append(res.Plans, OfferedPlan{Assignment: a, ComputePlan: cp, MonthlyPrice: MonthlyPrice(a.Price, a.PriceUnit)})
	}
	if o.StoragePlanKey != "" {
		sp, err := s.store.GetStoragePlan(ctx, o.StoragePlanKey)
		if err != nil {
			return OfferingPlans{}, err
		}
		res.StoragePlan = &sp
	}
	return res, nil
}

// MonthlyPrice converts a price per unit into a price per month, rounded to
// the currency's minor unit half away from zero, for comparing plans. An
// hour is 1/720 month, a day 1/30 month, a month one month and a year 12
// months. The year is divided by 12 calendar months rather than scaled by
// 720/8760 hours, because that is the monthly price buyers expect of a
// yearly price; it is 30.42 days rather than 30.
func MonthlyPrice(price Money, unit PriceUnit) Money {
	var a money.Decimal
	switch unit {
	case PerHour:
		a = price.Amount.Mul(money.MustParse("720"))
	case PerDay:
		a = price.Amount.Mul(money.MustParse("30"))
	case PerMonth:
		a = price.Amount
	case PerYear:
		a = price.Amount.DivRound(money.MustParse("12"), money.MaxFractionDigits)
	}
	c, _ := money.LookupCurrency(price.Currency)
	return Money{Amount: c.Round(a), Currency: price.Currency}
}

// assignmentRefs looks up the compute plans and plans that assignments
// refer to.
func (s *Service) assignmentRefs(ctx context.Context, as []PlanAssignment) (Known, error) {
	computeKeys, planKeys := assignmentKeys(as)
	var known Known
	var err error
	if known.ComputePlans, err = s.store.GetComputePlans(ctx, computeKeys); err != nil {
		return Known{}, err
	}
	if known.Plans, err = s.store.GetPlans(ctx, planKeys); err != nil {
		return Known{}, err
	}
	return known, nil
}

// optional looks up the thing with the given key with get and returns it in
// a map, which is empty when key is empty or names nothing.
func optional[T any](ctx context.Context, key string, get func(context.Context, string) (T, error)) (map[string]T, error) {
	m := map[string]T{}
	if key == "" {
		return m, nil
	}
	t, err := get(ctx, key)
	switch {
	case errs.Is(err, errs.NotFound):
		return m, nil
	case err != nil:
		return nil, err
	}
	m[key] = t
	return m, nil
}
