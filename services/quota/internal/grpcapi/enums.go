package grpcapi

import (
	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// reasonsOut maps the domain's reasons to the API's.
var reasonsOut = map[quota.Reason]quotav1.Reason{
	quota.ReasonUnset:       quotav1.Reason_REASON_UNSPECIFIED,
	quota.ReasonOK:          quotav1.Reason_REASON_OK,
	quota.ReasonOverLimit:   quotav1.Reason_REASON_OVER_LIMIT,
	quota.ReasonOverage:     quotav1.Reason_REASON_OVERAGE,
	quota.ReasonNoPlan:      quotav1.Reason_REASON_NO_PLAN,
	quota.ReasonNotEntitled: quotav1.Reason_REASON_NOT_ENTITLED,
}

// policiesOut maps the domain's limit policies to the catalog's.
var policiesOut = map[quota.Policy]catalogv1.LimitPolicy{
	quota.PolicyUnset: catalogv1.LimitPolicy_LIMIT_POLICY_UNSPECIFIED,
	quota.PolicyHard:  catalogv1.LimitPolicy_LIMIT_POLICY_HARD,
	quota.PolicySoft:  catalogv1.LimitPolicy_LIMIT_POLICY_SOFT,
	quota.PolicyNone:  catalogv1.LimitPolicy_LIMIT_POLICY_NONE,
}

// statusesOut maps the domain's reservation statuses to the API's; a
// pending reservation is never answered.
var statusesOut = map[quota.Status]quotav1.ReservationStatus{
	quota.StatusHeld:      quotav1.ReservationStatus_RESERVATION_STATUS_HELD,
	quota.StatusCommitted: quotav1.ReservationStatus_RESERVATION_STATUS_COMMITTED,
	quota.StatusReleased:  quotav1.ReservationStatus_RESERVATION_STATUS_RELEASED,
	quota.StatusExpired:   quotav1.ReservationStatus_RESERVATION_STATUS_EXPIRED,
}
