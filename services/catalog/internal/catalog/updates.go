package catalog

import (
	"context"

	"github.com/meterplane/meterplane/platform/errs"
)

// UpdateFeature changes a feature's name and unit.
func (s *Service) UpdateFeature(ctx context.Context, in UpdateFeatureInput) (Feature, error) {
	if err := in.Validate(); err != nil {
		return Feature{}, err
	}
	var f Feature
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if f, err = s.store.GetFeature(ctx, in.Key); err != nil {
			return err
		}
		set(&f.Name, in.Name)
		set(&f.Unit, in.Unit)
		return s.store.UpdateFeature(ctx, f)
	})
	if err != nil {
		return Feature{}, err
	}
	return f, nil
}

// UpdatePlan changes a plan's name and description. Archived plans are
// closed to changes.
func (s *Service) UpdatePlan(ctx context.Context, in UpdatePlanInput) (Plan, error) {
	if err := in.Validate(); err != nil {
		return Plan{}, err
	}
	var plan Plan
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if plan, err = s.store.LockPlan(ctx, in.PlanRef); err != nil {
			return err
		}
		if plan.Status == PlanArchived {
			return errs.New(errs.FailedPrecondition, "plan %q is archived and cannot change", plan.Key)
		}
		set(&plan.Name, in.Name)
		set(&plan.Description, in.Description)
		plan.UpdateTime = s.clock.Now()
		return s.store.UpdatePlan(ctx, plan)
	})
	if err != nil {
		return Plan{}, err
	}
	return plan, nil
}

// GetComputePlan returns the compute plan with the given key.
func (s *Service) GetComputePlan(ctx context.Context, key string) (ComputePlan, error) {
	if key == "" {
		return ComputePlan{}, errs.Field("compute_plan_key", "is required")
	}
	cps, err := s.store.GetComputePlans(ctx, []string{key})
	if err != nil {
		return ComputePlan{}, err
	}
	c, ok := cps[key]
	if !ok {
		return ComputePlan{}, errs.New(errs.NotFound, "compute plan %q not found", shortKey(key))
	}
	return c, nil
}

// UpdateComputePlan replaces the compute plan with the same key.
func (s *Service) UpdateComputePlan(ctx context.Context, in CreateComputePlanInput) (ComputePlan, error) {
	if err := in.Validate(); err != nil {
		return ComputePlan{}, err
	}
	if err := s.store.UpdateComputePlan(ctx, in.ComputePlan); err != nil {
		return ComputePlan{}, err
	}
	return in.ComputePlan, nil
}

// GetStoragePlan returns the storage plan with the given key.
func (s *Service) GetStoragePlan(ctx context.Context, key string) (StoragePlan, error) {
	if key == "" {
		return StoragePlan{}, errs.Field("storage_plan_key", "is required")
	}
	return s.store.GetStoragePlan(ctx, key)
}

// UpdateStoragePlan replaces the storage plan with the same key.
func (s *Service) UpdateStoragePlan(ctx context.Context, in CreateStoragePlanInput) (StoragePlan, error) {
	if err := in.Validate(); err != nil {
		return StoragePlan{}, err
	}
	if err := s.store.UpdateStoragePlan(ctx, in.StoragePlan); err != nil {
		return StoragePlan{}, err
	}
	return in.StoragePlan, nil
}

// UpdateOffering changes an offering's own fields.
func (s *Service) UpdateOffering(ctx context.Context, in UpdateOfferingInput) (Offering, error) {
	var o Offering
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var known Known
		var err error
		if in.StoragePlanKey != nil {
			if known.StoragePlans, err = optional(ctx, *in.StoragePlanKey, s.store.GetStoragePlan); err != nil {
				return err
			}
		}
		if err := in.Validate(known); err != nil {
			return err
		}
		if o, err = s.store.GetOffering(ctx, in.Key); err != nil {
			return err
		}
		set(&o.Name, in.Name)
		set(&o.Service, in.Service)
		set(&o.ControlPlane, in.ControlPlane)
		set(&o.StoragePlanKey, in.StoragePlanKey)
		return s.store.UpdateOffering(ctx, o)
	})
	if err != nil {
		return Offering{}, err
	}
	return o, nil
}

// set replaces *dst with *src if src is not nil.
func set(dst, src *string) {
	if src != nil {
		*dst = *src
	}
}
