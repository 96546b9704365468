package quota_test

import (
	"sync"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

func (e *env) setOverride(t *testing.T, in quota.OverrideInput) quota.Override {
	t.Helper()
	if in.CustomerID == "" {
		in.CustomerID = "cus_a"
	}
	if in.Feature == "" {
		in.Feature = "sites"
	}
	o, err := e.svc.SetOverride(t.Context(), in)
	must(t, err)
	return o
}

// wantLimit checks one site against the limit and whether it is admitted.
func (e *env) wantLimit(t *testing.T, name string, limit quota.Units, allowed bool) {
	t.Helper()
	got := e.check(t, "1")
	if got.Limit != limit || got.Allowed != allowed {
		t.Errorf("%s: limit %d allowed %v, want %d and %v (%+v)", name, got.Limit, got.Allowed, limit, allowed, got)
	}
}

func wantErr(t *testing.T, err error, kind errs.Kind, field string) {
	t.Helper()
	if !errs.Is(err, kind) {
		t.Fatalf("got %v, want kind %d", err, kind)
	}
	if e, ok := err.(*errs.Error); field != "" && (!ok || len(e.Violations) == 0 || e.Violations[0].Field != field) {
		t.Errorf("got %v, want field %s", err, field)
	}
}

// TestOverrides: overrides raise the limit at once, stack, stop counting
// exactly at their expiry (not at the next refresh), and at once when
// deleted; the allocations above a lowered limit stay.
func TestOverrides(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 2))
		e.reserveCommit(t, "cus_a", 2)
		e.wantLimit(t, "the plan alone", 2000, false)

		exp := start.Add(time.Hour)
		first := e.setOverride(t, quota.OverrideInput{Extra: "1", ExpireTime: exp, Reason: "launch week"})
		if first.ID == "" || first.Extra != 1000 || !first.ExpireTime.Equal(exp) {
			t.Errorf("set %+v", first)
		}
		// The clock stands still: only the override's own invalidation
		// can make the next check see it.
		e.wantLimit(t, "one override", 3000, true)
		second := e.setOverride(t, quota.OverrideInput{Extra: "2.5"})
		e.wantLimit(t, "two overrides stack", 5500, true)
		e.reserveCommit(t, "cus_a", 3) // used 5 of 5.5

		// Just before the expiry the limits are asked again (the clock
		// moved an hour); a millisecond later, within the freshness, the
		// first override no longer counts.
		e.clk.Set(exp.Add(-time.Millisecond))
		e.wantLimit(t, "an instant before the expiry", 5500, false)
		e.clk.Set(exp)
		got := e.check(t, "0.5")
		if got.Limit != 4500 || got.Allowed || got.Used != 5000 {
			t.Errorf("at the expiry: %+v, want limit 4500, used 5000 kept, denied", got)
		}

		del, err := e.svc.DeleteOverride(t.Context(), "cus_a", second.ID)
		must(t, err)
		if del.ID != second.ID || del.DeleteTime.IsZero() {
			t.Errorf("deleted %+v", del)
		}
		e.wantLimit(t, "after the delete", 2000, false)
		again, err := e.svc.DeleteOverride(t.Context(), "cus_a", second.ID)
		must(t, err)
		if !again.DeleteTime.Equal(del.DeleteTime) {
			t.Errorf("a second delete answers %+v, want %+v", again, del)
		}
		_, err = e.svc.DeleteOverride(t.Context(), "cus_a", "ovr_nope")
		wantErr(t, err, errs.NotFound, "")
		_, err = e.svc.DeleteOverride(t.Context(), "cus_b", first.ID)
		wantErr(t, err, errs.NotFound, "")

		// The list keeps the expired override, not the deleted one.
		list, err := e.svc.ListOverrides(t.Context(), "cus_a", page.Request{})
		must(t, err)
		if len(list.Items) != 1 || list.Items[0].ID != first.ID || list.Items[0].Reason != "launch week" {
			t.Errorf("list %+v", list)
		}
		// The allocations above the limit are all still there.
		used, _ := e.redisState(t, "cus_a")
		dbUsed, _ := e.dbState(t, "cus_a")
		if used != 5000 || dbUsed != 5000 {
			t.Errorf("used %d in Redis, %d in the database; want 5000", used, dbUsed)
		}
	})
}

// TestOverrideRetries: a retry with the idempotency key answers the first
// override and raises the limit once; the key with other values is
// refused.
func TestOverrideRetries(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		in := quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "2", Reason: "migration", IdempotencyKey: "k1"}
		a := e.setOverride(t, in)
		b := e.setOverride(t, in)
		if a.ID != b.ID {
			t.Errorf("a retry set a second override: %s and %s", a.ID, b.ID)
		}
		e.wantLimit(t, "after a retry", 3000, true)
		in.Extra = "3"
		_, err := e.svc.SetOverride(t.Context(), in)
		wantErr(t, err, errs.FailedPrecondition, "")
		// The same key of another customer is another override.
		e.ents.set("cus_b", sites(quota.PolicyHard, 1))
		in.CustomerID = "cus_b"
		if c := e.setOverride(t, in); c.ID == a.ID {
			t.Errorf("customer b got a's override")
		}
		e.wantLimit(t, "a's limit after b's override", 3000, true)
	})
}

// TestOverrideEntitles: an override on a feature no plan grants entitles
// the customer with a HARD limit of its extra; a customer without a plan
// stays without one.
func TestOverrideEntitles(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicySoft, 1))
		e.setOverride(t, quota.OverrideInput{Feature: "disk_gib", Extra: "10"})
		res, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("disk_gib", "10.001")})
		must(t, err)
		if it := res.Items[0]; res.Allowed || it.Reason != quota.ReasonOverLimit || it.Policy != quota.PolicyHard || it.Limit != 10000 {
			t.Errorf("disk by override alone: %+v", it)
		}
		e.setOverride(t, quota.OverrideInput{Extra: "1"})
		if got := e.check(t, "3"); got.Policy != quota.PolicySoft || got.Limit != 2000 || got.Reason != quota.ReasonOverage {
			t.Errorf("a soft limit raised: %+v", got)
		}
		_, st, err := e.svc.Status(t.Context(), "cus_a")
		must(t, err)
		if len(st) != 2 || st[0].Feature != "disk_gib" || st[0].Limit != 10000 || st[1].Limit != 2000 {
			t.Errorf("status %+v", st)
		}

		e.ents.set("cus_b", quota.Limits{ByFeature: map[string]quota.Limit{}})
		e.setOverride(t, quota.OverrideInput{CustomerID: "cus_b", Extra: "5"})
		res, err = e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_b", Items: one("sites", "1")})
		must(t, err)
		if res.Allowed || res.Items[0].Reason != quota.ReasonNoPlan {
			t.Errorf("no plan with an override: %+v", res.Items[0])
		}
	})
}

// TestOverrideBadInput: each row is a SetOverride the service refuses and
// the field it names; nothing is stored.
func TestOverrideBadInput(t *testing.T) {
	t.Parallel()
	long := string(make([]byte, 1025))
	tests := []struct {
		name  string
		in    quota.OverrideInput
		kind  errs.Kind
		field string
	}{
		{"no customer", quota.OverrideInput{Feature: "sites", Extra: "1"}, errs.Invalid, "customer_id"},
		{"no feature", quota.OverrideInput{CustomerID: "cus_a", Extra: "1"}, errs.Invalid, "feature_key"},
		{"an unknown feature", quota.OverrideInput{CustomerID: "cus_a", Feature: "nope", Extra: "1"}, errs.Invalid, "feature_key"},
		{"no extra", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites"}, errs.Invalid, "extra"},
		{"a negative extra", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "-1"}, errs.Invalid, "extra"},
		{"a zero extra", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "0"}, errs.Invalid, "extra"},
		{"four fraction digits", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "0.0001"}, errs.Invalid, "extra"},
		{"an extra too large", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "1000000001"}, errs.Invalid, "extra"},
		{"not a decimal", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "1e3"}, errs.Invalid, "extra"},
		{"an expiry now", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "1", ExpireTime: start}, errs.Invalid, "expire_time"},
		{"an expiry in the past", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "1", ExpireTime: start.Add(-time.Hour)}, errs.Invalid, "expire_time"},
		{"an expiry out of range", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "1", ExpireTime: time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)}, errs.Invalid, "expire_time"},
		{"a reason too long", quota.OverrideInput{CustomerID: "cus_a", Feature: "sites", Extra: "1", Reason: long}, errs.Invalid, "reason"},
		{"an unknown customer", quota.OverrideInput{CustomerID: "cus_nobody", Feature: "sites", Extra: "1"}, errs.NotFound, ""},
	}
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.svc.SetOverride(t.Context(), tt.in)
				wantErr(t, err, tt.kind, tt.field)
			})
		}
		list, err := e.svc.ListOverrides(t.Context(), "cus_a", page.Request{})
		must(t, err)
		if len(list.Items) != 0 {
			t.Errorf("refused calls stored %+v", list.Items)
		}
		_, err = e.svc.ListOverrides(t.Context(), "cus_nobody", page.Request{})
		wantErr(t, err, errs.NotFound, "")
		_, err = e.svc.ListOverrides(t.Context(), "cus_a", page.Request{Token: "!"})
		wantErr(t, err, errs.Invalid, "page_token")
	})
}

// TestListOverridesPages: pages follow each other in the order the
// overrides were set.
func TestListOverridesPages(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		var want []string
		for range 3 {
			want = append(want, e.setOverride(t, quota.OverrideInput{Extra: "1"}).ID)
		}
		var got []string
		pr := page.Request{Size: 2}
		for range 3 {
			p, err := e.svc.ListOverrides(t.Context(), "cus_a", pr)
			must(t, err)
			for _, o := range p.Items {
				got = append(got, o.ID)
			}
			if pr.Token = p.NextToken; pr.Token == "" {
				break
			}
		}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("pages gave %v, want %v", got, want)
		}
	})
}

// TestScheduledDowngrade: a downgrade recorded now applies at the period
// end with no event, even within the freshness of the limits asked just
// before; it keeps the allocations above the new limit and denies new
// ones.
func TestScheduledDowngrade(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		periodEnd := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		e.ents.set("cus_a", sites(quota.PolicyHard, 10))
		e.ents.schedule("cus_a", periodEnd, sites(quota.PolicyHard, 3))
		e.reserveCommit(t, "cus_a", 5)
		e.wantLimit(t, "before the period end", 10000, true)

		e.clk.Set(periodEnd.Add(-100 * time.Millisecond))
		e.wantLimit(t, "100 ms before the period end", 10000, true)
		e.clk.Set(periodEnd)
		got := e.check(t, "1")
		if got.Limit != 3000 || got.Allowed || got.Used != 5000 || got.Reason != quota.ReasonOverLimit {
			t.Errorf("at the period end: %+v, want limit 3000, used 5000, over the limit", got)
		}
		res, r, err := e.svc.Reserve(t.Context(), quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1")})
		must(t, err)
		if res.Allowed || r.ID != "" {
			t.Errorf("a reserve above the lowered limit: %+v", res)
		}
		if du, _ := e.dbState(t, "cus_a"); du != 5000 {
			t.Errorf("database used %d, want the 5000 allocated", du)
		}
	})
}

// TestUpgradeAtOnce: a recorded change announced by its event is seen by
// the next call, with the clock standing still.
func TestUpgradeAtOnce(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		e.reserveCommit(t, "cus_a", 1)
		e.wantLimit(t, "before the upgrade", 1000, false)
		e.ents.set("cus_a", sites(quota.PolicyHard, 50))
		must(t, e.svc.LimitsChanged(t.Context(), "cus_a"))
		e.wantLimit(t, "after the upgrade", 50000, true)
	})
}

// TestFreshness: a change whose event is lost is seen one second after
// the limits were asked, not later.
func TestFreshness(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		e.wantLimit(t, "asked", 1000, true)
		e.ents.set("cus_a", sites(quota.PolicyHard, 2))
		e.clk.Advance(quota.Freshness - time.Millisecond)
		e.wantLimit(t, "within the freshness", 1000, true)
		e.clk.Advance(time.Millisecond)
		e.wantLimit(t, "one second after", 2000, true)
	})
}

// TestStaleLimitsAreAskedOnce: when a customer's limits go stale, the
// concurrent calls that find them stale share one question to the
// subscription service instead of asking it each.
func TestStaleLimitsAreAskedOnce(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		e.wantLimit(t, "asked", 1000, true)
		e.clk.Advance(quota.Freshness)
		e.ents.mu.Lock()
		before := e.ents.calls
		e.ents.mu.Unlock()
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("sites", "1")}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		e.ents.mu.Lock()
		defer e.ents.mu.Unlock()
		// Calls that find the limits stale after a shared refresh wrote
		// them find them fresh; a few may start a second one between the
		// first's write and their script. Fifty would be one per call.
		if asked := e.ents.calls - before; asked < 1 || asked > 5 {
			t.Errorf("50 concurrent calls on stale limits asked them %d times, want 1 to 5", asked)
		}
	})
}

// TestRefreshLosesToInvalidation: limits asked before an invalidation are
// not written after it, so a deleted override cannot come back for the
// freshness.
func TestRefreshLosesToInvalidation(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		lv := e.live
		ctx := t.Context()
		v, err := lv.LimitsVersion(ctx, "cus_a")
		must(t, err)
		must(t, lv.Invalidate(ctx, "cus_a"))
		must(t, lv.SetLimits(ctx, "cus_a", sites(quota.PolicyHard, 9), start, v))
		if _, out, err := lv.Check(ctx, "cus_a", []quota.Item{{Feature: "sites", Quantity: 1000}}, start); err != nil || out != quota.Stale {
			t.Errorf("limits written over an invalidation: outcome %v, %v", out, err)
		}
		v2, err := lv.LimitsVersion(ctx, "cus_a")
		must(t, err)
		if v2 != v+1 {
			t.Errorf("version %d after one invalidation of %d", v2, v)
		}
		must(t, lv.SetLimits(ctx, "cus_a", sites(quota.PolicyHard, 9), start, v2))
		if _, out, err := lv.Check(ctx, "cus_a", []quota.Item{{Feature: "sites", Quantity: 1000}}, start); err != nil || out == quota.Stale {
			t.Errorf("limits of the current version: outcome %v, %v", out, err)
		}
	})
}
