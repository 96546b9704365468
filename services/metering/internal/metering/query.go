package metering

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
)

// quotientPlaces is how many decimal places a time-weighted quantity keeps:
// the integral divided by the period's length rarely terminates.
const quotientPlaces = 18

// Query returns usage from the rollups and gauge points, never from raw
// events. Periods are whole hours.
func (s *Service) Query(ctx context.Context, in QueryInput) (Usage, error) {
	if err := in.Validate(); err != nil {
		return Usage{}, err
	}
	if in.Window == 0 {
		in.Window = WindowNone
	}
	p := Period{Start: in.Period.Start.UTC(), End: in.Period.End.UTC()}
	known, err := s.customers.Known(ctx, []string{in.CustomerID})
	if err != nil {
		return Usage{}, err
	}
	if !known[in.CustomerID] {
		return Usage{}, errs.New(errs.NotFound, "customer %q not found", in.CustomerID)
	}
	var m Meter
	if in.Meter != "" {
		m, err = s.meter(ctx, in.Meter)
	} else {
		m, err = s.store.MeterOf(ctx, in.Feature)
	}
	if err != nil {
		return Usage{}, err
	}
	if m.Aggregation.Gauge() {
		points, err := s.store.GaugePoints(ctx, in.CustomerID, m.Key, p)
		if err != nil {
			return Usage{}, err
		}
		return timeWeighted(m, points, p, s.clock.Now(), in.Window, in.GroupBySubject), nil
	}
	if err := s.settle(ctx); err != nil {
		return Usage{}, err
	}
	perSubject := in.GroupBySubject || m.Aggregation == UniqueCount
	rows, err := s.store.Rollups(ctx, in.CustomerID, m.Key, p,
		RollupQuery{PerSubject: perSubject, Window: in.Window, Latest: m.Aggregation == Latest})
	if err != nil {
		return Usage{}, err
	}
	return aggregate(m, rows, p, in.Window, in.GroupBySubject), nil
}

// windowOf returns the window of kind w that holds t, cut to p.
func windowOf(w Window, t time.Time, p Period) Period {
	var start, end time.Time
	switch w {
	case WindowHour:
		start = t.Truncate(time.Hour)
		end = start.Add(time.Hour)
	case WindowDay:
		start = t.Truncate(24 * time.Hour)
		end = start.Add(24 * time.Hour)
	case WindowMonth:
		start = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 1, 0)
	default:
		return p
	}
	return Period{Start: later(start, p.Start), End: earlier(end, p.End)}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// cell is the usage of one window and subject as rollups are combined.
type cell struct {
	window   Period
	subject  string
	r        Rollup
	subjects map[string]bool
}

// aggregate combines hourly rollups into the total and the values per
// window (and subject).
func aggregate(m Meter, rows []Rollup, p Period, w Window, bySubject bool) Usage {
	total := &cell{window: p, subjects: map[string]bool{}}
	cells := map[[2]string]*cell{}
	var order []*cell
	for _, r := range rows {
		merge(total, r)
		if w == WindowNone && !bySubject {
			continue
		}
		win := windowOf(w, r.Hour, p)
		subject := ""
		if bySubject {
			subject = r.Subject
		}
		k := [2]string{win.Start.Format(time.RFC3339), subject}
		c := cells[k]
		if c == nil {
			c = &cell{window: win, subject: subject, subjects: map[string]bool{}}
			cells[k] = c
			order = append(order, c)
		}
		merge(c, r)
	}
	slices.SortFunc(order, func(a, b *cell) int {
		if c := a.window.Start.Compare(b.window.Start); c != 0 {
			return c
		}
		return strings.Compare(a.subject, b.subject)
	})
	u := Usage{Meter: m, Total: total.value(m.Aggregation)}
	for _, c := range order {
		u.Values = append(u.Values, UsageValue{Window: c.window, Subject: c.subject, Quantity: c.value(m.Aggregation)})
	}
	return u
}

func merge(c *cell, r Rollup) {
	if c.r.Count == 0 || r.Max.GreaterThan(c.r.Max) {
		c.r.Max = r.Max
	}
	if c.r.Count == 0 || !r.LatestTime.Before(c.r.LatestTime) {
		c.r.LatestTime, c.r.Latest = r.LatestTime, r.Latest
	}
	c.r.Total = c.r.Total.Add(r.Total)
	c.r.Count += r.Count
	if r.Count > 0 {
		c.subjects[r.Subject] = true
	}
}

func (c *cell) value(a Aggregation) money.Decimal {
	switch a {
	case Sum:
		return c.r.Total
	case Count:
		return decimal.NewFromInt(c.r.Count)
	case Max:
		return c.r.Max
	case Latest:
		return c.r.Latest
	case UniqueCount:
		return decimal.NewFromInt(int64(len(c.subjects)))
	}
	return decimal.Zero
}

// timeWeighted integrates each subject's level over the period and its
// windows, in unit-periods of the whole period: level × seconds ÷ the
// period's seconds. points hold, per subject by time, the last point before
// the period and the points in it. Levels count up to now, not beyond: a
// running period shows the usage so far.
func timeWeighted(m Meter, points []GaugePoint, p Period, now time.Time, w Window, bySubject bool) Usage {
	until := earlier(p.End, now)
	periodSeconds := decimal.NewFromInt(int64(p.End.Sub(p.Start) / time.Second))
	type key struct {
		window  time.Time
		subject string
	}
	integrals := map[key]money.Decimal{}
	windows := map[time.Time]Period{}
	total := decimal.Zero
	for i, pt := range points {
		from := later(pt.Time, p.Start)
		to := until
		if i+1 < len(points) && points[i+1].Subject == pt.Subject {
			to = earlier(points[i+1].Time, until)
		}
		// Split [from, to) at window boundaries.
		for from.Before(to) {
			win := windowOf(w, from, p)
			if w == WindowNone {
				win = p
			}
			end := earlier(win.End, to)
			area := pt.Level.Mul(decimal.NewFromInt(int64(end.Sub(from) / time.Second)))
			total = total.Add(area)
			if w != WindowNone || bySubject {
				subject := ""
				if bySubject {
					subject = pt.Subject
				}
				k := key{win.Start, subject}
				integrals[k] = integrals[k].Add(area)
				windows[win.Start] = win
			}
			from = end
		}
	}
	u := Usage{Meter: m, Total: total.DivRound(periodSeconds, quotientPlaces)}
	keys := make([]key, 0, len(integrals))
	for k := range integrals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := a.window.Compare(b.window); c != 0 {
			return c
		}
		return strings.Compare(a.subject, b.subject)
	})
	for _, k := range keys {
		if integrals[k].IsZero() {
			continue
		}
		u.Values = append(u.Values, UsageValue{Window: windows[k.window], Subject: k.subject,
			Quantity: integrals[k].DivRound(periodSeconds, quotientPlaces)})
	}
	return u
}
