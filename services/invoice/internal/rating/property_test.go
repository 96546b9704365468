package rating

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/shopspring/decimal"
)

// history is a random customer: subscriptions whose every segment has
// ended, so that billing every month up to the last end bills everything.
type history struct {
	subs     []Subscription
	from, to time.Time // the first start and the last end
	usage    []Usage
	prorated bool // every fee is prorated: the exact cost is known
}

func randomHistory(r *rand.Rand, prorated bool) history {
	h := history{prorated: prorated, from: far}
	intervals := []Interval{monthly, {Quarter, 1}, yearly, {Month, 2}, weekly, {Day, 10}}
	randomPlan := func(i int) *Plan {
		p := &Plan{Key: "p", Version: i, Interval: intervals[r.IntN(len(intervals))]}
		for range r.IntN(3) {
			p.Fees = append(p.Fees, RecurringFee{
				Description: "fee", Amount: decimal.New(r.Int64N(100_000), -int32(r.IntN(5))),
				Timing: Timing(1 + r.IntN(2)), Prorated: prorated || r.IntN(2) == 0,
			})
		}
		if r.IntN(3) == 0 {
			p.OneTimeFees = []OneTimeFee{{Description: "setup", Amount: decimal.New(r.Int64N(10_000), -2)}}
		}
		e := Entitlement{Feature: "f", Included: decimal.New(r.Int64N(1000), -int32(r.IntN(3)))}
		if r.IntN(2) == 0 {
			e.HasOverage, e.Overage = true, decimal.New(r.Int64N(1000), -3)
		}
		p.Entitlements = []Entitlement{e}
		switch r.IntN(5) {
		case 1:
			p.UsageCharges = []UsageCharge{perUnit("g", "0.013")}
		case 2:
			p.UsageCharges = []UsageCharge{tiers(Graduated)}
		case 3:
			p.UsageCharges = []UsageCharge{tiers(Volume)}
		case 4:
			p.UsageCharges = []UsageCharge{packages()}
		}
		return p
	}
	for i := range 1 + r.IntN(3) {
		start := day("2026-01-01").Add(time.Duration(r.Int64N(90*24*3600)) * time.Second)
		t := start
		var segs []Segment
		for j := range 1 + r.IntN(4) {
			end := t.Add(time.Duration(1+r.Int64N(200*24*3600)) * time.Second)
			if r.IntN(3) == 0 {
				end = end.Truncate(24 * time.Hour).Add(24 * time.Hour) // at midnight, often a period's end
			}
			segs = append(segs, Segment{
				Plan: randomPlan(i*10 + j), Quantity: int64(r.IntN(5)),
				Trial: j == 0 && r.IntN(4) == 0, From: t, To: end,
			})
			t = end
		}
		h.subs = append(h.subs, Subscription{ID: string(rune('a' + i)), BillSeparately: r.IntN(4) == 0, Segments: segs})
		h.from, h.to = minTime(h.from, start), maxTime(h.to, t)
	}
	h.usage = []Usage{
		{Feature: "f", Quantity: decimal.New(r.Int64N(100_000), -int32(r.IntN(4)))},
		{Feature: "api_calls", Quantity: decimal.New(r.Int64N(3000), 0)},
		{Feature: "g", Gauge: true, Quantity: decimal.New(r.Int64N(1000), -2)},
	}
	return h
}

// exactFees is what the prorated fees of h cost, unrounded: each paid
// segment pays A × q for the share of each interval period it covers.
func exactFees(h history) Decimal {
	sched := calendar()
	sum := money.Zero
	for _, s := range h.subs {
		for _, seg := range s.Segments {
			if seg.Trial {
				continue
			}
			for _, f := range seg.Plan.Fees {
				for t := seg.From; t.Before(seg.To); {
					p := sched(seg.Plan.Interval, t)
					covered := minTime(p.To, seg.To).Unix() - t.Unix()
					sum = sum.Add(f.Amount.Mul(decimal.NewFromInt(seg.Quantity*covered)).
						DivRound(decimal.NewFromInt(p.seconds()), 30))
					t = p.To
				}
			}
		}
	}
	return sum
}

// billAll bills every month of h from the first start to the one holding
// the last end (where its last credits fall), carrying the credit balance,
// and checks what holds for every invoice.
func billAll(t *testing.T, h history, c money.Currency) (fees Decimal, lines int) {
	t.Helper()
	fees = money.Zero
	balance := money.Zero
	first := time.Date(h.from.Year(), h.from.Month(), 1, 0, 0, 0, 0, time.UTC)
	for m := first; !m.After(h.to); m = m.AddDate(0, 1, 0) {
		in := Input{
			Currency: c, Schedule: calendar(), Subscriptions: h.subs, Usage: h.usage, CreditBalance: balance,
			Period: Period{m, m.AddDate(0, 1, 0)}, Next: Period{m.AddDate(0, 1, 0), m.AddDate(0, 2, 0)},
		}
		res, err := Rate(in)
		if err != nil {
			t.Fatalf("Rate(%s): %v", in.Period, err)
		}
		for _, inv := range res.Invoices {
			sum := money.Zero
			for _, l := range inv.Lines {
				sum = sum.Add(l.Amount)
				if !l.Amount.Equal(c.Round(l.Amount)) {
					t.Fatalf("%s: amount %s is not at the scale of %s", l.Description, l.Amount, c.Code)
				}
				switch l.Kind {
				case KindRecurringFee, KindProrationCharge, KindOneTimeFee, KindUsage, KindOverage:
					if l.Amount.IsNegative() {
						t.Fatalf("%s: a %s of %s", l.Description, l.Kind, l.Amount)
					}
				case KindProrationCredit:
					if l.Amount.IsPositive() {
						t.Fatalf("%s: a credit of %s", l.Description, l.Amount)
					}
				}
				switch l.Kind {
				case KindRecurringFee, KindProrationCharge, KindProrationCredit:
					fees = fees.Add(l.Amount)
					lines++
				}
			}
			if !sum.Equal(inv.Total) {
				t.Fatalf("%s: total %s, lines sum to %s", in.Period, inv.Total, sum)
			}
			if inv.Total.IsNegative() {
				t.Fatalf("%s: negative total %s", in.Period, inv.Total)
			}
		}
		if res.CreditBalance.IsNegative() {
			t.Fatalf("%s: negative credit balance %s", in.Period, res.CreditBalance)
		}
		balance = res.CreditBalance
	}
	return fees, lines
}

// TestFeesTelescope bills random histories of prorated fees month by month:
// whatever the changes, the fee lines add up to the exact cost of the time
// each segment covered, give or take half a cent per line.
func TestFeesTelescope(t *testing.T) {
	t.Parallel()
	usd := cur("USD")
	for seed := range uint64(300) {
		h := randomHistory(rand.New(rand.NewPCG(seed, 1)), true)
		got, lines := billAll(t, h, usd)
		want := exactFees(h)
		slack := decimal.New(5, -3).Mul(decimal.NewFromInt(int64(lines)))
		if got.Sub(want).Abs().GreaterThan(slack) {
			t.Fatalf("seed %d: fees billed %s, exact cost %s, more than %s apart", seed, got, want, slack)
		}
	}
}

// FuzzRate rates random histories, prorated or not, in currencies of 0 to 3
// minor digits: it never panics or fails, every amount is at the currency's
// scale, totals are the sums of their lines and never negative.
func FuzzRate(f *testing.F) {
	for seed := range uint64(20) {
		f.Add(seed, seed%2 == 0, "USD")
	}
	f.Add(uint64(7), false, "JPY")
	f.Add(uint64(8), true, "KWD")
	f.Fuzz(func(t *testing.T, seed uint64, prorated bool, code string) {
		c, ok := money.LookupCurrency(code)
		if !ok {
			c = cur("EUR")
		}
		billAll(t, randomHistory(rand.New(rand.NewPCG(seed, 2)), prorated), c)
	})
}
