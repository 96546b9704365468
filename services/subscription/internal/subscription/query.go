package subscription

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
)

// days returns the interval's average length in days, to compare prices per day
// of plans with different intervals.
func days(iv Interval) money.Decimal {
	perUnit := map[IntervalUnit]string{Day: "1", Week: "7", Month: "30.4375", Quarter: "91.3125", Year: "365.25"}[iv.Unit]
	if perUnit == "" {
		return decimal.Zero
	}
	return money.MustParse(perUnit).Mul(decimal.NewFromInt(int64(iv.Count)))
}

// monthly is the interval of a customer without subscriptions.
var monthly = Interval{Unit: Month, Count: 1}

// forever is a period holding every time the service deals with.
var forever = Period{Start: time.Unix(0, 0).UTC(), End: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}

// checkPeriod checks a period given by a caller.
func checkPeriod(p Period) error {
	if p.Start.IsZero() || p.End.IsZero() || !p.Start.Before(p.End) {
		return errs.Field("period", "must have a start before its end")
	}
	var v errs.Violations
	checkTime(&v, "period.start", p.Start)
	checkTime(&v, "period.end", p.End)
	return v.Err()
}

// checkAt returns an error naming field unless t, a time given by a caller
// (zero for now), is inside the range periods are computed for.
func checkAt(field string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	var v errs.Violations
	checkTime(&v, field, t)
	return v.Err()
}

// SegmentTerms is a segment with the plan version it bills.
type SegmentTerms struct {
	Segment
	Plan PlanVersion
}

// Segments returns one page of the customer's segments that overlap p,
// only those of one subscription if subscriptionID is set.
func (s *Service) Segments(ctx context.Context, customerID, subscriptionID string, p Period, pr page.Request) (page.Page[SegmentTerms], error) {
	if err := checkPeriod(p); err != nil {
		return page.Page[SegmentTerms]{}, err
	}
	if err := checkPage(pr); err != nil {
		return page.Page[SegmentTerms]{}, err
	}
	if _, err := s.store.GetCustomer(ctx, customerID); err != nil {
		return page.Page[SegmentTerms]{}, err
	}
	segs, err := s.store.SegmentsIn(ctx, customerID, subscriptionID, p)
	if err != nil {
		return page.Page[SegmentTerms]{}, err
	}
	pg, err := pageOf(segs, pr, func(sg Segment) string { return sg.ID })
	if err != nil {
		return page.Page[SegmentTerms]{}, err
	}
	terms, err := s.withTerms(ctx, pg.Items)
	return page.Page[SegmentTerms]{Items: terms, NextToken: pg.NextToken}, err
}

// checkPage checks a page request.
func checkPage(pr page.Request) error {
	var v errs.Violations
	pr.Check(&v)
	return v.Err()
}

// pageOf returns the page pr asks for of items, a whole list in order, whose
// keys key gives: the items after the one whose key the token holds.
func pageOf[T any](items []T, pr page.Request, key func(T) string) (page.Page[T], error) {
	after, limit := pr.Cursor()
	if after != "" {
		i := slices.IndexFunc(items, func(t T) bool { return key(t) == after })
		if i < 0 {
			return page.Page[T]{}, errs.Field("page_token", "is not a token returned by this list")
		}
		items = items[i+1:]
	}
	return page.New(items, limit, key), nil
}

func (s *Service) withTerms(ctx context.Context, segs []Segment) ([]SegmentTerms, error) {
	refs := make([]VersionRef, len(segs))
	for i, sg := range segs {
		refs[i] = sg.Ref()
	}
	pvs, err := s.planVersions(ctx, refs)
	if err != nil {
		return nil, err
	}
	out := make([]SegmentTerms, len(segs))
	for i, sg := range segs {
		out[i] = SegmentTerms{Segment: sg, Plan: pvs[sg.Ref()]}
	}
	return out, nil
}

// Entitlements is what a customer may use at a time.
type Entitlements struct {
	At time.Time
	// Active is how many subscriptions are active or trialing at At.
	Active int
	// Items, by feature key.
	Items []Entitlement
	// ValidUntil is the first instant after At at which the answer may
	// change: the next segment boundary of any of the customer's
	// subscriptions (a scheduled change, a cancellation, a trial's end, a
	// subscription starting later); zero if none is known.
	ValidUntil time.Time
}

// Entitlements returns the customer's effective limits per feature at at
// (now if zero): each plan's grants times the subscription's quantity,
// summed over the subscriptions active then.
func (s *Service) Entitlements(ctx context.Context, customerID string, at time.Time) (Entitlements, error) {
	if err := checkAt("at", at); err != nil {
		return Entitlements{}, err
	}
	if at.IsZero() {
		at = s.clock.Now()
	}
	segs, next, err := s.store.SegmentsAt(ctx, customerID, at)
	if err != nil {
		return Entitlements{}, err
	}
	if len(segs) == 0 {
		// Tell an unknown customer from one without a plan.
		if _, err := s.store.GetCustomer(ctx, customerID); err != nil {
			return Entitlements{}, err
		}
	}
	terms, err := s.withTerms(ctx, segs)
	if err != nil {
		return Entitlements{}, err
	}
	return Entitlements{At: at, Active: len(terms), Items: sumGrants(terms), ValidUntil: validUntil(segs, next)}, nil
}

// validUntil is the earliest end of the active segments and the start of
// the next one (zero if any): until then the same segments are active, so
// the same entitlements hold. Scheduled changes need no timer: their
// segments are stored ahead, and a caller that keeps the answer (quota)
// asks again at this instant.
func validUntil(active []Segment, next time.Time) time.Time {
	until := next
	for _, sg := range active {
		if !sg.End.IsZero() && (until.IsZero() || sg.End.Before(until)) {
			until = sg.End
		}
	}
	return until
}

// sumGrants adds up the grants of the segments per feature. The policy is
// the most permissive, the overage price the lowest on offer.
func sumGrants(terms []SegmentTerms) []Entitlement {
	byFeature := map[string]*Entitlement{}
	var keys []string
	for _, t := range terms {
		qty := decimal.NewFromInt(t.Quantity)
		for _, g := range t.Plan.Grants {
			e := byFeature[g.Feature]
			if e == nil {
				e = &Entitlement{Feature: g.Feature, Included: decimal.Zero, Currency: t.Plan.Currency, Reset: g.Reset}
				byFeature[g.Feature] = e
				keys = append(keys, g.Feature)
			}
			src := Source{SubscriptionID: t.SubscriptionID, PlanKey: t.PlanKey, Version: t.Version, Quantity: t.Quantity,
				Included: g.Included.Mul(qty), Policy: g.Policy, Overage: g.Overage}
			e.Sources = append(e.Sources, src)
			e.Included = e.Included.Add(src.Included)
			e.Policy = max(e.Policy, g.Policy)
			if g.Overage != nil && (e.Overage == nil || g.Overage.LessThan(*e.Overage)) {
				e.Overage = g.Overage
			}
		}
	}
	slices.Sort(keys)
	out := make([]Entitlement, len(keys))
	for i, k := range keys {
		out[i] = *byFeature[k]
	}
	return out
}

// BillingPeriod returns the customer's billing period containing at (now
// if zero) and its interval: the shortest interval of the customer's
// subscriptions active at at, or else of any of its subscriptions, or one
// month.
func (s *Service) BillingPeriod(ctx context.Context, customerID string, at time.Time) (Period, Interval, error) {
	if err := checkAt("at", at); err != nil {
		return Period{}, Interval{}, err
	}
	if at.IsZero() {
		at = s.clock.Now()
	}
	c, err := s.store.GetCustomer(ctx, customerID)
	if err != nil {
		return Period{}, Interval{}, err
	}
	segs, err := s.store.SegmentsIn(ctx, customerID, "", forever)
	if err != nil {
		return Period{}, Interval{}, err
	}
	iv, err := s.customerInterval(ctx, segs, at)
	if err != nil {
		return Period{}, Interval{}, err
	}
	return PeriodAt(c.Anchor, iv, at), iv, nil
}

// customerInterval picks the billing interval of a customer with the given
// segments at at.
func (s *Service) customerInterval(ctx context.Context, segs []Segment, at time.Time) (Interval, error) {
	active := slices.DeleteFunc(slices.Clone(segs), func(sg Segment) bool { return !sg.Contains(at) })
	if len(active) > 0 {
		segs = active
	}
	terms, err := s.withTerms(ctx, segs)
	if err != nil {
		return Interval{}, err
	}
	if len(terms) == 0 {
		return monthly, nil
	}
	best := terms[0].Plan.Interval
	for _, t := range terms[1:] {
		if days(t.Plan.Interval).LessThan(days(best)) {
			best = t.Plan.Interval
		}
	}
	return best, nil
}

// DuePeriods lists, per customer with subscriptions, the billing periods
// that ended in (endedAfter, asOf] and overlap one of its segments, by
// customer id and then period. A zero endedAfter means only the latest
// period that ended by asOf; a zero asOf means now. A page holds up to its
// size of periods, and may end inside one customer's periods.
func (s *Service) DuePeriods(ctx context.Context, asOf, endedAfter time.Time, pr page.Request) (page.Page[DuePeriod], error) {
	var v errs.Violations
	pr.Check(&v)
	if !asOf.IsZero() {
		checkTime(&v, "as_of", asOf)
	}
	if !endedAfter.IsZero() {
		checkTime(&v, "ended_after", endedAfter)
	}
	if !endedAfter.IsZero() && !asOf.IsZero() && !endedAfter.Before(asOf) {
		v.Add("ended_after", "must be before as_of")
	}
	after, limit := pr.Cursor()
	resumeID, resumeEnd, ok := parseDueToken(after)
	if !ok {
		v.Add("page_token", "is not a token returned by this list")
	}
	if err := v.Err(); err != nil {
		return page.Page[DuePeriod]{}, err
	}
	if asOf.IsZero() {
		asOf = s.clock.Now()
	}
	var out []DuePeriod
	// due appends the customer's due periods ending after notBefore, and
	// reports whether the page is full (one more than limit).
	due := func(c Customer, segs []Segment, notBefore time.Time) (bool, error) {
		iv, err := s.customerInterval(ctx, segs, asOf.Add(-time.Nanosecond))
		if err != nil {
			return false, err
		}
		from := endedAfter
		if from.IsZero() {
			cur := PeriodAt(c.Anchor, iv, asOf)
			from = PeriodAt(c.Anchor, iv, cur.Start.Add(-time.Nanosecond)).Start
		}
		if notBefore.After(from) {
			from = notBefore
		}
		// No period before the customer's first segment is due.
		first := slices.MinFunc(segs, func(a, b Segment) int { return a.Start.Compare(b.Start) }).Start
		if first.After(from) {
			from = PeriodAt(c.Anchor, iv, first).Start
		}
		for _, p := range PeriodsEnding(c.Anchor, iv, from, asOf) {
			if slices.ContainsFunc(segs, func(sg Segment) bool { return sg.Overlaps(p) }) {
				out = append(out, DuePeriod{CustomerID: c.ID, Currency: c.Currency, Period: p})
				if len(out) > limit {
					return true, nil
				}
			}
		}
		return false, nil
	}
	full := false
	if resumeID != "" {
		c, err := s.store.GetCustomer(ctx, resumeID)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return page.Page[DuePeriod]{}, err
		}
		if err == nil {
			segs, err := s.store.SegmentsIn(ctx, c.ID, "", forever)
			if err != nil {
				return page.Page[DuePeriod]{}, err
			}
			if len(segs) > 0 {
				if full, err = due(c, segs, resumeEnd); err != nil {
					return page.Page[DuePeriod]{}, err
				}
			}
		}
	}
	for cursor := resumeID; !full; {
		customers, segsOf, err := s.store.CustomersWithSegments(ctx, cursor, limit+1)
		if err != nil {
			return page.Page[DuePeriod]{}, err
		}
		for _, c := range customers {
			if full, err = due(c, segsOf[c.ID], time.Time{}); err != nil {
				return page.Page[DuePeriod]{}, err
			}
			if full {
				break
			}
		}
		if len(customers) <= limit {
			break
		}
		cursor = customers[len(customers)-1].ID
	}
	return page.New(out, limit, dueToken), nil
}

// dueToken is the page key of a due period: its customer and its end.
func dueToken(d DuePeriod) string {
	return d.CustomerID + " " + strconv.FormatInt(d.Period.End.Unix(), 10)
}

// parseDueToken reads a key dueToken made; the empty key starts the list.
func parseDueToken(key string) (customerID string, end time.Time, ok bool) {
	if key == "" {
		return "", time.Time{}, true
	}
	id, sec, found := strings.Cut(key, " ")
	n, err := strconv.ParseInt(sec, 10, 64)
	if !found || id == "" || err != nil || n < MinTime.Unix() || n > MaxTime.AddDate(MaxIntervalYears+1, 0, 0).Unix() {
		return "", time.Time{}, false
	}
	return id, time.Unix(n, 0).UTC(), true
}
