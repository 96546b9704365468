package quota_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/quota/internal/live"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
	"github.com/meterplane/meterplane/services/quota/internal/store"
	"github.com/meterplane/meterplane/services/quota/migrations"
)

// TestAdmission: each row is a customer's plan, what is already
// allocated, and what one more Reserve of some sites is answered.
func TestAdmission(t *testing.T) {
	t.Parallel()
	noPlan := quota.Limits{HasPlan: false, ByFeature: map[string]quota.Limit{}}
	diskOnly := quota.Limits{HasPlan: true, ByFeature: map[string]quota.Limit{"disk_gib": {Policy: quota.PolicyHard, Limit: 10000}}}
	tests := []struct {
		name      string
		limits    quota.Limits
		allocated int
		quantity  string
		allowed   bool
		reason    quota.Reason
		limit     quota.Units
		used      quota.Units
	}{
		{"a hard limit with room admits", sites(quota.PolicyHard, 3), 2, "1", true, quota.ReasonOK, 3000, 2000},
		{"a hard limit without room denies", sites(quota.PolicyHard, 3), 3, "1", false, quota.ReasonOverLimit, 3000, 3000},
		{"a hard limit denies a part above it", sites(quota.PolicyHard, 3), 2, "1.5", false, quota.ReasonOverLimit, 3000, 2000},
		{"a soft limit admits above it as overage", sites(quota.PolicySoft, 3), 3, "1", true, quota.ReasonOverage, 3000, 3000},
		{"no limit admits anything", sites(quota.PolicyNone, 0), 0, "1000", true, quota.ReasonOK, 0, 0},
		{"no plan denies", noPlan, 0, "1", false, quota.ReasonNoPlan, 0, 0},
		{"a feature no plan grants is denied with limit 0", diskOnly, 0, "1", false, quota.ReasonNotEntitled, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			each(t, func(t *testing.T, e *env) {
				if tt.allocated > 0 {
					e.ents.set("cus_a", sites(quota.PolicyNone, 0))
					e.reserveCommit(t, "cus_a", tt.allocated)
					e.clk.Advance(2 * quota.Freshness)
				}
				e.ents.set("cus_a", tt.limits)
				check, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("sites", tt.quantity)})
				must(t, err)
				res, r, err := e.svc.Reserve(t.Context(), quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", tt.quantity)})
				must(t, err)
				for _, got := range []quota.Result{check, res} {
					it := got.Items[0]
					if got.Allowed != tt.allowed || it.Allowed != tt.allowed || it.Reason != tt.reason || it.Limit != tt.limit || it.Used != tt.used {
						t.Errorf("got allowed %v %+v, want allowed %v reason %d limit %d used %d", got.Allowed, it, tt.allowed, tt.reason, tt.limit, tt.used)
					}
				}
				if (r.ID != "") != tt.allowed {
					t.Errorf("reservation %+v for allowed %v", r, tt.allowed)
				}
				// A denial holds nothing: the same check answers the same.
				again, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("sites", tt.quantity)})
				must(t, err)
				if !tt.allowed && again.Items[0].Reserved != 0 {
					t.Errorf("a denial holds %d", again.Items[0].Reserved)
				}
			})
		})
	}
}

// TestBadInput: each row is a request the service refuses, and the field
// it names.
func TestBadInput(t *testing.T) {
	t.Parallel()
	many := make([]quota.ItemInput, quota.MaxItems+1)
	for i := range many {
		many[i] = quota.ItemInput{Feature: "sites", Quantity: "1"}
	}
	tests := []struct {
		name  string
		in    quota.ReserveInput
		kind  errs.Kind
		field string
	}{
		{"no customer", quota.ReserveInput{Items: one("sites", "1")}, errs.Invalid, "customer_id"},
		{"braces in the customer id", quota.ReserveInput{CustomerID: "a}b", Items: one("sites", "1")}, errs.Invalid, "customer_id"},
		{"no items", quota.ReserveInput{CustomerID: "cus_a"}, errs.Invalid, "items"},
		{"too many items", quota.ReserveInput{CustomerID: "cus_a", Items: many}, errs.Invalid, "items"},
		{"a negative quantity", quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "-1")}, errs.Invalid, "items[0].quantity"},
		{"a zero quantity", quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "0")}, errs.Invalid, "items[0].quantity"},
		{"not a decimal", quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1e3")}, errs.Invalid, "items[0].quantity"},
		{"four fraction digits", quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "0.0001")}, errs.Invalid, "items[0].quantity"},
		{"a quantity too large", quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1000000001")}, errs.Invalid, "items[0].quantity"},
		{"a feature twice", quota.ReserveInput{CustomerID: "cus_a", Items: append(one("sites", "1"), one("sites", "1")...)}, errs.Invalid, "items[1].feature_key"},
		{"a TTL too short", quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1"), TTL: time.Millisecond}, errs.Invalid, "ttl"},
		{"a TTL too long", quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1"), TTL: 25 * time.Hour}, errs.Invalid, "ttl"},
		{"an unknown feature", quota.ReserveInput{CustomerID: "cus_a", Items: one("nope", "1")}, errs.Invalid, "items[0].feature_key"},
		{"a counter feature", quota.ReserveInput{CustomerID: "cus_a", Items: one("bandwidth_gib", "1")}, errs.Invalid, "items[0].feature_key"},
		{"an unknown customer", quota.ReserveInput{CustomerID: "cus_nobody", Items: one("sites", "1")}, errs.NotFound, ""},
	}
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 3))
		for _, tt := range tests {
			_, _, err := e.svc.Reserve(t.Context(), tt.in)
			if !errs.Is(err, tt.kind) {
				t.Errorf("%s: got %v, want kind %d", tt.name, err, tt.kind)
				continue
			}
			if e, ok := err.(*errs.Error); tt.field != "" && (!ok || len(e.Violations) == 0 || e.Violations[0].Field != tt.field) {
				t.Errorf("%s: got %v, want field %s", tt.name, err, tt.field)
			}
		}
		// Nothing of the refused calls is held or stored.
		res, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("sites", "3")})
		must(t, err)
		if !res.Allowed {
			t.Errorf("after refused calls: %+v", res)
		}
	})
}

// TestUnknownCustomerLeavesNoKeys: a call for a customer the subscription
// service does not know writes nothing in Redis.
func TestUnknownCustomerLeavesNoKeys(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		_, _, err := e.svc.Reserve(t.Context(), quota.ReserveInput{CustomerID: "cus_nobody", Items: one("sites", "1")})
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("got %v, want NotFound", err)
		}
		_, err = e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_nobody", Items: one("sites", "1")})
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("got %v, want NotFound", err)
		}
		if keys, err := e.keys(t.Context()); err != nil || len(keys) != 0 {
			t.Errorf("keys %v, %v", keys, err)
		}
	})
}

// TestAllOrNothing: a Reserve of several items holds all or none.
func TestAllOrNothing(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", quota.Limits{HasPlan: true, ByFeature: map[string]quota.Limit{
			"sites": {Policy: quota.PolicyHard, Limit: 5000}, "disk_gib": {Policy: quota.PolicyHard, Limit: 10000}}})
		site := []quota.ItemInput{{Feature: "sites", Quantity: "1"}, {Feature: "disk_gib", Quantity: "10.5"}}
		res, r, err := e.svc.Reserve(t.Context(), quota.ReserveInput{CustomerID: "cus_a", Items: site})
		must(t, err)
		if res.Allowed || !res.Items[0].Allowed || res.Items[1].Allowed || res.Items[1].Reason != quota.ReasonOverLimit || r.ID != "" {
			t.Errorf("too much disk: %+v %+v", res, r)
		}
		if got := e.check(t, "1"); got.Reserved != 0 {
			t.Errorf("a denied reservation holds %d sites", got.Reserved)
		}
		site[1].Quantity = "10"
		res, _, err = e.svc.Reserve(t.Context(), quota.ReserveInput{CustomerID: "cus_a", Items: site})
		must(t, err)
		if !res.Allowed {
			t.Errorf("within both limits: %+v", res)
		}
		if got := e.check(t, "1"); got.Reserved != 1000 {
			t.Errorf("held sites %d, want 1000", got.Reserved)
		}
	})
}

// TestRedisDown: without Redis, Reserve and Check fail (never admit),
// and a failed Reserve leaves no reservation in the database.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	db := storagetest.SQLite(t, "quota", migrations.FS)
	r, err := redisx.Open(t.Context(), "")
	must(t, err)
	st := store.New(db)
	ents := &fakeEntitlements{steps: map[string][]step{"cus_a": {{limits: sites(quota.PolicyHard, 5)}}}}
	svc := quota.NewService(st, live.New(r.Client), ents, fakeFeatures{}, clock.NewFake(start), slog.New(slog.DiscardHandler))
	r.Close()
	res, _, err := svc.Reserve(t.Context(), quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1"), Key: "req-1"})
	if !errs.Is(err, errs.Unavailable) || res.Allowed {
		t.Errorf("reserve without Redis: %+v, %v; want Unavailable", res, err)
	}
	if _, found, err := st.ByKey(t.Context(), "cus_a", "req-1"); err != nil || found {
		t.Errorf("a failed reserve left its intent: %v %v", found, err)
	}
	if _, err := svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("sites", "1")}); !errs.Is(err, errs.Unavailable) {
		t.Errorf("check without Redis: %v, want Unavailable", err)
	}
}
