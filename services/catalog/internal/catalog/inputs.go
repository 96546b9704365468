package catalog

import (
	"github.com/meterplane/meterplane/platform/errs"
)

// Known holds the stored things an input refers to, by key. The Service
// looks them up before it validates the input, so that validation itself
// needs no store.
type Known struct {
	Features     map[string]Feature
	Offerings    map[string]Offering
	ComputePlans map[string]ComputePlan
	StoragePlans map[string]StoragePlan
	Plans        map[string]Plan
	// Currency is the currency of the plan whose version an input changes.
	Currency string
}

// CreateFeatureInput is the input of CreateFeature.
type CreateFeatureInput struct {
	Feature Feature
}

// Validate checks the feature's key, name, unit and kind.
func (in CreateFeatureInput) Validate() error {
	var v errs.Violations
	f := in.Feature
	checkKey(&v, "feature.key", f.Key, false)
	checkName(&v, "feature.name", f.Name)
	checkName(&v, "feature.unit", f.Unit)
	checkEnum(&v, "feature.kind", f.Kind, Gauge, Counter)
	return v.Err()
}

// CreatePlanInput is the input of CreatePlan: the plan's own fields (its id,
// status, version numbers and times are ignored) and the content of its
// first draft version, which may be empty.
type CreatePlanInput struct {
	Plan  Plan
	Draft Content
}

// Validate checks the plan and its draft against the rules, with known
// holding the features and offering it refers to.
func (in CreatePlanInput) Validate(known Known) error {
	var v errs.Violations
	p := in.Plan
	checkKey(&v, "plan.key", p.Key, false)
	checkName(&v, "plan.name", p.Name)
	checkText(&v, "plan.description", p.Description, MaxTextLength)
	checkCurrency(&v, "plan.currency", p.Currency)
	p.Interval.validate(&v, "plan.billing_interval")
	if p.OfferingKey != "" {
		if _, ok := known.Offerings[p.OfferingKey]; !ok {
			v.Add("plan.offering_key", "offering %q does not exist", p.OfferingKey)
		}
	}
	in.Draft.validate(&v, "draft.", p.Currency, known.Features)
	return v.Err()
}

// UpdatePlanVersionInput is the input of UpdatePlanVersion: the new content
// of a draft version, replacing all of it.
type UpdatePlanVersionInput struct {
	// PlanRef is the plan's id or key.
	PlanRef string
	Version int32
	Content Content
}

// Validate checks the version number and the content, with known holding
// the features the content refers to.
func (in UpdatePlanVersionInput) Validate(known Known) error {
	var v errs.Violations
	if in.PlanRef == "" {
		v.Add("plan_id", "is required")
	}
	if in.Version < 1 {
		v.Add("version", "must be at least 1")
	}
	in.Content.validate(&v, "", known.Currency, known.Features)
	return v.Err()
}

// ListPlansInput is the input of ListPlans. Empty filters match every plan.
type ListPlansInput struct {
	Status      PlanStatus
	Currency    string
	OfferingKey string
	Page        PageRequest
}

// Validate checks the filters and the page request.
func (in ListPlansInput) Validate() error {
	var v errs.Violations
	if in.Status != "" {
		checkEnum(&v, "status", in.Status, PlanDraft, PlanPublished, PlanArchived)
	}
	if in.Currency != "" {
		checkCurrency(&v, "currency", in.Currency)
	}
	checkPage(in.Page, &v)
	return v.Err()
}

// PlanFilter selects the plans ListPlans returns; empty fields match all.
type PlanFilter struct {
	Status      PlanStatus
	Currency    string
	OfferingKey string
}

// CreateComputePlanInput is the input of CreateComputePlan.
type CreateComputePlanInput struct {
	ComputePlan ComputePlan
}

// Validate checks the key and name, and that vCPU and memory are not
// negative, the limits greater than zero and the requests at most the limits.
func (in CreateComputePlanInput) Validate() error {
	var v errs.Violations
	c := in.ComputePlan
	checkKey(&v, "compute_plan.key", c.Key, true)
	checkName(&v, "compute_plan.name", c.Name)
	checkQuantity(&v, "compute_plan.vcpu_request", c.VCPURequest)
	checkQuantity(&v, "compute_plan.vcpu_limit", c.VCPULimit)
	if !c.VCPULimit.IsPositive() {
		v.Add("compute_plan.vcpu_limit", "must be greater than 0")
	} else if c.VCPURequest.GreaterThan(c.VCPULimit) {
		v.Add("compute_plan.vcpu_request", "must be at most the vCPU limit %s", c.VCPULimit)
	}
	memReq, errReq := ParseMemory(c.MemoryRequest)
	if errReq != nil {
		v.Add("compute_plan.memory_request", "%v", errReq)
	}
	memLim, errLim := ParseMemory(c.MemoryLimit)
	switch {
	case errLim != nil:
		v.Add("compute_plan.memory_limit", "%v", errLim)
	case !memLim.IsPositive():
		v.Add("compute_plan.memory_limit", "must be greater than 0")
	case errReq == nil && memReq.GreaterThan(memLim):
		v.Add("compute_plan.memory_request", "must be at most the memory limit %s", c.MemoryLimit)
	}
	return v.Err()
}

// CreateStoragePlanInput is the input of CreateStoragePlan.
type CreateStoragePlanInput struct {
	StoragePlan StoragePlan
}

// Validate checks the key, name, price and price unit.
func (in CreateStoragePlanInput) Validate() error {
	var v errs.Violations
	s := in.StoragePlan
	checkKey(&v, "storage_plan.key", s.Key, true)
	// The price's currency field is validated by checkMoney.
	checkName(&v, "storage_plan.name", s.Name)
	checkMoney(&v, "storage_plan.price_per_gib", s.PricePerGiB)
	checkEnum(&v, "storage_plan.price_unit", s.PriceUnit, PerHour, PerDay, PerMonth, PerYear)
	checkText(&v, "storage_plan.erp_product_id", s.ERPProductID, MaxNameLength)
	checkText(&v, "storage_plan.erp_unit_id", s.ERPUnitID, MaxNameLength)
	return v.Err()
}

// CreateOfferingInput is the input of CreateOffering.
type CreateOfferingInput struct {
	Offering Offering
}

// Validate checks the offering and its assignments, with known holding the
// storage plan, compute plans and plans it refers to.
func (in CreateOfferingInput) Validate(known Known) error {
	var v errs.Violations
	o := in.Offering
	checkKey(&v, "offering.key", o.Key, true)
	checkName(&v, "offering.name", o.Name)
	checkName(&v, "offering.service", o.Service)
	checkName(&v, "offering.control_plane", o.ControlPlane)
	if o.StoragePlanKey != "" {
		if _, ok := known.StoragePlans[o.StoragePlanKey]; !ok {
			v.Add("offering.storage_plan_key", "storage plan %q does not exist", o.StoragePlanKey)
		}
	}
	validateAssignments(&v, "offering.", o.Key, o.Assignments, known)
	return v.Err()
}

// SetOfferingAssignmentsInput is the input of SetOfferingAssignments.
type SetOfferingAssignmentsInput struct {
	OfferingKey string
	Assignments []PlanAssignment
}

// Validate checks the assignments, with known holding the compute plans and
// plans they refer to.
func (in SetOfferingAssignmentsInput) Validate(known Known) error {
	var v errs.Violations
	if in.OfferingKey == "" {
		v.Add("offering_key", "is required")
	}
	validateAssignments(&v, "", in.OfferingKey, in.Assignments, known)
	return v.Err()
}

// assignmentKeys returns the compute plan and plan keys that assignments
// refer to.
func assignmentKeys(as []PlanAssignment) (computePlans, plans []string) {
	for _, a := range as {
		computePlans = append(computePlans, a.ComputePlanKey)
		if a.PlanKey != "" {
			plans = append(plans, a.PlanKey)
		}
	}
	return computePlans, plans
}

// UpdateFeatureInput is the input of UpdateFeature: the fields that are not
// nil replace the feature's.
type UpdateFeatureInput struct {
	Key  string
	Name *string
	Unit *string
}

// Validate checks the fields that are set.
func (in UpdateFeatureInput) Validate() error {
	var v errs.Violations
	if in.Key == "" {
		v.Add("feature_key", "is required")
	}
	if in.Name != nil {
		checkName(&v, "name", *in.Name)
	}
	if in.Unit != nil {
		checkName(&v, "unit", *in.Unit)
	}
	return v.Err()
}

// UpdatePlanInput is the input of UpdatePlan: the fields that are not nil
// replace the plan's.
type UpdatePlanInput struct {
	// PlanRef is the plan's id or key.
	PlanRef     string
	Name        *string
	Description *string
}

// Validate checks the fields that are set.
func (in UpdatePlanInput) Validate() error {
	var v errs.Violations
	if in.PlanRef == "" {
		v.Add("plan_id", "is required")
	}
	if in.Name != nil {
		checkName(&v, "name", *in.Name)
	}
	if in.Description != nil {
		checkText(&v, "description", *in.Description, MaxTextLength)
	}
	return v.Err()
}

// UpdateOfferingInput is the input of UpdateOffering: the fields that are
// not nil replace the offering's.
type UpdateOfferingInput struct {
	Key            string
	Name           *string
	Service        *string
	ControlPlane   *string
	StoragePlanKey *string
}

// Validate checks the fields that are set, with known holding the storage
// plan the input refers to.
func (in UpdateOfferingInput) Validate(known Known) error {
	var v errs.Violations
	if in.Key == "" {
		v.Add("offering_key", "is required")
	}
	for _, f := range []struct {
		field string
		value *string
	}{{"name", in.Name}, {"service", in.Service}, {"control_plane", in.ControlPlane}} {
		if f.value != nil {
			checkName(&v, f.field, *f.value)
		}
	}
	if k := in.StoragePlanKey; k != nil && *k != "" {
		if _, ok := known.StoragePlans[*k]; !ok {
			v.Add("storage_plan_key", "storage plan %q does not exist", shortKey(*k))
		}
	}
	return v.Err()
}

// shortKey returns a client-sent key for a message: at most its first 64
// bytes and "…".
func shortKey(k string) string {
	if len(k) <= MaxKeyLength {
		return k
	}
	cut := MaxKeyLength
	for cut > 0 && k[cut]&0xC0 == 0x80 {
		cut--
	}
	return k[:cut] + "…"
}
