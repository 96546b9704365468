// Package peers holds the subscription service's clients of other
// services. Each translates its peer's protobuf into domain types, and its
// peer's status codes into what they mean for this service's caller, so
// that no raw gRPC status leaves the service.
package peers

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/peer"
	"github.com/meterplane/meterplane/services/subscription/internal/subscription"
)

// Catalog reads plans from the catalog service over gRPC. It implements
// subscription.Catalog.
type Catalog struct {
	client catalogv1.CatalogServiceClient
}

var _ subscription.Catalog = (*Catalog)(nil)

// NewCatalog returns a Catalog calling the catalog service on conn.
func NewCatalog(conn grpc.ClientConnInterface) *Catalog {
	return &Catalog{client: catalogv1.NewCatalogServiceClient(conn)}
}

// PlanVersion returns a sellable published version of a plan. A plan or
// version the catalog does not have is an InvalidArgument error on plan_id
// or plan_version; one it will not sell is FailedPrecondition.
func (c *Catalog) PlanVersion(ctx context.Context, ref string, version int32) (subscription.PlanVersion, error) {
	pr, err := c.client.GetPlan(ctx, &catalogv1.GetPlanRequest{PlanId: ref})
	if err != nil {
		return subscription.PlanVersion{}, catalogErr(err, "GetPlan", "plan_id")
	}
	p := pr.GetPlan()
	switch {
	case p.GetStatus() == catalogv1.PlanStatus_PLAN_STATUS_ARCHIVED:
		return subscription.PlanVersion{}, errs.New(errs.FailedPrecondition, "plan %s is archived", p.GetKey())
	case p.GetPublishedVersion() == 0:
		return subscription.PlanVersion{}, errs.New(errs.FailedPrecondition, "plan %s has no published version", p.GetKey())
	}
	if version == 0 {
		version = p.GetPublishedVersion()
	}
	vr, err := c.client.GetPlanVersion(ctx, &catalogv1.GetPlanVersionRequest{PlanId: p.GetPlanId(), Version: version})
	if err != nil {
		return subscription.PlanVersion{}, catalogErr(err, "GetPlanVersion", "plan_version")
	}
	v := vr.GetVersion()
	if v.GetStatus() != catalogv1.VersionStatus_VERSION_STATUS_PUBLISHED {
		return subscription.PlanVersion{}, errs.New(errs.FailedPrecondition, "version %d of plan %s is not published", version, p.GetKey())
	}
	out, err := planVersionIn(p, v)
	if err != nil {
		return subscription.PlanVersion{}, err
	}
	if p.GetOfferingKey() != "" {
		if out.MinQuantity, err = c.minimumInstances(ctx, p); err != nil {
			return subscription.PlanVersion{}, err
		}
	}
	return out, nil
}

// minimumInstances checks that the plan's offering can be ordered and
// returns the minimum instances of the assignment that sells the plan.
func (c *Catalog) minimumInstances(ctx context.Context, p *catalogv1.Plan) (int64, error) {
	res, err := c.client.ListPlansForOffering(ctx, &catalogv1.ListPlansForOfferingRequest{OfferingKey: p.GetOfferingKey()})
	if status.Code(err) == codes.NotFound {
		return 0, errs.New(errs.FailedPrecondition, "offering %s of plan %s does not exist", p.GetOfferingKey(), p.GetKey())
	}
	if err != nil {
		return 0, catalogErr(err, "ListPlansForOffering", "plan_id")
	}
	if !res.GetOrderable() {
		return 0, errs.New(errs.FailedPrecondition, "offering %s cannot be ordered: %s", p.GetOfferingKey(), res.GetNotOrderableReason())
	}
	for _, op := range res.GetPlans() {
		if a := op.GetAssignment(); a.GetPlanKey() == p.GetKey() {
			return max(int64(a.GetMinimumInstances()), 1), nil
		}
	}
	return 0, errs.New(errs.FailedPrecondition, "plan %s is not assigned to a compute plan of offering %s", p.GetKey(), p.GetOfferingKey())
}

// planVersionIn copies what subscriptions need of a catalog plan version.
func planVersionIn(p *catalogv1.Plan, v *catalogv1.PlanVersion) (subscription.PlanVersion, error) {
	iv := p.GetBillingInterval()
	out := subscription.PlanVersion{
		PlanID: p.GetPlanId(), PlanKey: p.GetKey(), Version: v.GetVersion(), Currency: p.GetCurrency(),
		Interval:  subscription.Interval{Unit: intervalUnits[iv.GetUnit()], Count: int(iv.GetCount())},
		Recurring: decimal.Zero, MinQuantity: 1,
	}
	if !out.Interval.Valid() {
		return out, fmt.Errorf("catalog: plan %s has a billing interval this service cannot bill: %v", p.GetKey(), iv)
	}
	for _, ch := range v.GetCharges() {
		if r := ch.GetRecurring(); r != nil {
			amount, err := money.Parse(r.GetAmount())
			if err != nil {
				return out, fmt.Errorf("catalog: plan %s charge %s: %w", p.GetKey(), ch.GetKey(), err)
			}
			out.Recurring = out.Recurring.Add(amount)
		}
	}
	for _, e := range v.GetEntitlements() {
		included, err := money.Parse(e.GetIncludedQuantity())
		if err != nil {
			return out, fmt.Errorf("catalog: plan %s entitlement %s: %w", p.GetKey(), e.GetFeatureKey(), err)
		}
		policy, ok := limitPolicies[e.GetLimitPolicy()]
		if !ok {
			return out, fmt.Errorf("catalog: plan %s entitlement %s: unknown limit policy %v", p.GetKey(), e.GetFeatureKey(), e.GetLimitPolicy())
		}
		g := subscription.Grant{Feature: e.GetFeatureKey(), Included: included, Policy: policy, Reset: resetPeriods[e.GetResetPeriod()]}
		if e.GetOveragePrice() != "" {
			o, err := money.Parse(e.GetOveragePrice())
			if err != nil {
				return out, fmt.Errorf("catalog: plan %s entitlement %s: %w", p.GetKey(), e.GetFeatureKey(), err)
			}
			g.Overage = &o
		}
		out.Grants = append(out.Grants, g)
	}
	return out, nil
}

// The catalog's enum values this service reads, mapped by name.
var (
	intervalUnits = map[catalogv1.IntervalUnit]subscription.IntervalUnit{
		catalogv1.IntervalUnit_INTERVAL_UNIT_DAY:     subscription.Day,
		catalogv1.IntervalUnit_INTERVAL_UNIT_WEEK:    subscription.Week,
		catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH:   subscription.Month,
		catalogv1.IntervalUnit_INTERVAL_UNIT_QUARTER: subscription.Quarter,
		catalogv1.IntervalUnit_INTERVAL_UNIT_YEAR:    subscription.Year,
	}
	limitPolicies = map[catalogv1.LimitPolicy]subscription.LimitPolicy{
		catalogv1.LimitPolicy_LIMIT_POLICY_HARD: subscription.Hard,
		catalogv1.LimitPolicy_LIMIT_POLICY_SOFT: subscription.Soft,
		catalogv1.LimitPolicy_LIMIT_POLICY_NONE: subscription.Unlimited,
	}
	resetPeriods = map[catalogv1.ResetPeriod]subscription.ResetPeriod{
		catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD: subscription.ResetBillingPeriod,
		catalogv1.ResetPeriod_RESET_PERIOD_MONTH:          subscription.ResetMonth,
		catalogv1.ResetPeriod_RESET_PERIOD_DAY:            subscription.ResetDay,
		catalogv1.ResetPeriod_RESET_PERIOD_NEVER:          subscription.ResetNever,
	}
)

// catalogErr says what an error of the catalog call method means for this
// service's caller. The request named the plan (or its version) in field,
// so a plan the catalog does not have or refuses to look up is the caller's
// bad argument on that field, and a plan the catalog will not sell a failed
// precondition. Anything else is the catalog's or the network's fault: a
// plain error, which the server reports as Internal and logs; it does not
// keep the gRPC status, so that the catalog's code never leaks as this
// service's.
func catalogErr(err error, method, field string) error {
	st, _ := status.FromError(err)
	switch st.Code() {
	case codes.NotFound, codes.InvalidArgument:
		return errs.Field(field, "%s", st.Message())
	case codes.FailedPrecondition:
		return errs.New(errs.FailedPrecondition, "%s", st.Message())
	}
	return peer.Failed("catalog", method, err)
}
