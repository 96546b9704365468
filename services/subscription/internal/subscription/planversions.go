package subscription

import (
	"context"
	"fmt"
	"slices"

	"github.com/meterplane/meterplane/platform/errs"
)

// planVersions returns the stored copies of plan versions, from the cache
// when it has them. It reads only the service's own database, so it may run
// inside a transaction.
func (s *Service) planVersions(ctx context.Context, refs []VersionRef) (map[VersionRef]PlanVersion, error) {
	out := make(map[VersionRef]PlanVersion, len(refs))
	var missing []VersionRef
	for _, r := range refs {
		if v, ok := s.versions.Load(r); ok {
			out[r] = v.(PlanVersion)
		} else if !slices.Contains(missing, r) {
			missing = append(missing, r)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	vs, err := s.store.GetPlanVersions(ctx, missing)
	if err != nil {
		return nil, err
	}
	for _, v := range vs {
		s.versions.Store(v.Ref(), v)
		out[v.Ref()] = v
	}
	for _, r := range missing {
		if _, ok := out[r]; !ok {
			return nil, fmt.Errorf("plan version %s/%d is not stored", r.PlanID, r.Version)
		}
	}
	return out, nil
}

// sellable asks the catalog for a sellable plan version in the customer's
// currency. It calls a peer, so it must never run inside a transaction of
// the service's database: callers read the plan first, then open their
// transaction and keep the copy there.
func (s *Service) sellable(ctx context.Context, c Customer, ref string, version int32) (PlanVersion, error) {
	pv, err := s.catalog.PlanVersion(ctx, ref, version)
	if err != nil {
		return PlanVersion{}, err
	}
	if err := checkPlanCurrency(pv, c); err != nil {
		return PlanVersion{}, err
	}
	return pv, nil
}

// checkPlanCurrency refuses a plan version in another currency than the
// customer's.
func checkPlanCurrency(pv PlanVersion, c Customer) error {
	if pv.Currency != c.Currency {
		return errs.New(errs.FailedPrecondition, "plan %s is in %s but customer %s pays in %s", pv.PlanKey, pv.Currency, c.ID, c.Currency)
	}
	return nil
}

// keep stores a copy of a published plan version, in the transaction of
// ctx, for the subscriptions that use it.
func (s *Service) keep(ctx context.Context, pv PlanVersion) error {
	return s.store.PutPlanVersion(ctx, pv)
}
