package metering

import (
	"context"
	"fmt"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
)

// MaxUsageQueries bounds the queries of one BatchQuery call.
const MaxUsageQueries = 500

// maxCustomerIDLength bounds a customer id in a query: the subscription
// service's bound on ids.
const maxCustomerIDLength = 255

// UsageQuery asks for one customer's usage in a period of whole hours.
type UsageQuery struct {
	CustomerID string
	Period     Period
}

// UsageQueries is the input of BatchQuery.
type UsageQueries []UsageQuery

// Validate checks the number of queries and each one's customer and
// period, naming the fields as queries[i].….
func (qs UsageQueries) Validate() error {
	var v errs.Violations
	if len(qs) == 0 || len(qs) > MaxUsageQueries {
		v.Add("queries", "must hold 1 to %d queries", MaxUsageQueries)
	}
	for i, q := range qs {
		if i >= MaxUsageQueries {
			break
		}
		field := fmt.Sprintf("queries[%d]", i)
		if q.CustomerID == "" {
			v.Add(field+".customer_id", "is required")
		} else if len(q.CustomerID) > maxCustomerIDLength {
			v.Add(field+".customer_id", "must be at most %d bytes", maxCustomerIDLength)
		}
		p := Period{Start: q.Period.Start.UTC(), End: q.Period.End.UTC()}
		switch {
		case p.Start.IsZero() || p.End.IsZero() || !p.Start.Before(p.End):
			v.Add(field+".period", "must have a start before its end")
		case p.End.Sub(p.Start) > 10*366*24*time.Hour:
			v.Add(field+".period", "must be at most 10 years long")
		case !p.Start.Equal(p.Start.Truncate(time.Hour)) || !p.End.Equal(p.End.Truncate(time.Hour)):
			v.Add(field+".period", "must start and end on whole hours (UTC)")
		}
	}
	return v.Err()
}

// QueryRollup is a rollup of a meter for the query at index Query.
type QueryRollup struct {
	Query  int
	Meter  string
	Rollup Rollup
}

// QueryPoint is a gauge point of a meter for the query at index Query.
type QueryPoint struct {
	Query int
	Meter string
	Point GaugePoint
}

// CustomerUsage is a customer's usage in a period, one Usage per meter with
// usage, by meter key; a Usage holds only its Total.
type CustomerUsage struct {
	CustomerID string
	Period     Period
	Usage      []Usage
}

// BatchQuery returns the usage of many customers in their periods with two
// statements, whatever the number of customers and meters: every counter
// meter with rollups in the period (its Total as Query computes it) and
// every gauge meter whose level is above 0 somewhere in the period (in
// unit-periods). An unknown customer has no usage. Like Query, it first
// folds what is pending.
func (s *Service) BatchQuery(ctx context.Context, qs UsageQueries) ([]CustomerUsage, error) {
	if err := qs.Validate(); err != nil {
		return nil, err
	}
	if err := s.settle(ctx); err != nil {
		return nil, err
	}
	rollups, err := s.store.BatchRollups(ctx, qs)
	if err != nil {
		return nil, err
	}
	points, err := s.store.BatchGaugePoints(ctx, qs)
	if err != nil {
		return nil, err
	}
	meters, err := s.allMeters(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CustomerUsage, len(qs))
	for i, q := range qs {
		out[i] = CustomerUsage{CustomerID: q.CustomerID, Period: Period{Start: q.Period.Start.UTC(), End: q.Period.End.UTC()}}
	}
	// Rows come by query and meter: each run of one query and meter is one
	// usage.
	for i := 0; i < len(rollups); {
		j := i
		var rows []Rollup
		for ; j < len(rollups) && rollups[j].Query == rollups[i].Query && rollups[j].Meter == rollups[i].Meter; j++ {
			rows = append(rows, rollups[j].Rollup)
		}
		if m, ok := meters[rollups[i].Meter]; ok && !m.Aggregation.Gauge() {
			u := &out[rollups[i].Query]
			u.Usage = append(u.Usage, aggregate(m, rows, u.Period, WindowNone, false))
		}
		i = j
	}
	now := s.clock.Now()
	gauges := make([][]Usage, len(qs))
	for i := 0; i < len(points); {
		j := i
		var pts []GaugePoint
		for ; j < len(points) && points[j].Query == points[i].Query && points[j].Meter == points[i].Meter; j++ {
			pts = append(pts, points[j].Point)
		}
		if m, ok := meters[points[i].Meter]; ok && m.Aggregation.Gauge() {
			q := points[i].Query
			if u := timeWeighted(m, pts, out[q].Period, now, WindowNone, false); !u.Total.IsZero() {
				gauges[q] = append(gauges[q], u)
			}
		}
		i = j
	}
	for i := range out {
		out[i].Usage = mergeByMeter(out[i].Usage, gauges[i])
	}
	return out, nil
}

// mergeByMeter merges two lists of usage sorted by meter key.
func mergeByMeter(a, b []Usage) []Usage {
	if len(b) == 0 {
		return a
	}
	out := make([]Usage, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Meter.Key < b[0].Meter.Key {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// allMeters returns every meter by key. Meters are few (one per feature).
func (s *Service) allMeters(ctx context.Context) (map[string]Meter, error) {
	out := map[string]Meter{}
	for after := ""; ; {
		ms, err := s.store.ListMeters(ctx, after, 1000)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			out[m.Key] = m
		}
		if len(ms) < 1000 {
			return out, nil
		}
		after = ms[len(ms)-1].Key
	}
}
