package subscription

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFold(t *testing.T) {
	t.Parallel()
	d := func(month time.Month, day int) time.Time { return time.Date(2026, month, day, 0, 0, 0, 0, time.UTC) }
	sub := func(at time.Time, plan string, qty int64) Change {
		return Change{Kind: KindSubscribe, PlanID: plan, PlanKey: plan, Version: 1, Quantity: qty, Effective: at}
	}
	plan := func(at time.Time, p string, v int32) Change {
		return Change{Kind: KindPlan, PlanID: p, PlanKey: p, Version: v, Effective: at}
	}
	qty := func(at time.Time, q int64) Change { return Change{Kind: KindQuantity, Quantity: q, Effective: at} }
	cancel := func(at time.Time) Change { return Change{Kind: KindCancel, Effective: at} }
	withdrawn := func(c Change) Change { c.WithdrawTime = d(1, 1); return c }
	seg := func(from, to time.Time, p string, v int32, q int64) Segment {
		return Segment{SubscriptionID: "sub", CustomerID: "cus", PlanID: p, PlanKey: p, Version: v, Quantity: q, Start: from, End: to}
	}
	trial := func(s Segment) Segment { s.Trial = true; return s }
	open := time.Time{}

	tests := []struct {
		name    string
		changes []Change
		want    []Segment
	}{
		{"a new subscription is one open segment",
			[]Change{sub(d(1, 1), "basic", 1)},
			[]Segment{seg(d(1, 1), open, "basic", 1, 1)}},
		{"a plan change at the period boundary closes the first segment there",
			[]Change{sub(d(1, 1), "basic", 1), plan(d(2, 1), "pro", 1)},
			[]Segment{seg(d(1, 1), d(2, 1), "basic", 1, 1), seg(d(2, 1), open, "pro", 1, 1)}},
		{"a mid-period plan change splits the period",
			[]Change{sub(d(1, 1), "basic", 1), plan(d(1, 16).Add(9*time.Hour), "pro", 1)},
			[]Segment{seg(d(1, 1), d(1, 16).Add(9*time.Hour), "basic", 1, 1), seg(d(1, 16).Add(9*time.Hour), open, "pro", 1, 1)}},
		{"change then cancel ends the changed segment",
			[]Change{sub(d(1, 1), "basic", 1), qty(d(1, 10), 3), cancel(d(2, 1))},
			[]Segment{seg(d(1, 1), d(1, 10), "basic", 1, 1), seg(d(1, 10), d(2, 1), "basic", 1, 3)}},
		{"a scheduled change that was withdrawn leaves the segment open",
			[]Change{sub(d(1, 1), "pro", 1), withdrawn(plan(d(2, 1), "basic", 1))},
			[]Segment{seg(d(1, 1), open, "pro", 1, 1)}},
		{"a withdrawn cancellation reopens the subscription",
			[]Change{sub(d(1, 1), "pro", 1), withdrawn(cancel(d(2, 1)))},
			[]Segment{seg(d(1, 1), open, "pro", 1, 1)}},
		{"a backdated plan change splits an old segment and carries into later ones",
			[]Change{sub(d(1, 1), "basic", 1), qty(d(1, 20), 2), plan(d(1, 15), "pro", 1)},
			[]Segment{seg(d(1, 1), d(1, 15), "basic", 1, 1), seg(d(1, 15), d(1, 20), "pro", 1, 1), seg(d(1, 20), open, "pro", 1, 2)}},
		{"changes at the same instant apply in the order recorded and make one boundary",
			[]Change{sub(d(1, 1), "basic", 1), plan(d(2, 1), "pro", 1), qty(d(2, 1), 5)},
			[]Segment{seg(d(1, 1), d(2, 1), "basic", 1, 1), seg(d(2, 1), open, "pro", 1, 5)}},
		{"a change back to the same terms merges the segments",
			[]Change{sub(d(1, 1), "basic", 1), qty(d(1, 10), 2), qty(d(1, 10), 1)},
			[]Segment{seg(d(1, 1), open, "basic", 1, 1)}},
		{"a move to a new version of the same plan is a boundary",
			[]Change{sub(d(1, 1), "basic", 1), plan(d(3, 1), "basic", 2)},
			[]Segment{seg(d(1, 1), d(3, 1), "basic", 1, 1), seg(d(3, 1), open, "basic", 2, 1)}},
		{"a cancellation at the start leaves no segment",
			[]Change{sub(d(3, 1), "basic", 1), cancel(d(3, 1))},
			nil},
		{"the trial's end is a boundary",
			[]Change{func() Change { c := sub(d(1, 1), "basic", 1); c.TrialEnd = d(1, 15); return c }()},
			[]Segment{trial(seg(d(1, 1), d(1, 15), "basic", 1, 1)), seg(d(1, 15), open, "basic", 1, 1)}},
		{"a trial cut short by a cancellation ends with it",
			[]Change{func() Change { c := sub(d(1, 1), "basic", 1); c.TrialEnd = d(1, 15); return c }(), cancel(d(1, 5))},
			[]Segment{trial(seg(d(1, 1), d(1, 5), "basic", 1, 1))}},
		{"no changes, no segments", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i := range tt.changes {
				tt.changes[i].Seq = int64(i + 1)
			}
			got := Fold(Subscription{ID: "sub", CustomerID: "cus", Changes: tt.changes})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("segments (-want +got):\n%s", diff)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].End.IsZero() || got[i-1].End.After(got[i].Start) {
					t.Errorf("segments %d and %d overlap", i-1, i)
				}
			}
		})
	}
}

func TestDiffSegments(t *testing.T) {
	t.Parallel()
	a := Segment{ID: "a", PlanID: "p", Version: 1, Quantity: 1, Start: time.Unix(0, 0)}
	closed := a
	closed.End = time.Unix(100, 0)
	next := Segment{PlanID: "p", Version: 1, Quantity: 2, Start: time.Unix(100, 0)}
	supersede, add := diffSegments([]Segment{a}, []Segment{closed, next})
	if len(supersede) != 1 || supersede[0].ID != "a" || len(add) != 2 {
		t.Fatalf("closing a segment: supersede %v, add %v", supersede, add)
	}
	supersede, add = diffSegments([]Segment{closed}, []Segment{closed})
	if len(supersede)+len(add) != 0 {
		t.Fatalf("unchanged segments: supersede %v, add %v", supersede, add)
	}
}
