package subscription_test

import (
	"strings"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	sub "github.com/meterplane/meterplane/services/subscription/internal/subscription"
	"github.com/meterplane/meterplane/services/subscription/migrations"
)

func TestBillingData(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "subscription", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		// Acme: basic from Jan 10, upgraded to pro on Jan 11; a second
		// subscription billed separately; and one that ended in December.
		acme := e.customer(t, sub.CustomerInput{Name: "Acme"})
		s1 := e.subscribe(t, sub.SubscribeInput{CustomerID: acme.ID, Plan: "basic"})
		e.subscribe(t, sub.SubscribeInput{CustomerID: acme.ID, Plan: "payg", BillSeparately: true})
		old := e.subscribe(t, sub.SubscribeInput{CustomerID: acme.ID, Plan: "basic", Start: date(2025, 11, 1), BackdateReason: "migrated"})
		_, _, err := e.svc.Cancel(ctx, old.ID, sub.When{Timing: sub.At, At: date(2025, 12, 15), BackdateReason: "migrated"})
		must(t, err)
		e.clk.Advance(24 * time.Hour)
		_, _, err = e.svc.ChangePlan(ctx, sub.ChangePlanInput{SubscriptionID: s1.ID, Plan: "pro"})
		must(t, err)
		idle := e.customer(t, sub.CustomerInput{Name: "Idle"})

		jan := sub.Period{Start: date(2026, 1, 1), End: date(2026, 2, 1)}
		dec := sub.Period{Start: date(2025, 12, 1), End: date(2026, 1, 1)}
		got, err := e.svc.BillingData(ctx, sub.BillingQueries{
			{CustomerID: acme.ID, Period: jan},
			{CustomerID: idle.ID, Period: jan},
			{CustomerID: acme.ID}, // the customer alone
			{CustomerID: acme.ID, Period: dec},
		})
		must(t, err)
		if len(got) != 4 {
			t.Fatalf("got %d results, want 4", len(got))
		}
		if got[0].Customer.ID != acme.ID || got[0].Period != jan || got[1].Customer.Name != "Idle" || got[2].Customer.ID != acme.ID {
			t.Errorf("results are not in the order of the queries: %+v", got)
		}
		// January: both segments of s1 (whole, not cut to the period) and
		// the separate one; not the subscription that ended in December.
		var separate int
		for _, sg := range got[0].Segments {
			if sg.SubscriptionID == old.ID {
				t.Errorf("January holds the subscription that ended in December")
			}
			if sg.BillSeparately {
				separate++
			}
		}
		if separate != 1 || len(got[0].Segments) != 3 {
			t.Errorf("January: %d segments, %d billed separately; want 3 and 1: %s", len(got[0].Segments), separate, describe(got[0].Segments))
		}
		wantSegments(t, describe(onlyOf(got[0].Segments, s1.ID)),
			"basic/1×1 [2026-01-10T09:00, 2026-01-11T09:00)",
			"pro/1×1 [2026-01-11T09:00, open)")
		if got[0].Segments[0].Plan.Interval.Unit != sub.Month {
			t.Errorf("a segment's plan version is missing: %+v", got[0].Segments[0].Plan)
		}
		if len(got[1].Segments) != 0 || len(got[2].Segments) != 0 {
			t.Errorf("a customer without subscriptions or without a period has segments: %v %v", got[1].Segments, got[2].Segments)
		}
		wantSegments(t, describe(got[3].Segments), "basic/1×1 [2025-11-01T00:00, 2025-12-15T00:00)")
		feb := sub.Period{Start: date(2026, 2, 1), End: date(2026, 3, 1)}
		if got[0].Next != feb || got[3].Next != jan || got[2].Next != (sub.Period{}) {
			t.Errorf("next periods %v, %v, %v; want February, January and none", got[0].Next, got[3].Next, got[2].Next)
		}

		_, err = e.svc.BillingData(ctx, sub.BillingQueries{{CustomerID: acme.ID}, {CustomerID: "cus_missing"}})
		wantKind(t, err, errs.NotFound)
	})
}

func TestBillingDataRefusesBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.SQLite(t, "subscription", migrations.FS))
	jan := sub.Period{Start: date(2026, 1, 1), End: date(2026, 2, 1)}
	tooMany := make(sub.BillingQueries, sub.MaxBillingQueries+1)
	for i := range tooMany {
		tooMany[i] = sub.BillingQuery{CustomerID: "cus_x", Period: jan}
	}
	for _, tt := range []struct {
		name  string
		qs    sub.BillingQueries
		field string
	}{
		{"no query", nil, "queries"},
		{"too many queries", tooMany, "queries"},
		{"no customer", sub.BillingQueries{{Period: jan}}, "queries[0].customer_id"},
		{"a long id", sub.BillingQueries{{CustomerID: "cus_x"}, {CustomerID: strings.Repeat("x", 300)}}, "queries[1].customer_id"},
		{"a reversed period", sub.BillingQueries{{CustomerID: "cus_x", Period: sub.Period{Start: jan.End, End: jan.Start}}}, "queries[0].period"},
		{"a period without end", sub.BillingQueries{{CustomerID: "cus_x", Period: sub.Period{Start: jan.Start}}}, "queries[0].period"},
		{"year 1", sub.BillingQueries{{CustomerID: "cus_x", Period: sub.Period{Start: date(1, 6, 1), End: jan.End}}}, "queries[0].period.start"},
		{"year 9999", sub.BillingQueries{{CustomerID: "cus_x", Period: sub.Period{Start: jan.Start, End: date(9999, 1, 1)}}}, "queries[0].period.end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.BillingData(t.Context(), tt.qs)
			wantField(t, err, tt.field)
		})
	}
}

// onlyOf returns the segments of one subscription.
func onlyOf(segs []sub.SegmentTerms, subscriptionID string) []sub.SegmentTerms {
	var out []sub.SegmentTerms
	for _, sg := range segs {
		if sg.SubscriptionID == subscriptionID {
			out = append(out, sg)
		}
	}
	return out
}
