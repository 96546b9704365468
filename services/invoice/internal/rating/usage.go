package rating

import (
	"fmt"
	"strings"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/shopspring/decimal"
)

// quantityPlaces is the precision of the quantities a line shows: that of
// metering's unit-periods. Amounts never use these rounded quantities.
const quantityPlaces = 18

// offer is one segment's price for a feature's billable quantity: its
// entitlement's overage price, or its usage charge.
type offer struct {
	sub    *Subscription
	seg    Segment
	charge *UsageCharge // nil for an overage price
	o      Decimal
}

// feature gathers, over the segments overlapping N, a feature's included
// quantity and the offers that price it.
type feature struct {
	qt     Decimal // Q × T: the included quantity times the period's seconds
	offers []offer
}

// usage returns one line per feature that was used and that a plan prices.
//
// Quantities are kept multiplied by T, the period's seconds: Q prorated by
// time is Σ Q × q × seconds / T, so B × T = U × T − Σ Q × q × seconds is
// exact, and every price divides by T once, when the line is rounded.
func (r *rater) usage() ([]Line, error) {
	features := map[string]*feature{}
	get := func(key string) *feature {
		f := features[key]
		if f == nil {
			f = &feature{qt: money.Zero}
			features[key] = f
		}
		return f
	}
	for i := range r.in.Subscriptions {
		s := &r.in.Subscriptions[i]
		for _, seg := range s.Segments {
			from := maxTime(seg.From, r.in.Period.From)
			to := minTime(seg.end(far), r.in.Period.To)
			if !from.Before(to) {
				continue
			}
			covered := decimalSeconds(to.Unix() - from.Unix())
			q := decimal.NewFromInt(seg.Quantity)
			for _, e := range seg.Plan.Entitlements {
				f := get(e.Feature)
				f.qt = f.qt.Add(e.Included.Mul(q).Mul(covered))
				if e.HasOverage {
					f.offers = append(f.offers, offer{sub: s, seg: seg, o: e.Overage})
				}
			}
			for j := range seg.Plan.UsageCharges {
				c := &seg.Plan.UsageCharges[j]
				f := get(c.Feature)
				f.offers = append(f.offers, offer{sub: s, seg: seg, charge: c})
			}
		}
	}
	seen := map[string]bool{}
	var lines []Line
	for _, u := range r.in.Usage {
		if seen[u.Feature] {
			return nil, fmt.Errorf("rating: usage of %s given twice", u.Feature)
		}
		seen[u.Feature] = true
		if u.Quantity.IsNegative() {
			return nil, fmt.Errorf("rating: negative usage of %s", u.Feature)
		}
		f := features[u.Feature]
		if f == nil || len(f.offers) == 0 || u.Quantity.IsZero() {
			continue // nothing used, or nothing sold: nothing billed
		}
		bt := decimal.Max(money.Zero, u.Quantity.Mul(r.T).Sub(f.qt))
		best, bestNum := -1, money.Zero
		for i, o := range f.offers {
			num := r.price(o, bt)
			if best < 0 || num.LessThan(bestNum) {
				best, bestNum = i, num
			}
		}
		lines = append(lines, r.usageLine(u, f, f.offers[best], bt, bestNum))
	}
	return lines, nil
}

// price returns the amount of offer o for the billable quantity bt / T,
// multiplied by T.
func (r *rater) price(o offer, bt Decimal) Decimal {
	c := o.charge
	if c == nil {
		return bt.Mul(o.o)
	}
	if bt.IsZero() {
		return money.Zero
	}
	switch c.Model {
	case PerUnit:
		return bt.Mul(c.UnitPrice)
	case Graduated:
		num, lo := money.Zero, money.Zero
		for i, t := range c.Tiers {
			last := i == len(c.Tiers)-1
			hi := t.UpTo.Mul(r.T)
			if !bt.GreaterThan(lo) {
				break
			}
			units := bt.Sub(lo)
			if !last {
				units = decimal.Min(bt, hi).Sub(lo)
			}
			num = num.Add(units.Mul(t.UnitPrice)).Add(t.FlatPrice.Mul(r.T))
			lo = hi
		}
		return num
	case Volume:
		t := c.Tiers[len(c.Tiers)-1]
		for _, cand := range c.Tiers[:len(c.Tiers)-1] {
			if !bt.GreaterThan(cand.UpTo.Mul(r.T)) {
				t = cand
				break
			}
		}
		return bt.Mul(t.UnitPrice).Add(t.FlatPrice.Mul(r.T))
	case Package:
		return decimal.NewFromInt(r.billedPackages(c, bt)).Mul(c.PackagePrice).Mul(r.T)
	}
	return money.Zero // validate refuses other models
}

// billedPackages is ⌈B / size⌉ minus the free packages, at least 0.
func (r *rater) billedPackages(c *UsageCharge, bt Decimal) int64 {
	q, rem := bt.QuoRem(c.PackageSize.Mul(r.T), 0)
	n := q.IntPart()
	if !rem.IsZero() {
		n++
	}
	return max(0, n-c.FreePackages)
}

func (r *rater) usageLine(u Usage, f *feature, o offer, bt, num Decimal) Line {
	b := bt.DivRound(r.T, quantityPlaces)
	unit := u.Unit
	if u.Gauge {
		unit += "-periods"
	}
	desc := fmt.Sprintf("%s: %s %s used, %s included, %s billed", u.Feature,
		show(u.Quantity), unit, show(f.qt.DivRound(r.T, quantityPlaces)), show(b))
	kind, price := KindUsage, money.Zero
	switch {
	case o.charge == nil:
		kind, price = KindOverage, o.o
		desc += " at " + money.FormatPrice(o.o, r.in.Currency.Code) + " each"
	case o.charge.Model == PerUnit:
		price = o.charge.UnitPrice
		desc += " at " + money.FormatPrice(price, r.in.Currency.Code) + " each"
	case o.charge.Model == Graduated:
		desc += ", graduated tiers"
	case o.charge.Model == Volume:
		desc += ", volume tiers"
	case o.charge.Model == Package:
		desc += fmt.Sprintf(", %d packages of %s at %s (%d free)", r.billedPackages(o.charge, bt),
			show(o.charge.PackageSize), money.FormatPrice(o.charge.PackagePrice, r.in.Currency.Code), o.charge.FreePackages)
	}
	if o.charge != nil && o.charge.Description != "" {
		desc = o.charge.Description + " – " + desc
	}
	l := r.line(o.sub, o.seg, kind, strings.ReplaceAll(desc, "  ", " "), b, price, r.round(num, r.T), r.in.Period)
	l.Feature = u.Feature
	if p := o.seg.Plan; u.Gauge && p.StorageERPProductID != "" {
		l.ERPProductID, l.ERPUnitID = p.StorageERPProductID, p.StorageERPUnitID
	}
	return l
}

// show writes a quantity for a description, to at most 6 decimal places.
func show(d Decimal) string { return d.Round(6).String() }
