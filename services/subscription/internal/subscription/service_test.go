package subscription_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/subscription/internal/store"
	sub "github.com/meterplane/meterplane/services/subscription/internal/subscription"
	"github.com/meterplane/meterplane/services/subscription/migrations"
)

// t0 is "now" at the start of every test: mid-January.
var t0 = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func dec(s string) money.Decimal { return money.MustParse(s) }

func decp(s string) *money.Decimal {
	d := money.MustParse(s)
	return &d
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantKind(t *testing.T, err error, k errs.Kind) {
	t.Helper()
	if !errs.Is(err, k) {
		t.Fatalf("got %v (kind %d), want kind %d", err, errs.KindOf(err), k)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var e *errs.Error
	if !errs.Is(err, errs.Invalid) || !asError(err, &e) || len(e.Violations) == 0 || e.Violations[0].Field != field {
		t.Fatalf("got %v, want an invalid %s", err, field)
	}
}

// fakeCatalog serves plan versions by key, or by "key/version".
type fakeCatalog map[string]sub.PlanVersion

func (f fakeCatalog) PlanVersion(_ context.Context, ref string, version int32) (sub.PlanVersion, error) {
	if version != 0 {
		ref = fmt.Sprintf("%s/%d", ref, version)
	}
	pv, ok := f[ref]
	if !ok {
		return sub.PlanVersion{}, errs.New(errs.NotFound, "plan %q not found", ref)
	}
	return pv, nil
}

var (
	monthly = sub.Interval{Unit: sub.Month, Count: 1}
	basic   = sub.PlanVersion{PlanID: "plan_basic", PlanKey: "basic", Version: 1, Currency: "EUR", Interval: monthly,
		Recurring: dec("10"), MinQuantity: 1, Grants: []sub.Grant{
			{Feature: "sites", Included: dec("5"), Policy: sub.Hard},
			{Feature: "bandwidth_gib", Included: dec("100"), Policy: sub.Soft, Overage: decp("0.05"), Reset: 1},
		}}
	basic2 = func() sub.PlanVersion { v := basic; v.Version = 2; v.Recurring = dec("12"); return v }()
	pro    = sub.PlanVersion{PlanID: "plan_pro", PlanKey: "pro", Version: 1, Currency: "EUR", Interval: monthly,
		Recurring: dec("30"), MinQuantity: 1, Grants: []sub.Grant{
			{Feature: "sites", Included: dec("50"), Policy: sub.Hard},
			{Feature: "bandwidth_gib", Included: dec("500"), Policy: sub.Soft, Overage: decp("0.04"), Reset: 1},
		}}
	payg = sub.PlanVersion{PlanID: "plan_payg", PlanKey: "payg", Version: 1, Currency: "EUR", Interval: monthly,
		Recurring: dec("0"), MinQuantity: 1, Grants: []sub.Grant{{Feature: "sites", Included: dec("0"), Policy: sub.Unlimited, Overage: decp("2.5")}}}
	yearly = sub.PlanVersion{PlanID: "plan_yearly", PlanKey: "yearly", Version: 1, Currency: "EUR", Interval: sub.Interval{Unit: sub.Year, Count: 1},
		Recurring: dec("100"), MinQuantity: 1}
	usd       = sub.PlanVersion{PlanID: "plan_usd", PlanKey: "usd", Version: 1, Currency: "USD", Interval: monthly, Recurring: dec("10"), MinQuantity: 1}
	instances = sub.PlanVersion{PlanID: "plan_forgejo", PlanKey: "forgejo", Version: 1, Currency: "EUR", Interval: monthly, Recurring: dec("40"), MinQuantity: 2}
)

func catalog() fakeCatalog {
	f := fakeCatalog{}
	for _, v := range []sub.PlanVersion{basic, pro, payg, yearly, usd, instances} {
		f[v.PlanKey] = v
		f[fmt.Sprintf("%s/%d", v.PlanKey, v.Version)] = v
	}
	f["basic/2"] = basic2
	return f
}

// env is a service on a fresh database with a fake clock at t0.
type env struct {
	svc *sub.Service
	clk *clock.Fake
	db  *storage.DB
}

func newEnv(t *testing.T, db *storage.DB) env {
	t.Helper()
	clk := clock.NewFake(t0)
	return env{svc: sub.NewService(store.New(db), catalog(), clk), clk: clk, db: db}
}

func (e env) customer(t *testing.T, in sub.CustomerInput) sub.Customer {
	t.Helper()
	if in.Name == "" {
		in.Name = "Acme"
	}
	if in.Currency == "" {
		in.Currency = "EUR"
	}
	c, err := e.svc.CreateCustomer(t.Context(), in)
	must(t, err)
	return c
}

func (e env) subscribe(t *testing.T, in sub.SubscribeInput) sub.View {
	t.Helper()
	v, err := e.svc.Subscribe(t.Context(), in)
	must(t, err)
	return v
}

func (e env) segments(t *testing.T, customerID string) []string {
	t.Helper()
	pg, err := e.svc.Segments(t.Context(), customerID, "", sub.Period{Start: date(2000, 1, 1), End: date(2100, 1, 1)}, page.Request{Size: page.MaxSize})
	segs := pg.Items
	must(t, err)
	return describe(segs)
}

// describe writes segments as "plan/version×quantity [start, end)" lines.
func describe(segs []sub.SegmentTerms) []string {
	var out []string
	for _, s := range segs {
		end := "open"
		if !s.End.IsZero() {
			end = s.End.Format("2006-01-02T15:04")
		}
		trial := ""
		if s.Trial {
			trial = " trial"
		}
		out = append(out, fmt.Sprintf("%s/%d×%d [%s, %s)%s", s.PlanKey, s.Version, s.Quantity, s.Start.Format("2006-01-02T15:04"), end, trial))
	}
	return out
}

func wantSegments(t *testing.T, got []string, want ...string) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
}

func TestCustomers(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		reseller := e.customer(t, sub.CustomerInput{ExternalID: "client-1", Name: "Reseller", Email: "billing@reseller.example"})
		if reseller.Anchor.Kind != sub.Calendar || reseller.Currency != "EUR" {
			t.Errorf("created %+v", reseller)
		}
		child := e.customer(t, sub.CustomerInput{Name: "Client of reseller", ParentID: reseller.ID, Anchor: sub.Anniversary})

		for _, tt := range []struct {
			name  string
			in    sub.CustomerInput
			field string
		}{
			{"a customer needs a name", sub.CustomerInput{Currency: "EUR"}, "customer.name"},
			{"a customer's currency is an ISO 4217 code", sub.CustomerInput{Name: "x", Currency: "EURO"}, "customer.currency"},
			{"an e-mail address must parse", sub.CustomerInput{Name: "x", Currency: "EUR", Email: "not an address"}, "customer.email"},
			{"the parent must exist", sub.CustomerInput{Name: "x", Currency: "EUR", ParentID: "cus_missing"}, "customer.parent_customer_id"},
			{"the anchor must be known", sub.CustomerInput{Name: "x", Currency: "EUR", Anchor: 9}, "customer.billing_anchor"},
		} {
			_, err := e.svc.CreateCustomer(ctx, tt.in)
			t.Run(tt.name, func(t *testing.T) { wantField(t, err, tt.field) })
		}

		_, err := e.svc.CreateCustomer(ctx, sub.CustomerInput{ExternalID: "client-1", Name: "Again", Currency: "EUR"})
		wantKind(t, err, errs.AlreadyExists)

		// A reseller cannot become its own customer's customer.
		_, err = e.svc.UpdateCustomer(ctx, sub.CustomerUpdate{ID: reseller.ID, ParentID: &child.ID})
		wantField(t, err, "parent_customer_id")

		name, usd := "Reseller GmbH", "USD"
		updated, err := e.svc.UpdateCustomer(ctx, sub.CustomerUpdate{ID: reseller.ID, Name: &name, Currency: &usd})
		must(t, err)
		if updated.Name != name || updated.Currency != "USD" || updated.Email != reseller.Email {
			t.Errorf("updated %+v", updated)
		}
		// Once subscribed, the currency is fixed.
		e.subscribe(t, sub.SubscribeInput{CustomerID: child.ID, Plan: "basic"})
		_, err = e.svc.UpdateCustomer(ctx, sub.CustomerUpdate{ID: child.ID, Currency: &usd})
		wantKind(t, err, errs.FailedPrecondition)
		got, err := e.svc.GetCustomer(ctx, child.ID)
		must(t, err)
		if !got.Anchor.Date.Equal(date(2026, 1, 10)) {
			t.Errorf("anniversary anchor %v, want the first subscription's day", got.Anchor.Date)
		}

		p, err := e.svc.ListCustomers(ctx, sub.CustomerFilter{ParentID: reseller.ID}, page.Request{})
		must(t, err)
		if len(p.Items) != 1 || p.Items[0].ID != child.ID {
			t.Errorf("reseller's customers: %+v", p.Items)
		}
		p, err = e.svc.ListCustomers(ctx, sub.CustomerFilter{}, page.Request{Size: 1})
		must(t, err)
		p2, err := e.svc.ListCustomers(ctx, sub.CustomerFilter{}, page.Request{Size: 1, Token: p.NextToken})
		must(t, err)
		if len(p.Items) != 1 || len(p2.Items) != 1 || p2.Items[0].ID == p.Items[0].ID || p2.NextToken != "" {
			t.Errorf("pages %+v then %+v", p, p2)
		}
	})
}

func TestSubscribe(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		c := e.customer(t, sub.CustomerInput{})

		v := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic", TrialDays: 14})
		if v.Status != sub.Trialing || v.Terms.Quantity != 1 || !v.TrialEnd.Equal(t0.AddDate(0, 0, 14)) {
			t.Errorf("subscribed %+v", v)
		}
		future := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "forgejo", Start: date(2026, 2, 1)})
		if future.Status != sub.Pending || future.Terms.Quantity != 2 {
			t.Errorf("future subscription %+v, want pending with the minimum of 2 instances", future)
		}
		backdated := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "pro", Start: date(2025, 12, 1), BackdateReason: "migrated from Aegir"})
		if backdated.Status != sub.Active {
			t.Errorf("backdated subscription %+v", backdated)
		}

		for _, tt := range []struct {
			name string
			in   sub.SubscribeInput
			kind errs.Kind
		}{
			{"a plan in another currency is refused", sub.SubscribeInput{CustomerID: c.ID, Plan: "usd"}, errs.FailedPrecondition},
			{"an unknown plan is not found", sub.SubscribeInput{CustomerID: c.ID, Plan: "gold"}, errs.NotFound},
			{"an unknown customer is not found", sub.SubscribeInput{CustomerID: "cus_x", Plan: "basic"}, errs.NotFound},
		} {
			_, err := e.svc.Subscribe(ctx, tt.in)
			t.Run(tt.name, func(t *testing.T) { wantKind(t, err, tt.kind) })
		}
		for _, tt := range []struct {
			name  string
			in    sub.SubscribeInput
			field string
		}{
			{"fewer instances than the minimum are refused", sub.SubscribeInput{CustomerID: c.ID, Plan: "forgejo", Quantity: 1}, "quantity"},
			{"a start in the past needs a reason", sub.SubscribeInput{CustomerID: c.ID, Plan: "basic", Start: date(2026, 1, 1)}, "backdate_reason"},
			{"a negative quantity is refused", sub.SubscribeInput{CustomerID: c.ID, Plan: "basic", Quantity: -1}, "quantity"},
			{"a plan is required", sub.SubscribeInput{CustomerID: c.ID}, "plan_id"},
		} {
			_, err := e.svc.Subscribe(ctx, tt.in)
			t.Run(tt.name, func(t *testing.T) { wantField(t, err, tt.field) })
		}

		p, err := e.svc.ListSubscriptions(ctx, c.ID, page.Request{})
		must(t, err)
		if len(p.Items) != 3 {
			t.Errorf("listed %d subscriptions, want 3 (refused ones leave nothing)", len(p.Items))
		}
	})
}

func TestChanges(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		t.Run("an upgrade takes effect now, a downgrade at the period's end", func(t *testing.T) {
			e := newEnv(t, db)
			c := e.customer(t, sub.CustomerInput{})
			s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic"})
			e.clk.Advance(24 * time.Hour)
			v, ch, err := e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "pro"})
			must(t, err)
			if !ch.Effective.Equal(t0.Add(24*time.Hour)) || v.Terms.PlanKey != "pro" {
				t.Errorf("upgrade took effect at %v on %s", ch.Effective, v.Terms.PlanKey)
			}
			_, ch, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "basic"})
			must(t, err)
			if !ch.Effective.Equal(date(2026, 2, 1)) {
				t.Errorf("downgrade takes effect at %v, want the period's end", ch.Effective)
			}
			wantSegments(t, e.segments(t, c.ID),
				"basic/1×1 [2026-01-10T09:00, 2026-01-11T09:00)",
				"pro/1×1 [2026-01-11T09:00, 2026-02-01T00:00)",
				"basic/1×1 [2026-02-01T00:00, open)")
			scheduled, err := scheduledChanges(ctx, e.svc, s.ID)
			must(t, err)
			if len(scheduled) != 1 || scheduled[0].ID != ch.ID {
				t.Errorf("scheduled %+v, want the downgrade", scheduled)
			}
		})

		t.Run("a scheduled change can be cancelled before it takes effect, not after", func(t *testing.T) {
			e := newEnv(t, db)
			c := e.customer(t, sub.CustomerInput{})
			s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "pro", Quantity: 3})
			_, down, err := e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 1})
			must(t, err)
			if !down.Effective.Equal(date(2026, 2, 1)) {
				t.Errorf("a decrease takes effect at %v, want the period's end", down.Effective)
			}
			_, err = e.svc.CancelScheduledChange(ctx, s.ID, down.ID)
			must(t, err)
			wantSegments(t, e.segments(t, c.ID), "pro/1×3 [2026-01-10T09:00, open)")
			_, err = e.svc.CancelScheduledChange(ctx, s.ID, down.ID)
			wantKind(t, err, errs.FailedPrecondition)

			_, up, err := e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 4, When: sub.When{Timing: sub.At, At: date(2026, 1, 20)}})
			must(t, err)
			e.clk.Set(date(2026, 1, 21))
			_, err = e.svc.CancelScheduledChange(ctx, s.ID, up.ID)
			wantKind(t, err, errs.FailedPrecondition)
			scheduled, err := scheduledChanges(ctx, e.svc, s.ID)
			must(t, err)
			if len(scheduled) != 0 {
				t.Errorf("scheduled %+v after everything took effect", scheduled)
			}
		})

		t.Run("change then cancel, then reactivate before the end", func(t *testing.T) {
			e := newEnv(t, db)
			c := e.customer(t, sub.CustomerInput{})
			s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic"})
			e.clk.Advance(time.Hour)
			_, _, err := e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 2})
			must(t, err)
			v, cancel, err := e.svc.Cancel(ctx, s.ID, sub.When{})
			must(t, err)
			if !cancel.Effective.Equal(date(2026, 2, 1)) || !v.End.Equal(date(2026, 2, 1)) || v.Status != sub.Active {
				t.Errorf("cancel at %v, view %+v: want the period's end, still active", cancel.Effective, v)
			}
			wantSegments(t, e.segments(t, c.ID), "basic/1×1 [2026-01-10T09:00, 2026-01-10T10:00)", "basic/1×2 [2026-01-10T10:00, 2026-02-01T00:00)")
			// A change after the end would never take effect.
			_, _, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "pro", When: sub.When{Timing: sub.EndOfPeriod}})
			wantKind(t, err, errs.FailedPrecondition)

			v, err = e.svc.Reactivate(ctx, s.ID)
			must(t, err)
			if !v.End.IsZero() {
				t.Errorf("reactivated subscription still ends at %v", v.End)
			}
			wantSegments(t, e.segments(t, c.ID), "basic/1×1 [2026-01-10T09:00, 2026-01-10T10:00)", "basic/1×2 [2026-01-10T10:00, open)")

			e.clk.Advance(time.Hour)
			_, _, err = e.svc.Cancel(ctx, s.ID, sub.When{Timing: sub.Immediate})
			must(t, err)
			e.clk.Advance(time.Hour)
			_, err = e.svc.Reactivate(ctx, s.ID)
			wantKind(t, err, errs.FailedPrecondition)
			_, _, err = e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 5})
			wantKind(t, err, errs.FailedPrecondition)
			got, err := e.svc.GetSubscription(ctx, s.ID)
			must(t, err)
			if got.Status != sub.Canceled || got.Terms.Quantity != 2 {
				t.Errorf("after the end: %+v", got)
			}
		})

		t.Run("an immediate cancel replaces one at the period's end and drops later changes", func(t *testing.T) {
			e := newEnv(t, db)
			c := e.customer(t, sub.CustomerInput{})
			s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "pro"})
			_, _, err := e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "basic"}) // at Feb 1
			must(t, err)
			_, _, err = e.svc.Cancel(ctx, s.ID, sub.When{Timing: sub.At, At: date(2026, 3, 1)})
			must(t, err)
			e.clk.Advance(time.Hour)
			_, _, err = e.svc.Cancel(ctx, s.ID, sub.When{Timing: sub.Immediate})
			must(t, err)
			wantSegments(t, e.segments(t, c.ID), "pro/1×1 [2026-01-10T09:00, 2026-01-10T10:00)")
			scheduled, err := scheduledChanges(ctx, e.svc, s.ID)
			must(t, err)
			if len(scheduled) != 0 {
				t.Errorf("scheduled %+v after an immediate cancel", scheduled)
			}
		})

		t.Run("a backdated change splits an old segment", func(t *testing.T) {
			e := newEnv(t, db)
			c := e.customer(t, sub.CustomerInput{})
			s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic", Start: date(2025, 11, 1), BackdateReason: "imported"})
			_, _, err := e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 2,
				When: sub.When{Timing: sub.At, At: date(2025, 12, 1), BackdateReason: "imported"}})
			must(t, err)
			_, _, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "pro",
				When: sub.When{Timing: sub.At, At: date(2025, 11, 15)}})
			wantField(t, err, "backdate_reason")
			_, _, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "pro",
				When: sub.When{Timing: sub.At, At: date(2025, 11, 15), BackdateReason: "upgrade agreed by phone"}})
			must(t, err)
			wantSegments(t, e.segments(t, c.ID),
				"basic/1×1 [2025-11-01T00:00, 2025-11-15T00:00)",
				"pro/1×1 [2025-11-15T00:00, 2025-12-01T00:00)",
				"pro/1×2 [2025-12-01T00:00, open)")
			// Billing November again sees exactly the split.
			nov, err := e.svc.Segments(ctx, c.ID, s.ID, sub.Period{Start: date(2025, 11, 1), End: date(2025, 12, 1)}, page.Request{})
			must(t, err)
			wantSegments(t, describe(nov.Items),
				"basic/1×1 [2025-11-01T00:00, 2025-11-15T00:00)",
				"pro/1×1 [2025-11-15T00:00, 2025-12-01T00:00)")
			// Pages of one segment give the same segments.
			first, err := e.svc.Segments(ctx, c.ID, s.ID, sub.Period{Start: date(2025, 11, 1), End: date(2025, 12, 1)}, page.Request{Size: 1})
			must(t, err)
			second, err := e.svc.Segments(ctx, c.ID, s.ID, sub.Period{Start: date(2025, 11, 1), End: date(2025, 12, 1)}, page.Request{Size: 1, Token: first.NextToken})
			must(t, err)
			wantSegments(t, append(describe(first.Items), describe(second.Items)...), describe(nov.Items)...)
			if second.NextToken != "" {
				t.Errorf("a third page after the last segment: %q", second.NextToken)
			}
			// The changes, in the order recorded, keep their backdate reasons.
			var reasons []string
			pr := page.Request{Size: 2}
			for range 5 {
				cs, err := e.svc.Changes(ctx, s.ID, pr)
				must(t, err)
				for _, ch := range cs.Items {
					reasons = append(reasons, ch.Kind.String()+": "+ch.BackdateReason)
				}
				if pr.Token = cs.NextToken; pr.Token == "" {
					break
				}
			}
			wantSegments(t, reasons, "subscribe: imported", "quantity: imported", "plan: upgrade agreed by phone")
			_, _, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "basic",
				When: sub.When{Timing: sub.At, At: date(2025, 10, 1), BackdateReason: "x"}})
			wantField(t, err, "effective_time")
		})

		t.Run("a new version of the same plan and a yearly plan compare per day", func(t *testing.T) {
			e := newEnv(t, db)
			c := e.customer(t, sub.CustomerInput{})
			s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic"})
			_, ch, err := e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "basic", Version: 2})
			must(t, err)
			if !ch.Effective.Equal(t0) {
				t.Errorf("a dearer version took effect at %v, want now", ch.Effective)
			}
			_, _, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "basic", Version: 2})
			wantKind(t, err, errs.FailedPrecondition)
			// 100 a year is less per day than 12 a month: a downgrade.
			_, ch, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "yearly"})
			must(t, err)
			if !ch.Effective.Equal(date(2026, 2, 1)) {
				t.Errorf("the yearly plan takes effect at %v, want Feb 1", ch.Effective)
			}
		})

		t.Run("bad timings are refused with their field", func(t *testing.T) {
			e := newEnv(t, db)
			c := e.customer(t, sub.CustomerInput{})
			s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic"})
			_, _, err := e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 2, When: sub.When{Timing: sub.At}})
			wantField(t, err, "effective_time")
			_, _, err = e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 2, When: sub.When{Timing: sub.Immediate, At: t0}})
			wantField(t, err, "effective_time")
			_, _, err = e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 2, When: sub.When{Timing: 7}})
			wantField(t, err, "timing")
			_, _, err = e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: 0})
			wantField(t, err, "quantity")
			_, _, err = e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: "sub_x", Quantity: 2})
			wantKind(t, err, errs.NotFound)
		})
	})
}

func TestEntitlements(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		c := e.customer(t, sub.CustomerInput{})

		got, err := e.svc.Entitlements(ctx, c.ID, time.Time{})
		must(t, err)
		if got.Active != 0 || len(got.Items) != 0 {
			t.Errorf("without a subscription: %+v", got)
		}
		_, err = e.svc.Entitlements(ctx, "cus_missing", time.Time{})
		wantKind(t, err, errs.NotFound)

		b := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic", Quantity: 2})
		p := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "pro"})
		e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "payg"})
		_, _, err = e.svc.Cancel(ctx, p.ID, sub.When{}) // at Feb 1
		must(t, err)

		got, err = e.svc.Entitlements(ctx, c.ID, time.Time{})
		must(t, err)
		want := []sub.Entitlement{
			{Feature: "bandwidth_gib", Included: dec("700"), Policy: sub.Soft, Overage: decp("0.04"), Currency: "EUR", Reset: 1, Sources: []sub.Source{
				{SubscriptionID: b.ID, PlanKey: "basic", Version: 1, Quantity: 2, Included: dec("200"), Policy: sub.Soft, Overage: decp("0.05")},
				{SubscriptionID: p.ID, PlanKey: "pro", Version: 1, Quantity: 1, Included: dec("500"), Policy: sub.Soft, Overage: decp("0.04")},
			}},
			{Feature: "sites", Included: dec("60"), Policy: sub.Unlimited, Overage: decp("2.5"), Currency: "EUR"},
		}
		if got.Active != 3 {
			t.Errorf("active %d, want 3", got.Active)
		}
		opts := cmp.Comparer(func(a, b money.Decimal) bool { return a.Equal(b) })
		if diff := cmp.Diff(want[0], got.Items[0], opts); diff != "" {
			t.Errorf("bandwidth (-want +got):\n%s", diff)
		}
		sites := got.Items[1]
		sites.Sources = nil
		if diff := cmp.Diff(want[1], sites, opts); diff != "" {
			t.Errorf("sites (-want +got):\n%s", diff)
		}

		// After the cancellation takes effect, only basic and payg remain.
		later, err := e.svc.Entitlements(ctx, c.ID, date(2026, 2, 1))
		must(t, err)
		if later.Active != 2 || !later.Items[1].Included.Equal(dec("10")) {
			t.Errorf("on Feb 1: %+v", later)
		}
		// Before anything started, nothing.
		before, err := e.svc.Entitlements(ctx, c.ID, date(2026, 1, 1))
		must(t, err)
		if before.Active != 0 || len(before.Items) != 0 {
			t.Errorf("before the start: %+v", before)
		}
	})
}

func TestBillingPeriods(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		e.clk.Set(date(2026, 1, 31).Add(15 * time.Hour))
		anniv := e.customer(t, sub.CustomerInput{Name: "Anniversary", Anchor: sub.Anniversary})
		e.subscribe(t, sub.SubscribeInput{CustomerID: anniv.ID, Plan: "basic"})
		cal := e.customer(t, sub.CustomerInput{Name: "Calendar"})
		e.subscribe(t, sub.SubscribeInput{CustomerID: cal.ID, Plan: "yearly"})
		e.subscribe(t, sub.SubscribeInput{CustomerID: cal.ID, Plan: "basic", Start: date(2026, 3, 1)})
		idle := e.customer(t, sub.CustomerInput{Name: "No subscription"})

		for _, tt := range []struct {
			name     string
			customer string
			at       time.Time
			want     sub.Period
		}{
			{"an anniversary on Jan 31 gives a period ending Feb 28", anniv.ID, date(2026, 2, 10), sub.Period{Start: date(2026, 1, 31), End: date(2026, 2, 28)}},
			{"then a period from Feb 28 to Mar 31", anniv.ID, date(2026, 3, 1), sub.Period{Start: date(2026, 2, 28), End: date(2026, 3, 31)}},
			{"a yearly-only calendar customer has a calendar year", cal.ID, date(2026, 2, 10), sub.Period{Start: date(2026, 1, 1), End: date(2027, 1, 1)}},
			{"with a monthly plan too, the month is the period", cal.ID, date(2026, 3, 10), sub.Period{Start: date(2026, 3, 1), End: date(2026, 4, 1)}},
			{"a customer without subscriptions has calendar months", idle.ID, date(2026, 2, 10), sub.Period{Start: date(2026, 2, 1), End: date(2026, 3, 1)}},
		} {
			got, _, err := e.svc.BillingPeriod(ctx, tt.customer, tt.at)
			t.Run(tt.name, func(t *testing.T) {
				must(t, err)
				if got != tt.want {
					t.Errorf("got [%v, %v), want [%v, %v)", got.Start, got.End, tt.want.Start, tt.want.End)
				}
			})
		}

		due, err := e.svc.DuePeriods(ctx, date(2026, 4, 1), time.Time{}, page.Request{})
		must(t, err)
		var lines []string
		for _, d := range due.Items {
			name := map[string]string{anniv.ID: "anniversary", cal.ID: "calendar"}[d.CustomerID]
			lines = append(lines, fmt.Sprintf("%s %s [%s, %s)", name, d.Currency, d.Period.Start.Format("01-02"), d.Period.End.Format("01-02")))
		}
		wantSegments(t, lines, "anniversary EUR [02-28, 03-31)", "calendar EUR [03-01, 04-01)")

		// A page of size n holds n periods, even within one customer's.
		all, err := e.svc.DuePeriods(ctx, date(2026, 4, 1), date(2026, 1, 1), page.Request{})
		must(t, err)
		var paged []sub.DuePeriod
		pr := page.Request{Size: 1}
		for range 20 {
			due, err = e.svc.DuePeriods(ctx, date(2026, 4, 1), date(2026, 1, 1), pr)
			must(t, err)
			if len(due.Items) > 1 {
				t.Fatalf("a page of size 1 holds %d periods", len(due.Items))
			}
			paged = append(paged, due.Items...)
			if pr.Token = due.NextToken; pr.Token == "" {
				break
			}
		}
		if len(all.Items) < 3 || !cmp.Equal(paged, all.Items) {
			t.Errorf("pages of one period give %+v, want %+v", paged, all.Items)
		}
	})
}

func asError(err error, target **errs.Error) bool { return errors.As(err, target) }

// TestConcurrentChanges runs many changes of one subscription at once on
// PostgreSQL: they queue on the subscription's lock, all succeed, and the
// stored segments never overlap.
func TestConcurrentChanges(t *testing.T) {
	t.Parallel()
	db := storagetest.Postgres(t, "subscription", migrations.FS)
	e := newEnv(t, db)
	ctx := t.Context()
	c := e.customer(t, sub.CustomerInput{})
	s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic"})

	const n = 20
	errc := make(chan error, n)
	for i := range n {
		go func() {
			_, _, err := e.svc.ChangeQuantity(ctx, sub.ChangeQuantityInput{SubscriptionID: s.ID, Quantity: int64(i + 2),
				When: sub.When{Timing: sub.At, At: t0.Add(time.Duration(n-i) * time.Minute)}})
			errc <- err
		}()
	}
	for range n {
		must(t, <-errc)
	}

	type row struct {
		Start time.Time
		End   *time.Time
	}
	var rows []row
	must(t, db.Conn(ctx).Raw(`SELECT start_time AS start, end_time AS "end" FROM segments
		WHERE subscription_id = ? AND superseded_time IS NULL ORDER BY start_time`, s.ID).Scan(&rows).Error)
	if len(rows) != n+1 {
		t.Fatalf("%d current segments, want %d", len(rows), n+1)
	}
	for i, r := range rows {
		last := i == len(rows)-1
		if (r.End == nil) != last {
			t.Fatalf("segment %d: end %v; only the last may be open", i, r.End)
		}
		if !last && !r.End.Equal(rows[i+1].Start) {
			t.Fatalf("segment %d ends at %v, next starts at %v", i, r.End, rows[i+1].Start)
		}
	}
}

// TestSegmentsUniqueStart shows the store's own guard: a segment that would
// start where a current one starts is refused even without the lock.
func TestSegmentsUniqueStart(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		c := e.customer(t, sub.CustomerInput{})
		s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic"})
		st := store.New(db)
		err := st.ReplaceSegments(t.Context(), nil, []sub.Segment{{ID: "seg_dup", SubscriptionID: s.ID, CustomerID: c.ID,
			PlanID: "plan_pro", PlanKey: "pro", Version: 1, Quantity: 1, Start: s.Start}}, t0)
		wantKind(t, err, errs.Conflict)
	})
}

// TestEvents checks every change writes one subscription.changed event in
// its transaction, and a refused change writes none.
func TestEvents(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		c := e.customer(t, sub.CustomerInput{})
		s := e.subscribe(t, sub.SubscribeInput{CustomerID: c.ID, Plan: "basic"})
		_, down, err := e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "pro", When: sub.When{Timing: sub.EndOfPeriod}})
		must(t, err)
		_, err = e.svc.CancelScheduledChange(ctx, s.ID, down.ID)
		must(t, err)
		_, _, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s.ID, Plan: "usd"})
		wantKind(t, err, errs.FailedPrecondition)

		var payloads []string
		must(t, db.Conn(ctx).Raw(`SELECT payload FROM outbox WHERE topic = ? ORDER BY id`, sub.TopicChanged).Scan(&payloads).Error)
		want := []string{
			fmt.Sprintf(`{"customerId":%q,"subscriptionId":%q,"changeId":%q,"kind":"CHANGE_KIND_SUBSCRIBE","effectiveTime":"2026-01-10T09:00:00Z"}`, c.ID, s.ID, s.Changes[0].ID),
			fmt.Sprintf(`{"customerId":%q,"subscriptionId":%q,"changeId":%q,"kind":"CHANGE_KIND_PLAN","effectiveTime":"2026-02-01T00:00:00Z"}`, c.ID, s.ID, down.ID),
			fmt.Sprintf(`{"customerId":%q,"subscriptionId":%q,"changeId":%q,"kind":"CHANGE_KIND_PLAN","effectiveTime":"2026-02-01T00:00:00Z","withdrawn":true}`, c.ID, s.ID, down.ID),
		}
		if diff := cmp.Diff(want, payloads); diff != "" {
			t.Errorf("outbox payloads (-want +got):\n%s", diff)
		}
	})
}

// scheduledChanges returns all of a subscription's scheduled changes.
func scheduledChanges(ctx context.Context, svc *sub.Service, id string) ([]sub.Change, error) {
	p, err := svc.ScheduledChanges(ctx, id, page.Request{})
	return p.Items, err
}
