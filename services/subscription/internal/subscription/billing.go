package subscription

import (
	"context"
	"fmt"
	"slices"

	"github.com/meterplane/meterplane/platform/errs"
)

// MaxBillingQueries bounds the queries of one BillingData call.
const MaxBillingQueries = 500

// BillingQuery asks for one customer and, when Period is set (not zero), the
// subscriptions it had in that period.
type BillingQuery struct {
	CustomerID string
	Period     Period
}

// BillingQueries is the input of BillingData.
type BillingQueries []BillingQuery

// Validate checks the number of queries, each customer id and each period
// that is set, naming the fields as queries[i].….
func (qs BillingQueries) Validate() error {
	var v errs.Violations
	if len(qs) == 0 || len(qs) > MaxBillingQueries {
		v.Add("queries", "must hold 1 to %d queries", MaxBillingQueries)
	}
	for i, q := range qs {
		if i >= MaxBillingQueries {
			break
		}
		field := fmt.Sprintf("queries[%d]", i)
		if q.CustomerID == "" {
			v.Add(field+".customer_id", "is required")
		}
		checkID(&v, field+".customer_id", q.CustomerID)
		if q.Period == (Period{}) {
			continue
		}
		if q.Period.Start.IsZero() || q.Period.End.IsZero() || !q.Period.Start.Before(q.Period.End) {
			v.Add(field+".period", "must have a start before its end")
			continue
		}
		checkTime(&v, field+".period.start", q.Period.Start)
		checkTime(&v, field+".period.end", q.Period.End)
	}
	return v.Err()
}

// BillingData is one customer and, for a period, every current segment of
// each of its subscriptions that overlaps the period.
type BillingData struct {
	Customer Customer
	Period   Period
	// Next is the customer's billing period containing Period.End: the
	// period after a billing period.
	Next Period
	// Segments by subscription id, then start: all of each such
	// subscription's current segments, so that a biller sees where it
	// started paying and where it ends.
	Segments []SegmentTerms
}

// BillingData answers many customers in a fixed number of queries: one for
// the customers, one for their segments, and the plan versions' copies
// (cached). Next is computed as BillingPeriod does. An unknown customer is an errs.NotFound error.
func (s *Service) BillingData(ctx context.Context, qs BillingQueries) ([]BillingData, error) {
	if err := qs.Validate(); err != nil {
		return nil, err
	}
	var ids, withPeriod []string
	for _, q := range qs {
		ids = append(ids, q.CustomerID)
		if q.Period != (Period{}) {
			withPeriod = append(withPeriod, q.CustomerID)
		}
	}
	customers, err := s.store.GetCustomers(ctx, distinct(ids))
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Customer, len(customers))
	for _, c := range customers {
		byID[c.ID] = c
	}
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			return nil, errs.New(errs.NotFound, "customer %q not found", shortID(id))
		}
	}
	segsOf := map[string][]Segment{}
	if len(withPeriod) > 0 {
		if segsOf, err = s.store.SegmentsOf(ctx, distinct(withPeriod)); err != nil {
			return nil, err
		}
	}
	var all []Segment
	for _, segs := range segsOf {
		all = append(all, segs...)
	}
	terms, err := s.withTerms(ctx, all)
	if err != nil {
		return nil, err
	}
	termsOf := make(map[string]SegmentTerms, len(terms))
	for _, t := range terms {
		termsOf[t.ID] = t
	}
	out := make([]BillingData, len(qs))
	for i, q := range qs {
		out[i] = BillingData{Customer: byID[q.CustomerID], Period: q.Period}
		if q.Period == (Period{}) {
			continue
		}
		segs := segsOf[q.CustomerID]
		iv, err := s.customerInterval(ctx, segs, q.Period.End)
		if err != nil {
			return nil, err
		}
		out[i].Next = PeriodAt(out[i].Customer.Anchor, iv, q.Period.End)
		for _, sg := range segs {
			if subscriptionOverlaps(segs, sg.SubscriptionID, q.Period) {
				out[i].Segments = append(out[i].Segments, termsOf[sg.ID])
			}
		}
	}
	return out, nil
}

// subscriptionOverlaps reports whether one of the segments of subscription
// id overlaps p.
func subscriptionOverlaps(segs []Segment, id string, p Period) bool {
	return slices.ContainsFunc(segs, func(sg Segment) bool { return sg.SubscriptionID == id && sg.Overlaps(p) })
}

// distinct returns the strings of ss once each, in their first order.
func distinct(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
