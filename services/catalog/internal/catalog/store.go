package catalog

import "context"

// Store keeps the catalog. Lookups of one thing return an errs.NotFound
// error when it does not exist; lookups of many return only those that
// exist. Creating something whose key exists returns an errs.AlreadyExists
// error. Every method runs in the transaction carried by ctx, if any.
type Store interface {
	// InTx runs fn in a transaction carried by the context fn gets; fn joins
	// the transaction of ctx if there is one.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	CreateFeature(ctx context.Context, f Feature) error
	GetFeature(ctx context.Context, key string) (Feature, error)
	GetFeatures(ctx context.Context, keys []string) (map[string]Feature, error)
	// UpdateFeature stores the name and unit of an existing feature.
	UpdateFeature(ctx context.Context, f Feature) error
	// ListFeatures returns up to limit features with keys after after, by key.
	ListFeatures(ctx context.Context, after string, limit int) ([]Feature, error)

	CreatePlan(ctx context.Context, p Plan) error
	// UpdatePlan stores every field of p but its id, key and create time.
	UpdatePlan(ctx context.Context, p Plan) error
	// GetPlan returns the plan whose id or else whose key is ref.
	GetPlan(ctx context.Context, ref string) (Plan, error)
	// LockPlan is GetPlan that also locks the plan until the transaction of
	// ctx ends, so that changes to a plan and its versions happen one at a
	// time.
	LockPlan(ctx context.Context, ref string) (Plan, error)
	// GetPlans returns the plans with the given keys, by key.
	GetPlans(ctx context.Context, keys []string) (map[string]Plan, error)
	// ListPlans returns up to limit plans matching f with keys after after,
	// by key.
	ListPlans(ctx context.Context, f PlanFilter, after string, limit int) ([]Plan, error)

	CreateVersion(ctx context.Context, v PlanVersion) error
	// UpdateVersion stores the status, content and publish time of v. It
	// returns an errs.FailedPrecondition error if the stored version is
	// published: published versions never change.
	UpdateVersion(ctx context.Context, v PlanVersion) error
	GetVersion(ctx context.Context, planID string, version int32) (PlanVersion, error)

	CreateComputePlan(ctx context.Context, c ComputePlan) error
	GetComputePlans(ctx context.Context, keys []string) (map[string]ComputePlan, error)
	ListComputePlans(ctx context.Context, after string, limit int) ([]ComputePlan, error)
	// UpdateComputePlan stores every field of an existing compute plan but
	// its key.
	UpdateComputePlan(ctx context.Context, c ComputePlan) error

	CreateStoragePlan(ctx context.Context, s StoragePlan) error
	GetStoragePlan(ctx context.Context, key string) (StoragePlan, error)
	ListStoragePlans(ctx context.Context, after string, limit int) ([]StoragePlan, error)
	// UpdateStoragePlan stores every field of an existing storage plan but
	// its key.
	UpdateStoragePlan(ctx context.Context, sp StoragePlan) error

	// CreateOffering stores the offering with its assignments.
	CreateOffering(ctx context.Context, o Offering) error
	GetOffering(ctx context.Context, key string) (Offering, error)
	ListOfferings(ctx context.Context, after string, limit int) ([]Offering, error)
	// UpdateOffering stores the own fields of an existing offering, not its
	// assignments.
	UpdateOffering(ctx context.Context, o Offering) error
	// SetAssignments replaces the assignments of an existing offering.
	SetAssignments(ctx context.Context, offeringKey string, as []PlanAssignment) error
}
