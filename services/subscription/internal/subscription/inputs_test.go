package subscription

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
)

// TestInputFieldPaths checks that every refused input names the field as
// the request spells it.
func TestInputFieldPaths(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 256)
	empty := ""
	for _, tt := range []struct {
		name  string
		err   error
		field string
	}{
		{"a new customer's currency", CustomerInput{Name: "x", Currency: "EURO"}.Validate(), "customer.currency"},
		{"a new customer's name", CustomerInput{Currency: "EUR"}.Validate(), "customer.name"},
		{"a new customer's long external id", CustomerInput{Name: "x", Currency: "EUR", ExternalID: long}.Validate(), "customer.external_id"},
		{"a new customer's anchor", CustomerInput{Name: "x", Currency: "EUR", Anchor: -1}.Validate(), "customer.billing_anchor"},
		{"an update's empty name", CustomerUpdate{Name: &empty}.Validate(), "name"},
		{"an update's currency", CustomerUpdate{Currency: &long}.Validate(), "currency"},
		{"a subscribe without a plan", SubscribeInput{}.Validate(now), "plan_id"},
		{"a subscribe of too many units", SubscribeInput{Plan: "p", Quantity: MaxQuantity + 1}.Validate(now), "quantity"},
		{"a subscribe with a year-long trial and a day", SubscribeInput{Plan: "p", TrialDays: MaxTrialDays + 1}.Validate(now), "trial_days"},
		{"a subscribe in the year 9000", SubscribeInput{Plan: "p", Start: MaxTime}.Validate(now), "start_time"},
		{"a quantity change to zero", ChangeQuantityInput{When: When{}}.Validate(now), "quantity"},
		{"a quantity change beyond the bound", ChangeQuantityInput{Quantity: MaxQuantity + 1}.Validate(now), "quantity"},
		{"a change at a time without AT", When{Timing: Immediate, At: now}.Validate(now), "effective_time"},
		{"a change AT no time", When{Timing: At}.Validate(now), "effective_time"},
		{"a change of an unknown timing", When{Timing: -1}.Validate(now), "timing"},
		{"a change backdated without a reason", When{Timing: At, At: now.Add(-time.Hour)}.Validate(now), "backdate_reason"},
		{"a plan change without a plan", ChangePlanInput{}.Validate(now), "plan_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e *errs.Error
			if !errors.As(tt.err, &e) || e.Kind != errs.Invalid || len(e.Violations) != 1 || e.Violations[0].Field != tt.field {
				t.Errorf("got %v, want one violation on %s", tt.err, tt.field)
			}
		})
	}
}
