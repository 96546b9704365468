package rating

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// far stands for the end of an open segment: after every period rated.
var far = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// periodAt asks the schedule for the interval period containing t and checks
// that it does.
func (r *rater) periodAt(iv Interval, t time.Time) (Period, error) {
	p := r.in.Schedule(iv, t)
	if p.From.After(t) || !t.Before(p.To) {
		return Period{}, fmt.Errorf("rating: schedule gave %v for %v, which does not contain it", p, t)
	}
	return p, nil
}

// inN reports whether t lies in the invoice period N.
func (r *rater) inN(t time.Time) bool {
	return !t.Before(r.in.Period.From) && t.Before(r.in.Period.To)
}

// fees returns the one-time and recurring fee lines of one subscription.
func (r *rater) fees(s *Subscription) ([]Line, error) {
	first := -1 // the first paid segment: where paying starts
	for i, seg := range s.Segments {
		if !seg.Trial {
			first = i
			break
		}
	}
	if first < 0 {
		return nil, nil
	}
	var lines []Line
	if seg := s.Segments[first]; r.inN(seg.From) {
		for _, f := range seg.Plan.OneTimeFees {
			q := decimal.NewFromInt(seg.Quantity)
			lines = append(lines, r.line(s, seg, KindOneTimeFee, f.Description, q, f.Amount,
				f.Amount.Mul(q).Round(r.in.Currency.Minor), Period{seg.From, r.in.Period.To}))
		}
	}
	subEnd := s.Segments[len(s.Segments)-1].end(far)
	for i := first; i < len(s.Segments); i++ {
		seg := s.Segments[i]
		for _, f := range seg.Plan.Fees {
			var ls []Line
			var err error
			if f.Timing == InArrears {
				ls, err = r.arrears(s, seg, f, subEnd)
			} else {
				ls, err = r.advance(s, seg, f, i == first, s.Segments[first].From)
			}
			if err != nil {
				return nil, err
			}
			lines = append(lines, ls...)
		}
	}
	return lines, nil
}

// advance bills an in-advance fee: the first fee when paying starts (at
// paid), the renewals N carries for N+1, and the charge and credit of a
// change.
func (r *rater) advance(s *Subscription, seg Segment, f RecurringFee, first bool, paid time.Time) ([]Line, error) {
	iv := seg.Plan.Interval
	var lines []Line
	// The segment starts inside N: the subscription's first fee, or the new
	// plan's remainder after a change strictly inside an interval period.
	if r.inN(seg.From) {
		p, err := r.periodAt(iv, seg.From)
		if err != nil {
			return nil, err
		}
		switch {
		case first:
			lines = append(lines, r.feeLine(s, seg, f, KindRecurringFee, Period{seg.From, p.To}, p, f.Description))
		case seg.From.After(p.From) && f.Prorated:
			lines = append(lines, r.feeLine(s, seg, f, KindProrationCharge, Period{seg.From, p.To}, p,
				"Remainder of "+f.Description+" after the change"))
		}
	}
	// Renewals: interval periods that start in N+1 while the segment runs.
	// A segment that starts exactly there renews too, unless paying starts
	// with it (then its first fee is billed when it starts). When paying
	// started inside N, the invoice of N-1 was cut before it, so N also
	// carries the renewals between the start and N's end (a weekly fee
	// started mid-month inside monthly invoices); when it starts after N,
	// the invoice of its start carries them.
	t := r.in.Period.To
	switch {
	case r.inN(paid):
		t = paid
	case !paid.Before(r.in.Period.To):
		t = r.in.Next.To
	}
	for n := 0; t.Before(r.in.Next.To); n++ {
		if n > maxPeriodsPerSegment {
			return nil, fmt.Errorf("rating: more than %d interval periods in one invoice period", maxPeriodsPerSegment)
		}
		p, err := r.periodAt(iv, t)
		if err != nil {
			return nil, err
		}
		if p.From.Equal(t) && !p.From.Before(seg.From) && p.From.Before(seg.end(far)) &&
			!(first && p.From.Equal(seg.From)) {
			lines = append(lines, r.feeLine(s, seg, f, KindRecurringFee, p, p, f.Description))
		}
		t = p.To
	}
	// The segment ends inside N, strictly inside an interval period: its fee
	// was charged to that period's end, so the unused part comes back.
	if !seg.To.IsZero() && r.inN(seg.To) && f.Prorated {
		p, err := r.periodAt(iv, seg.To)
		if err != nil {
			return nil, err
		}
		if p.From.Before(seg.To) {
			l := r.feeLine(s, seg, f, KindProrationCredit, Period{seg.To, p.To}, p, "Unused "+f.Description)
			l.Amount = l.Amount.Neg()
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// arrears bills an in-arrears fee for every interval period whose coverage
// ends inside N: each segment's part of it, or the whole fee once.
func (r *rater) arrears(s *Subscription, seg Segment, f RecurringFee, subEnd time.Time) ([]Line, error) {
	iv := seg.Plan.Interval
	var lines []Line
	t := r.in.Period.From
	for n := 0; t.Before(r.in.Period.To); n++ {
		if n > maxPeriodsPerSegment {
			return nil, fmt.Errorf("rating: more than %d interval periods in one invoice period", maxPeriodsPerSegment)
		}
		p, err := r.periodAt(iv, t)
		if err != nil {
			return nil, err
		}
		t = p.To
		end := minTime(p.To, subEnd)
		if !end.After(r.in.Period.From) || end.After(r.in.Period.To) {
			continue // billed on another invoice
		}
		piece := Period{maxTime(seg.From, p.From), minTime(seg.end(far), p.To)}
		if !piece.From.Before(piece.To) {
			continue // the segment has no part of this interval period
		}
		switch {
		case f.Prorated:
			lines = append(lines, r.feeLine(s, seg, f, KindRecurringFee, piece, p, f.Description))
		case piece.To.Equal(end):
			lines = append(lines, r.feeLine(s, seg, f, KindRecurringFee, p, p, f.Description))
		}
	}
	return lines, nil
}

// feeLine is fee f of seg for the part span of interval period p: prorated
// by seconds when f says so, whole otherwise.
func (r *rater) feeLine(s *Subscription, seg Segment, f RecurringFee, kind Kind, span, p Period, desc string) Line {
	q := decimal.NewFromInt(seg.Quantity)
	full := f.Amount.Mul(q)
	amount := full.Round(r.in.Currency.Minor)
	if f.Prorated && span != p {
		amount = r.round(full.Mul(decimalSeconds(span.seconds())), decimalSeconds(p.seconds()))
		desc = fmt.Sprintf("%s, %s of %s", desc, span.String(), p.String())
	} else {
		desc = fmt.Sprintf("%s, %s", desc, span.String())
	}
	return r.line(s, seg, kind, desc, q, f.Amount, amount, span)
}

// line fills in what every line says about its subscription and plan.
func (r *rater) line(s *Subscription, seg Segment, kind Kind, desc string, q, price, amount Decimal, span Period) Line {
	return Line{
		Kind: kind, Description: desc, Quantity: q, UnitPrice: price, Amount: amount, Period: span,
		SubscriptionID: s.ID, PlanKey: seg.Plan.Key, PlanVersion: seg.Plan.Version,
		ERPProductID: seg.Plan.ERPProductID, ERPUnitID: seg.Plan.ERPUnitID,
	}
}

// String writes p as its dates, or times when it does not start and end at
// midnight ("2026-03-15 – 2026-04-01").
func (p Period) String() string {
	layout := "2006-01-02"
	if !midnight(p.From) || !midnight(p.To) {
		layout = "2006-01-02 15:04:05"
	}
	return p.From.UTC().Format(layout) + " – " + p.To.UTC().Format(layout)
}

func midnight(t time.Time) bool { return t.Equal(t.Truncate(24 * time.Hour)) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
