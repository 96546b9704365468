package quota

import (
	"testing"
	"time"
)

// TestWithOverrides: the rules of adding overrides to the plan's limits,
// without Redis or a database.
func TestWithOverrides(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
	planEnd := t0.Add(48 * time.Hour)
	plan := Limits{HasPlan: true, ValidUntil: planEnd, ByFeature: map[string]Limit{
		"sites": {Policy: PolicySoft, Limit: 2000}, "disk_gib": {Policy: PolicyNone}, "mail": {Policy: PolicyHard, Limit: MaxLimit - 1}}}
	got := withOverrides(plan, []Override{
		{Feature: "sites", Extra: 500, ExpireTime: t0.Add(time.Hour)},
		{Feature: "sites", Extra: 1000, ExpireTime: t0.Add(2 * time.Hour)},
		{Feature: "disk_gib", Extra: 7000},
		{Feature: "mail", Extra: MaxQuantity},
		{Feature: "domains", Extra: 3000},
	})
	want := map[string]Limit{
		"sites":    {Policy: PolicySoft, Limit: 3500},     // stacked, the policy kept
		"disk_gib": {Policy: PolicyNone, Limit: 7000},     // still unlimited
		"mail":     {Policy: PolicyHard, Limit: MaxLimit}, // capped
		"domains":  {Policy: PolicyHard, Limit: 3000},     // entitled by the override alone
	}
	for f, w := range want {
		if got.ByFeature[f] != w {
			t.Errorf("%s: %+v, want %+v", f, got.ByFeature[f], w)
		}
	}
	if !got.HasPlan || !got.ValidUntil.Equal(t0.Add(time.Hour)) {
		t.Errorf("plan %v valid until %v, want the earliest expiry", got.HasPlan, got.ValidUntil)
	}
	if plan.ByFeature["sites"].Limit != 2000 || len(plan.ByFeature) != 3 {
		t.Errorf("the plan's limits were changed: %+v", plan.ByFeature)
	}
	// Without an expiring override the plan's bound stays; without a
	// plan the customer stays without one.
	if got := withOverrides(plan, []Override{{Feature: "sites", Extra: 1}}); !got.ValidUntil.Equal(planEnd) {
		t.Errorf("valid until %v, want the plan's %v", got.ValidUntil, planEnd)
	}
	if got := withOverrides(Limits{}, []Override{{Feature: "sites", Extra: 1}}); got.HasPlan || got.ByFeature["sites"].Limit != 1 {
		t.Errorf("no plan: %+v", got)
	}
}
