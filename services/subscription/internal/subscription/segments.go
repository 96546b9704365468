package subscription

import (
	"slices"
	"time"
)

// Fold returns a subscription's segments: its changes that were not
// withdrawn, applied in order of effective time and then of recording, with
// a boundary where the trial ends. Changes at the same instant apply
// together, so no segment is empty. Consecutive stretches with the same
// terms are one segment.
func Fold(sub Subscription) []Segment {
	changes := liveChanges(sub.Changes)
	if len(changes) == 0 || changes[0].Kind != KindSubscribe {
		return nil
	}
	trialEnd := changes[0].TrialEnd
	times := make([]time.Time, 0, len(changes)+1)
	for _, c := range changes {
		times = append(times, c.Effective)
	}
	if !trialEnd.IsZero() {
		times = append(times, trialEnd)
	}
	slices.SortFunc(times, time.Time.Compare)
	times = slices.CompactFunc(times, time.Time.Equal)

	var (
		out  []Segment
		cur  = Segment{SubscriptionID: sub.ID, CustomerID: sub.CustomerID}
		live bool
		next int
	)
	for _, t := range times {
		for ; next < len(changes) && changes[next].Effective.Equal(t); next++ {
			switch c := changes[next]; c.Kind {
			case KindSubscribe:
				cur.PlanID, cur.PlanKey, cur.Version, cur.Quantity = c.PlanID, c.PlanKey, c.Version, c.Quantity
				live = true
			case KindPlan:
				cur.PlanID, cur.PlanKey, cur.Version = c.PlanID, c.PlanKey, c.Version
			case KindQuantity:
				cur.Quantity = c.Quantity
			case KindCancel:
				live = false
			}
		}
		cur.Trial = t.Before(trialEnd)
		if n := len(out); n > 0 && out[n-1].End.IsZero() {
			if live && out[n-1].sameTerms(cur) {
				continue
			}
			out[n-1].End = t
		}
		if live {
			cur.Start = t
			out = append(out, cur)
		}
	}
	return out
}

// liveChanges returns the changes that were not withdrawn, in the order
// they apply.
func liveChanges(all []Change) []Change {
	var cs []Change
	for _, c := range all {
		if !c.Withdrawn() {
			cs = append(cs, c)
		}
	}
	slices.SortStableFunc(cs, func(a, b Change) int {
		if c := a.Effective.Compare(b.Effective); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
	return cs
}

// start returns when the subscription starts.
func (s Subscription) start() Change {
	for _, c := range s.Changes {
		if c.Kind == KindSubscribe {
			return c
		}
	}
	return Change{}
}

// cancellation returns the subscription's cancellation that was not
// withdrawn, if any.
func (s Subscription) cancellation() (Change, bool) {
	for _, c := range s.Changes {
		if c.Kind == KindCancel && !c.Withdrawn() {
			return c, true
		}
	}
	return Change{}, false
}

// StatusAt returns the subscription's status at now.
func (s Subscription) StatusAt(now time.Time) Status {
	start := s.start()
	if end, ok := s.cancellation(); ok && !now.Before(end.Effective) {
		return Canceled
	}
	switch {
	case now.Before(start.Effective):
		return Pending
	case now.Before(start.TrialEnd):
		return Trialing
	}
	return Active
}

// termsAt returns the segment whose terms are in effect at now: the one
// containing now, the first before the start, the last after the end. It
// returns false when the subscription has no segment (cancelled before it
// started).
func termsAt(segs []Segment, now time.Time) (Segment, bool) {
	if len(segs) == 0 {
		return Segment{}, false
	}
	for _, s := range segs {
		if s.Contains(now) {
			return s, true
		}
	}
	if now.Before(segs[0].Start) {
		return segs[0], true
	}
	return segs[len(segs)-1], true
}

// diffSegments compares stored segments with wanted ones: stored segments
// that are not wanted as they are must be superseded, and wanted segments
// not stored as they are must be added.
func diffSegments(stored, wanted []Segment) (supersede, add []Segment) {
	same := func(a, b Segment) bool {
		return a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.sameTerms(b)
	}
	for _, s := range stored {
		if !slices.ContainsFunc(wanted, func(w Segment) bool { return same(s, w) }) {
			supersede = append(supersede, s)
		}
	}
	for _, w := range wanted {
		if !slices.ContainsFunc(stored, func(s Segment) bool { return same(s, w) }) {
			add = append(add, w)
		}
	}
	return supersede, add
}
