package rating

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/money"
)

func dec(s string) Decimal { return money.MustParse(s) }

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func cur(code string) money.Currency {
	c, ok := money.LookupCurrency(code)
	if !ok {
		panic(code)
	}
	return c
}

var (
	monthly = Interval{Month, 1}
	weekly  = Interval{Week, 1}
	yearly  = Interval{Year, 1}
)

// month is the calendar month starting on first and the one after it.
func month(first string) (Period, Period) {
	f := day(first)
	return Period{f, f.AddDate(0, 1, 0)}, Period{f.AddDate(0, 1, 0), f.AddDate(0, 2, 0)}
}

// fee is a recurring fee of amount.
func fee(desc, amount string, timing Timing, prorated bool) RecurringFee {
	return RecurringFee{Description: desc, Amount: dec(amount), Timing: timing, Prorated: prorated}
}

// plan is a monthly plan with the given fees, entitlements and charges.
func plan(key string, fees []RecurringFee, ents []Entitlement, charges ...UsageCharge) *Plan {
	return &Plan{Key: key, Version: 1, Interval: monthly, Fees: fees, Entitlements: ents, UsageCharges: charges}
}

func fees(f ...RecurringFee) []RecurringFee { return f }

// ent is an entitlement of q included, with overage price o ("" for none).
func ent(feature, q, o string) []Entitlement {
	e := Entitlement{Feature: feature, Included: dec(q)}
	if o != "" {
		e.HasOverage, e.Overage = true, dec(o)
	}
	return []Entitlement{e}
}

func perUnit(feature, price string) UsageCharge {
	return UsageCharge{Feature: feature, Model: PerUnit, UnitPrice: dec(price)}
}

// tiers: up to 100 at 0.10; up to 1000 at 0.08 plus 1.00 once reached;
// above at 0.05.
func tiers(model Model) UsageCharge {
	return UsageCharge{Feature: "api_calls", Model: model, Tiers: []Tier{
		{UpTo: dec("100"), UnitPrice: dec("0.10")},
		{UpTo: dec("1000"), UnitPrice: dec("0.08"), FlatPrice: dec("1.00")},
		{UnitPrice: dec("0.05")},
	}}
}

// packages of 100 at 5.00, the first free.
func packages() UsageCharge {
	return UsageCharge{Feature: "api_calls", Model: Package, PackageSize: dec("100"), PackagePrice: dec("5.00"), FreePackages: 1}
}

// sub is a subscription with its segments.
func sub(id string, segs ...Segment) Subscription { return Subscription{ID: id, Segments: segs} }

// seg is a segment of p from from to to ("" for open), quantity 1.
func seg(p *Plan, from, to time.Time) Segment {
	return Segment{Plan: p, Quantity: 1, From: from, To: to}
}

var open time.Time

func counter(feature, u string) Usage {
	return Usage{Feature: feature, Unit: "call", Quantity: dec(u)}
}

func gauge(feature, u string) Usage {
	return Usage{Feature: feature, Unit: "site", Gauge: true, Quantity: dec(u)}
}

// april is a calendar customer's April 2026 (30 days) invoice.
func april(subs []Subscription, usage ...Usage) Input {
	n, next := month("2026-04-01")
	return Input{Currency: cur("USD"), Period: n, Next: next, Schedule: calendar(), Subscriptions: subs, Usage: usage}
}

func subs(s ...Subscription) []Subscription { return s }

// show writes a line in one row: kind, amount, period, subscription and plan.
func (l Line) row(c money.Currency) string {
	who := "-"
	if l.SubscriptionID != "" {
		who = fmt.Sprintf("%s %s/%d", l.SubscriptionID, l.PlanKey, l.PlanVersion)
	}
	return fmt.Sprintf("%s %s [%s] %s", l.Kind, c.FormatAmount(l.Amount), l.Period, who)
}

type example struct {
	name  string
	in    Input
	want  []string // the consolidated invoice's lines, as Line.row writes them
	total string
}

func check(t *testing.T, tc example) Result {
	t.Helper()
	res, err := Rate(tc.in)
	if err != nil {
		t.Fatalf("Rate: %v", err)
	}
	inv := res.Invoices[0]
	var got []string
	sum := money.Zero
	for _, l := range inv.Lines {
		got = append(got, l.row(tc.in.Currency))
		sum = sum.Add(l.Amount)
	}
	if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		for _, l := range inv.Lines {
			t.Logf("  %s", l.Description)
		}
	}
	if got := tc.in.Currency.FormatAmount(inv.Total); got != tc.total {
		t.Errorf("total = %s, want %s", got, tc.total)
	}
	if !sum.Equal(inv.Total) {
		t.Errorf("total %s is not the sum of the lines %s", inv.Total, sum)
	}
	return res
}

// Worked examples. Unless a row says otherwise: USD, a calendar customer,
// invoice period April 2026 [Apr 1, May 1) of 30 days, Next = May, quantity 1,
// subscriptions running since Jan 1 and still open.
func TestWorkedExamples(t *testing.T) {
	t.Parallel()
	jan1 := day("2026-01-01")

	// The Commerce metered-billing seed (seeds/001): $0.05 per API call,
	// $5/month, gauge at $5 or $0.02 per site-month.
	usage005 := plan("calls", nil, nil, perUnit("api_calls", "0.05"))
	prepaid := plan("calls-prepaid", fees(fee("Monthly", "5", InAdvance, false)), nil, perUnit("api_calls", "0.05"))
	free150Post := plan("free150", fees(fee("Monthly", "5", InArrears, false)), ent("api_calls", "150", "0.05"))
	free150Pre := plan("free150-prepaid", fees(fee("Monthly", "5", InAdvance, false)), ent("api_calls", "150", "0.05"))
	sites5 := plan("sites", nil, nil, perUnit("sites", "5"))
	sitesFree5 := plan("sites-free5", nil, ent("sites", "5", "0.02"))

	// Aegir: a 50-site package at 100/month with 1.50 per extra site-month,
	// and pure usage billing of disk at 2 per GiB-month.
	aegir50 := plan("aegir-50", fees(fee("50 sites package", "100", InAdvance, true)), ent("sites", "50", "1.50"))
	aegirUsage := plan("aegir-usage", nil, ent("disk_gib", "0", "2"))

	// Upgrades and downgrades: basic 30/month with 100 GiB and 0.10 above;
	// pro 60/month with 400 GiB and 0.05 above.
	basic := plan("basic", fees(fee("Basic", "30", InAdvance, true)), ent("bandwidth_gib", "100", "0.10"))
	pro := plan("pro", fees(fee("Pro", "60", InAdvance, true)), ent("bandwidth_gib", "400", "0.05"))
	basicArr := plan("basic-arrears", fees(fee("Basic", "30", InArrears, true)), nil)
	proArr := plan("pro-arrears", fees(fee("Pro", "60", InArrears, true)), nil)
	basicFlat := plan("basic-flat", fees(fee("Basic", "30", InAdvance, false)), nil)
	proFlat := plan("pro-flat", fees(fee("Pro", "60", InAdvance, false)), nil)
	seats := plan("seats", fees(fee("Seat", "10", InAdvance, true)), nil)

	graduated := plan("graduated", nil, nil, tiers(Graduated))
	volume := plan("volume", nil, nil, tiers(Volume))
	pkg := plan("package", nil, nil, packages())
	volume500 := plan("volume-500", nil, ent("api_calls", "500", ""), tiers(Volume))
	volume500.UsageCharges[0].Tiers[0].FlatPrice = dec("2.00")

	// Two subscriptions selling bandwidth: 100 included at 0.10, 50 at 0.08.
	bwA := plan("bw-a", nil, ent("bandwidth_gib", "100", "0.10"))
	bwB := plan("bw-b", nil, ent("bandwidth_gib", "50", "0.08"))

	// Trials and one-time fees: 30/month prorated, 50 setup.
	setup := plan("setup", fees(fee("Monthly", "30", InAdvance, true)), nil)
	setup.OneTimeFees = []OneTimeFee{{Description: "Setup", Amount: dec("50")}}

	// Rounding: fees of a quarter and three quarters of a cent-unit.
	tiny := plan("tiny", fees(fee("Tiny", "0.25", InAdvance, true)), nil)
	tiny3 := plan("tiny3", fees(fee("Tiny", "0.75", InAdvance, true)), nil)
	halfCent := plan("half-cent", nil, ent("api_calls", "0", "0.005"))

	// Intervals.
	monthly28 := plan("m28", fees(fee("Monthly", "28", InAdvance, true)), nil)
	monthly29 := plan("m29", fees(fee("Monthly", "29", InAdvance, true)), nil)
	monthly10 := plan("m10", fees(fee("Monthly", "10", InAdvance, true)), nil)
	week7 := &Plan{Key: "weekly", Version: 1, Interval: weekly, Fees: fees(fee("Weekly", "7", InAdvance, true))}
	year1200 := &Plan{Key: "yearly", Version: 1, Interval: yearly, Fees: fees(fee("Yearly", "1200", InAdvance, true))}
	year1200Arr := &Plan{Key: "yearly-arrears", Version: 1, Interval: yearly, Fees: fees(fee("Yearly", "1200", InArrears, true))}

	withCurrency := func(in Input, code string) Input { in.Currency = cur(code); return in }
	period := func(in Input, from, to, next string, s Schedule) Input {
		in.Period, in.Next, in.Schedule = Period{day(from), day(to)}, Period{day(to), day(next)}, s
		return in
	}
	credit := func(in Input, balance string) Input { in.CreditBalance = dec(balance); return in }

	for _, tc := range []example{
		// --- The Commerce seed ---
		{
			// 300 calls × 0.05 = 15.00; no fee.
			name:  "seed: counter, no free usage, postpaid",
			in:    april(subs(sub("s1", seg(usage005, jan1, open))), counter("api_calls", "300")),
			want:  []string{"usage 15.00 [2026-04-01 – 2026-05-01] s1 calls/1"},
			total: "15.00",
		},
		{
			// May's 5.00 in advance + 300 × 0.05 = 15.00 → 20.00.
			name: "seed: counter, no free usage, prepaid $5/month",
			in:   april(subs(sub("s1", seg(prepaid, jan1, open))), counter("api_calls", "300")),
			want: []string{
				"recurring_fee 5.00 [2026-05-01 – 2026-06-01] s1 calls-prepaid/1",
				"usage 15.00 [2026-04-01 – 2026-05-01] s1 calls-prepaid/1",
			},
			total: "20.00",
		},
		{
			// April's 5.00 in arrears + (300 − 150) × 0.05 = 7.50 → 12.50.
			name: "seed: counter, free usage 150, postpaid $5/month",
			in:   april(subs(sub("s1", seg(free150Post, jan1, open))), counter("api_calls", "300")),
			want: []string{
				"recurring_fee 5.00 [2026-04-01 – 2026-05-01] s1 free150/1",
				"overage 7.50 [2026-04-01 – 2026-05-01] s1 free150/1",
			},
			total: "12.50",
		},
		{
			// May's 5.00 in advance + (300 − 150) × 0.05 = 7.50 → 12.50.
			name: "seed: counter, free usage 150, prepaid $5/month",
			in:   april(subs(sub("s1", seg(free150Pre, jan1, open))), counter("api_calls", "300")),
			want: []string{
				"recurring_fee 5.00 [2026-05-01 – 2026-06-01] s1 free150-prepaid/1",
				"overage 7.50 [2026-04-01 – 2026-05-01] s1 free150-prepaid/1",
			},
			total: "12.50",
		},
		{
			// 4 sites all month = 4 site-months × 5 = 20.00.
			name:  "seed: gauge, 4 usages at $5 per usage-month",
			in:    april(subs(sub("s1", seg(sites5, jan1, open))), gauge("sites", "4")),
			want:  []string{"usage 20.00 [2026-04-01 – 2026-05-01] s1 sites/1"},
			total: "20.00",
		},
		{
			// 2 sites [Apr 1, Apr 16) and 4 sites [Apr 16, May 1): 15 days
			// each of 30, (2 × 15 + 4 × 15) / 30 = 3 site-months (metering's
			// time-weighted usage) × 5 = 15.00.
			name:  "seed: gauge, 2 usages then 4 from mid-April",
			in:    april(subs(sub("s1", seg(sites5, jan1, open))), gauge("sites", "3")),
			want:  []string{"usage 15.00 [2026-04-01 – 2026-05-01] s1 sites/1"},
			total: "15.00",
		},
		{
			// 5 site-months, 5 free: max(0, 5 − 5) × 0.02 = 0.00, shown.
			name:  "seed: gauge, free usage 5, 5 usages",
			in:    april(subs(sub("s1", seg(sitesFree5, jan1, open))), gauge("sites", "5")),
			want:  []string{"overage 0.00 [2026-04-01 – 2026-05-01] s1 sites-free5/1"},
			total: "0.00",
		},
		{
			// 10 site-months, 5 free: (10 − 5) × 0.02 = 0.10.
			name:  "seed: gauge, free usage 5, 10 usages",
			in:    april(subs(sub("s1", seg(sitesFree5, jan1, open))), gauge("sites", "10")),
			want:  []string{"overage 0.10 [2026-04-01 – 2026-05-01] s1 sites-free5/1"},
			total: "0.10",
		},

		// --- The Aegir rule A + max(0, U − Q) × O ---
		{
			// A = 100 (May, in advance); 56 site-months, Q = 50:
			// (56 − 50) × 1.50 = 9.00 → 109.00.
			name: "aegir: quota-based, A > 0 with overage",
			in:   april(subs(sub("s1", seg(aegir50, jan1, open))), gauge("sites", "56")),
			want: []string{
				"recurring_fee 100.00 [2026-05-01 – 2026-06-01] s1 aegir-50/1",
				"overage 9.00 [2026-04-01 – 2026-05-01] s1 aegir-50/1",
			},
			total: "109.00",
		},
		{
			// A = 100; 42 site-months are within Q = 50: 0.00 → 100.00.
			name: "aegir: quota-based, within the package",
			in:   april(subs(sub("s1", seg(aegir50, jan1, open))), gauge("sites", "42")),
			want: []string{
				"recurring_fee 100.00 [2026-05-01 – 2026-06-01] s1 aegir-50/1",
				"overage 0.00 [2026-04-01 – 2026-05-01] s1 aegir-50/1",
			},
			total: "100.00",
		},
		{
			// A = 0, Q = 0: 12.5 GiB-months × 2 = 25.00.
			name:  "aegir: usage-based, A = 0",
			in:    april(subs(sub("s1", seg(aegirUsage, jan1, open))), gauge("disk_gib", "12.5")),
			want:  []string{"overage 25.00 [2026-04-01 – 2026-05-01] s1 aegir-usage/1"},
			total: "25.00",
		},

		// --- Proration at month ends, leap years, intervals ---
		{
			// February 2026 has 28 days. Subscribed Feb 10: first fee
			// [Feb 10, Mar 1) = 19 of 28 days × 28 = 19.00; March's renewal
			// 28.00 → 47.00.
			name: "proration: first partial month of 28 days",
			in: period(april(subs(sub("s1", seg(monthly28, day("2026-02-10"), open)))),
				"2026-02-01", "2026-03-01", "2026-04-01", calendar()),
			want: []string{
				"recurring_fee 19.00 [2026-02-10 – 2026-03-01] s1 m28/1",
				"recurring_fee 28.00 [2026-03-01 – 2026-04-01] s1 m28/1",
			},
			total: "47.00",
		},
		{
			// February 2028 has 29 days. Subscribed Feb 10: [Feb 10, Mar 1) =
			// 20 of 29 days × 29 = 20.00; March 29.00 → 49.00.
			name: "proration: leap February",
			in: period(april(subs(sub("s1", seg(monthly29, day("2028-02-10"), open)))),
				"2028-02-01", "2028-03-01", "2028-04-01", calendar()),
			want: []string{
				"recurring_fee 20.00 [2028-02-10 – 2028-03-01] s1 m29/1",
				"recurring_fee 29.00 [2028-03-01 – 2028-04-01] s1 m29/1",
			},
			total: "49.00",
		},
		{
			// Anniversary customer anchored Jan 31 2028: periods [Jan 31,
			// Feb 29), [Feb 29, Mar 31). Subscribed Jan 31: the first period
			// is whole, 10.00; the renewal from Feb 29 10.00 → 20.00.
			name: "proration: anniversary on the 31st in a leap year",
			in: period(april(subs(sub("s1", seg(monthly10, day("2028-01-31"), open)))),
				"2028-01-31", "2028-02-29", "2028-03-31", anniversary(day("2028-01-31"))),
			want: []string{
				"recurring_fee 10.00 [2028-01-31 – 2028-02-29] s1 m10/1",
				"recurring_fee 10.00 [2028-02-29 – 2028-03-31] s1 m10/1",
			},
			total: "20.00",
		},
		{
			// Calendar weeks start on Monday; Apr 6 2026 is one. Subscribed
			// Wednesday Apr 8: [Apr 8, Apr 13) = 5 of 7 days × 7 = 5.00; the
			// next week 7.00 → 12.00.
			name: "weekly interval, calendar weeks",
			in: period(april(subs(sub("s1", seg(week7, day("2026-04-08"), open)))),
				"2026-04-06", "2026-04-13", "2026-04-20", calendar()),
			want: []string{
				"recurring_fee 5.00 [2026-04-08 – 2026-04-13] s1 weekly/1",
				"recurring_fee 7.00 [2026-04-13 – 2026-04-20] s1 weekly/1",
			},
			total: "12.00",
		},
		{
			// A weekly fee started Wednesday Apr 8 inside monthly invoices:
			// the first week [Apr 8, Apr 13) = 5/7 × 7 = 5.00; the weeks from
			// Apr 13, 20 and 27 (March's invoice was cut before the start)
			// and those from May 4, 11, 18 and 25 at 7.00: 5 + 7 × 7 = 54.00.
			name: "weekly interval inside monthly invoices, started mid-month",
			in:   april(subs(sub("s1", seg(week7, day("2026-04-08"), open)))),
			want: []string{
				"recurring_fee 5.00 [2026-04-08 – 2026-04-13] s1 weekly/1",
				"recurring_fee 7.00 [2026-04-13 – 2026-04-20] s1 weekly/1",
				"recurring_fee 7.00 [2026-04-20 – 2026-04-27] s1 weekly/1",
				"recurring_fee 7.00 [2026-04-27 – 2026-05-04] s1 weekly/1",
				"recurring_fee 7.00 [2026-05-04 – 2026-05-11] s1 weekly/1",
				"recurring_fee 7.00 [2026-05-11 – 2026-05-18] s1 weekly/1",
				"recurring_fee 7.00 [2026-05-18 – 2026-05-25] s1 weekly/1",
				"recurring_fee 7.00 [2026-05-25 – 2026-06-01] s1 weekly/1",
			},
			total: "54.00",
		},
		{
			// A yearly fee beside a monthly one: April carries May's 10.00;
			// the year [Jan 1 2026, Jan 1 2027) was billed when it started.
			name: "yearly interval inside monthly invoices: nothing mid-year",
			in:   april(subs(sub("m", seg(monthly10, jan1, open)), sub("y", seg(year1200, jan1, open)))),
			want: []string{
				"recurring_fee 10.00 [2026-05-01 – 2026-06-01] m m10/1",
			},
			total: "10.00",
		},
		{
			// December 2026 carries January's 10.00 and the year 2027's
			// 1200.00 → 1210.00.
			name: "yearly interval inside monthly invoices: the renewal",
			in: period(april(subs(sub("m", seg(monthly10, jan1, open)), sub("y", seg(year1200, jan1, open)))),
				"2026-12-01", "2027-01-01", "2027-02-01", calendar()),
			want: []string{
				"recurring_fee 10.00 [2027-01-01 – 2027-02-01] m m10/1",
				"recurring_fee 1200.00 [2027-01-01 – 2028-01-01] y yearly/1",
			},
			total: "1210.00",
		},
		{
			// The yearly fee in arrears is billed in the month its year ends:
			// December 2026, [Jan 1 2026, Jan 1 2027) 1200.00.
			name: "yearly fee in arrears on the invoice of the year's last month",
			in: period(april(subs(sub("y", seg(year1200Arr, jan1, open)))),
				"2026-12-01", "2027-01-01", "2027-02-01", calendar()),
			want:  []string{"recurring_fee 1200.00 [2026-01-01 – 2027-01-01] y yearly-arrears/1"},
			total: "1200.00",
		},
		{
			// An anniversary customer anchored Mar 15 2026, monthly periods,
			// with a yearly subscription started then: the invoice of
			// [Feb 15, Mar 15) 2027 carries the year from Mar 15 2027.
			name: "yearly interval, anniversary customer",
			in: period(april(subs(sub("y", seg(year1200, day("2026-03-15"), open)))),
				"2027-02-15", "2027-03-15", "2027-04-15", anniversary(day("2026-03-15"))),
			want:  []string{"recurring_fee 1200.00 [2027-03-15 – 2028-03-15] y yearly/1"},
			total: "1200.00",
		},

		// --- Plan changes and cancellations ---
		{
			// Upgrade basic → pro at Apr 16, 15 of April's 30 days left:
			// credit −30 × 15/30 = −15.00; pro's remainder 60 × 15/30 = 30.00;
			// May at pro 60.00. Bandwidth U = 300: Q = 100 × 15/30 + 400 ×
			// 15/30 = 250, B = 50, the lowest O is pro's 0.05: 2.50.
			// −15 + 30 + 60 + 2.50 = 77.50.
			name: "upgrade mid-period, usage across the change",
			in: april(subs(sub("s1", seg(basic, jan1, day("2026-04-16")), seg(pro, day("2026-04-16"), open))),
				Usage{Feature: "bandwidth_gib", Unit: "GiB", Quantity: dec("300")}),
			want: []string{
				"proration_credit -15.00 [2026-04-16 – 2026-05-01] s1 basic/1",
				"proration_charge 30.00 [2026-04-16 – 2026-05-01] s1 pro/1",
				"recurring_fee 60.00 [2026-05-01 – 2026-06-01] s1 pro/1",
				"overage 2.50 [2026-04-01 – 2026-05-01] s1 pro/1",
			},
			total: "77.50",
		},
		{
			// Upgrade at Apr 16 12:00: 14.5 of 30 days left, by the second:
			// −30 × 14.5/30 = −14.50; 60 × 14.5/30 = 29.00; May 60.00 → 74.50.
			name: "upgrade at noon, prorated by the second",
			in: april(subs(sub("s1", seg(basic, jan1, at("2026-04-16T12:00:00Z")),
				seg(pro, at("2026-04-16T12:00:00Z"), open)))),
			want: []string{
				"proration_credit -14.50 [2026-04-16 12:00:00 – 2026-05-01 00:00:00] s1 basic/1",
				"proration_charge 29.00 [2026-04-16 12:00:00 – 2026-05-01 00:00:00] s1 pro/1",
				"recurring_fee 60.00 [2026-05-01 – 2026-06-01] s1 pro/1",
			},
			total: "74.50",
		},
		{
			// Downgrade pro → basic at Apr 21, 10 of 30 days left:
			// −60 × 10/30 = −20.00; 30 × 10/30 = 10.00; May 30.00 → 20.00.
			name: "downgrade mid-period",
			in:   april(subs(sub("s1", seg(pro, jan1, day("2026-04-21")), seg(basic, day("2026-04-21"), open)))),
			want: []string{
				"proration_credit -20.00 [2026-04-21 – 2026-05-01] s1 pro/1",
				"proration_charge 10.00 [2026-04-21 – 2026-05-01] s1 basic/1",
				"recurring_fee 30.00 [2026-05-01 – 2026-06-01] s1 basic/1",
			},
			total: "20.00",
		},
		{
			// Downgrade at the period's end (May 1): no credit, May at basic
			// 30.00.
			name:  "downgrade at period end",
			in:    april(subs(sub("s1", seg(pro, jan1, day("2026-05-01")), seg(basic, day("2026-05-01"), open)))),
			want:  []string{"recurring_fee 30.00 [2026-05-01 – 2026-06-01] s1 basic/1"},
			total: "30.00",
		},
		{
			// The change's first invoice (May) after an end-of-period
			// downgrade carries June at basic and nothing else.
			name: "the invoice after a downgrade at period end",
			in: period(april(subs(sub("s1", seg(pro, jan1, day("2026-05-01")), seg(basic, day("2026-05-01"), open)))),
				"2026-05-01", "2026-06-01", "2026-07-01", calendar()),
			want:  []string{"recurring_fee 30.00 [2026-06-01 – 2026-07-01] s1 basic/1"},
			total: "30.00",
		},
		{
			// Fees that are not prorated: no credit or charge at the change
			// on Apr 16; May at pro, whole, 60.00.
			name:  "upgrade of fees that are not prorated",
			in:    april(subs(sub("s1", seg(basicFlat, jan1, day("2026-04-16")), seg(proFlat, day("2026-04-16"), open)))),
			want:  []string{"recurring_fee 60.00 [2026-05-01 – 2026-06-01] s1 pro-flat/1"},
			total: "60.00",
		},
		{
			// In arrears, basic [Apr 1, Apr 16) 30 × 15/30 = 15.00 and pro
			// [Apr 16, May 1) 60 × 15/30 = 30.00 → 45.00.
			name: "upgrade of fees in arrears",
			in: april(subs(sub("s1", seg(basicArr, jan1, day("2026-04-16")),
				seg(proArr, day("2026-04-16"), open)))),
			want: []string{
				"recurring_fee 15.00 [2026-04-01 – 2026-04-16] s1 basic-arrears/1",
				"recurring_fee 30.00 [2026-04-16 – 2026-05-01] s1 pro-arrears/1",
			},
			total: "45.00",
		},
		{
			// Seats 3 → 5 at Apr 16: −3 × 10 × 15/30 = −15.00; 5 × 10 ×
			// 15/30 = 25.00; May 5 × 10 = 50.00 → 60.00.
			name: "quantity increase mid-period",
			in: april(subs(sub("s1", Segment{Plan: seats, Quantity: 3, From: jan1, To: day("2026-04-16")},
				Segment{Plan: seats, Quantity: 5, From: day("2026-04-16")}))),
			want: []string{
				"proration_credit -15.00 [2026-04-16 – 2026-05-01] s1 seats/1",
				"proration_charge 25.00 [2026-04-16 – 2026-05-01] s1 seats/1",
				"recurring_fee 50.00 [2026-05-01 – 2026-06-01] s1 seats/1",
			},
			total: "60.00",
		},
		{
			// Cancelled at once on Apr 11, 20 of 30 days unused: credit
			// −60 × 20/30 = −40.00 and no renewal. The negative total becomes
			// the customer's credit: +40.00, total 0.00, balance 40.00.
			name: "cancellation immediately, in advance",
			in:   april(subs(sub("s1", seg(pro, jan1, day("2026-04-11"))))),
			want: []string{
				"proration_credit -40.00 [2026-04-11 – 2026-05-01] s1 pro/1",
				"credit 40.00 [2026-04-01 – 2026-05-01] -",
			},
			total: "0.00",
		},
		{
			// Cancelled at once on Apr 11 in arrears: [Apr 1, Apr 11) =
			// 10/30 × 30 = 10.00.
			name:  "cancellation immediately, in arrears",
			in:    april(subs(sub("s1", seg(basicArr, jan1, day("2026-04-11"))))),
			want:  []string{"recurring_fee 10.00 [2026-04-01 – 2026-04-11] s1 basic-arrears/1"},
			total: "10.00",
		},
		{
			// Cancelled at the period's end (May 1), in advance: April was
			// paid in March; no renewal, no line.
			name:  "cancellation at period end, in advance",
			in:    april(subs(sub("s1", seg(pro, jan1, day("2026-05-01"))))),
			total: "0.00",
		},
		{
			// Cancelled at the period's end, in arrears: April 30.00.
			name:  "cancellation at period end, in arrears",
			in:    april(subs(sub("s1", seg(basicArr, jan1, day("2026-05-01"))))),
			want:  []string{"recurring_fee 30.00 [2026-04-01 – 2026-05-01] s1 basic-arrears/1"},
			total: "30.00",
		},

		// --- Tier models at their boundaries (Q = 0, so B = U) ---
		// Graduated: 100 × 0.10 = 10.00.
		{name: "graduated at 100", in: april(subs(sub("s1", seg(graduated, jan1, open))), counter("api_calls", "100")),
			want: []string{"usage 10.00 [2026-04-01 – 2026-05-01] s1 graduated/1"}, total: "10.00"},
		// 10.00 + 1 × 0.08 + 1.00 flat = 11.08.
		{name: "graduated at 101", in: april(subs(sub("s1", seg(graduated, jan1, open))), counter("api_calls", "101")),
			want: []string{"usage 11.08 [2026-04-01 – 2026-05-01] s1 graduated/1"}, total: "11.08"},
		// 10.00 + 900 × 0.08 + 1.00 = 83.00.
		{name: "graduated at 1000", in: april(subs(sub("s1", seg(graduated, jan1, open))), counter("api_calls", "1000")),
			want: []string{"usage 83.00 [2026-04-01 – 2026-05-01] s1 graduated/1"}, total: "83.00"},
		// 83.00 + 1 × 0.05 = 83.05.
		{name: "graduated at 1001", in: april(subs(sub("s1", seg(graduated, jan1, open))), counter("api_calls", "1001")),
			want: []string{"usage 83.05 [2026-04-01 – 2026-05-01] s1 graduated/1"}, total: "83.05"},
		// Volume: 100 × 0.10 = 10.00.
		{name: "volume at 100", in: april(subs(sub("s1", seg(volume, jan1, open))), counter("api_calls", "100")),
			want: []string{"usage 10.00 [2026-04-01 – 2026-05-01] s1 volume/1"}, total: "10.00"},
		// 101 × 0.08 + 1.00 = 9.08.
		{name: "volume at 101", in: april(subs(sub("s1", seg(volume, jan1, open))), counter("api_calls", "101")),
			want: []string{"usage 9.08 [2026-04-01 – 2026-05-01] s1 volume/1"}, total: "9.08"},
		// 1000 × 0.08 + 1.00 = 81.00.
		{name: "volume at 1000", in: april(subs(sub("s1", seg(volume, jan1, open))), counter("api_calls", "1000")),
			want: []string{"usage 81.00 [2026-04-01 – 2026-05-01] s1 volume/1"}, total: "81.00"},
		// 1001 × 0.05 = 50.05.
		{name: "volume at 1001", in: april(subs(sub("s1", seg(volume, jan1, open))), counter("api_calls", "1001")),
			want: []string{"usage 50.05 [2026-04-01 – 2026-05-01] s1 volume/1"}, total: "50.05"},
		// Package of 100 at 5.00, one free: 100 → ⌈100/100⌉ − 1 = 0 → 0.00.
		{name: "package at 100", in: april(subs(sub("s1", seg(pkg, jan1, open))), counter("api_calls", "100")),
			want: []string{"usage 0.00 [2026-04-01 – 2026-05-01] s1 package/1"}, total: "0.00"},
		// 101 → ⌈1.01⌉ − 1 = 1 → 5.00.
		{name: "package at 101", in: april(subs(sub("s1", seg(pkg, jan1, open))), counter("api_calls", "101")),
			want: []string{"usage 5.00 [2026-04-01 – 2026-05-01] s1 package/1"}, total: "5.00"},
		// 200 → 2 − 1 = 1 → 5.00.
		{name: "package at 200", in: april(subs(sub("s1", seg(pkg, jan1, open))), counter("api_calls", "200")),
			want: []string{"usage 5.00 [2026-04-01 – 2026-05-01] s1 package/1"}, total: "5.00"},
		// 201 → 3 − 1 = 2 → 10.00.
		{name: "package at 201", in: april(subs(sub("s1", seg(pkg, jan1, open))), counter("api_calls", "201")),
			want: []string{"usage 10.00 [2026-04-01 – 2026-05-01] s1 package/1"}, total: "10.00"},

		// Volume above an included quantity of 500, the first tier with a
		// flat price of 2.00: U = 400 → B = 0 costs 0.00, flat price
		// included; U = 600 → B = 100, in the first tier: 100 × 0.10 + 2.00
		// = 12.00.
		{name: "volume within the included quantity", in: april(subs(sub("s1", seg(volume500, jan1, open))), counter("api_calls", "400")),
			want: []string{"usage 0.00 [2026-04-01 – 2026-05-01] s1 volume-500/1"}, total: "0.00"},
		{name: "volume above the included quantity", in: april(subs(sub("s1", seg(volume500, jan1, open))), counter("api_calls", "600")),
			want: []string{"usage 12.00 [2026-04-01 – 2026-05-01] s1 volume-500/1"}, total: "12.00"},

		// --- Several subscriptions selling one feature ---
		{
			// Q = 100 + 50 = 150; U = 200, B = 50; the lowest O is bw-b's
			// 0.08: 50 × 0.08 = 4.00, on bw-b's line.
			name: "several subscriptions: the lowest overage price",
			in: april(subs(sub("a", seg(bwA, jan1, open)), sub("b", seg(bwB, jan1, open))),
				Usage{Feature: "bandwidth_gib", Unit: "GiB", Quantity: dec("200")}),
			want:  []string{"overage 4.00 [2026-04-01 – 2026-05-01] b bw-b/1"},
			total: "4.00",
		},
		{
			// bw-b started Apr 16: Q = 100 + 50 × 15/30 = 125; U = 200,
			// B = 75 × 0.08 = 6.00.
			name: "several subscriptions: a second one mid-period",
			in: april(subs(sub("a", seg(bwA, jan1, open)), sub("b", seg(bwB, day("2026-04-16"), open))),
				Usage{Feature: "bandwidth_gib", Unit: "GiB", Quantity: dec("200")}),
			want:  []string{"overage 6.00 [2026-04-01 – 2026-05-01] b bw-b/1"},
			total: "6.00",
		},

		// --- Trials and one-time fees ---
		{
			// Trial [Apr 1, Apr 15) carries no fee; paying starts Apr 15:
			// setup 50.00, first fee [Apr 15, May 1) = 16/30 × 30 = 16.00,
			// May 30.00 → 96.00.
			name: "trial, then paying with a setup fee",
			in: april(subs(sub("s1", Segment{Plan: setup, Quantity: 1, Trial: true, From: day("2026-04-01"), To: day("2026-04-15")},
				seg(setup, day("2026-04-15"), open)))),
			want: []string{
				"one_time_fee 50.00 [2026-04-15 – 2026-05-01] s1 setup/1",
				"recurring_fee 16.00 [2026-04-15 – 2026-05-01] s1 setup/1",
				"recurring_fee 30.00 [2026-05-01 – 2026-06-01] s1 setup/1",
			},
			total: "96.00",
		},
		{
			// Subscribed at the period's first instant, Apr 1 00:00: the first
			// fee is April whole, 30.00, on April's invoice with May's 30.00;
			// March's invoice was cut before it → 60.00.
			name: "subscribed on the first of the month",
			in:   april(subs(sub("s1", seg(basic, day("2026-04-01"), open)))),
			want: []string{
				"recurring_fee 30.00 [2026-04-01 – 2026-05-01] s1 basic/1",
				"recurring_fee 30.00 [2026-05-01 – 2026-06-01] s1 basic/1",
			},
			total: "60.00",
		},
		{
			// Still in the trial through May 10: no fee, nothing billed.
			name:  "trial across the period",
			in:    april(subs(sub("s1", Segment{Plan: setup, Quantity: 1, Trial: true, From: day("2026-04-01"), To: day("2026-05-10")}, seg(setup, day("2026-05-10"), open)))),
			total: "0.00",
		},

		// --- Rounding each line once, half away from zero ---
		{
			// 0.25 → 0.75 at Apr 16 (15 of 30 days): −0.125 → −0.13;
			// 0.375 → 0.38; May 0.75 → −0.13 + 0.38 + 0.75 = 1.00. One call at
			// 0.005 → 0.01.
			name: "rounding half away from zero on each line",
			in: april(subs(sub("s1", seg(tiny, jan1, day("2026-04-16")), seg(tiny3, day("2026-04-16"), open)),
				sub("s2", seg(halfCent, jan1, open))), counter("api_calls", "1")),
			want: []string{
				"proration_credit -0.13 [2026-04-16 – 2026-05-01] s1 tiny/1",
				"proration_charge 0.38 [2026-04-16 – 2026-05-01] s1 tiny3/1",
				"recurring_fee 0.75 [2026-05-01 – 2026-06-01] s1 tiny3/1",
				"overage 0.01 [2026-04-01 – 2026-05-01] s2 half-cent/1",
			},
			total: "1.01",
		},
		{
			// JPY has no minor unit: a 1001 yen monthly fee, subscribed
			// Apr 16: 1001 × 15/30 = 500.5 → 501; May 1001 → 1502.
			name: "rounding to a currency without minor unit",
			in: withCurrency(april(subs(sub("s1", seg(plan("yen", fees(fee("Monthly", "1001", InAdvance, true)), nil),
				day("2026-04-16"), open)))), "JPY"),
			want: []string{
				"recurring_fee 501 [2026-04-16 – 2026-05-01] s1 yen/1",
				"recurring_fee 1001 [2026-05-01 – 2026-06-01] s1 yen/1",
			},
			total: "1502",
		},

		// --- Credit balance ---
		{
			// May 30.00 less the 12.00 the customer has: total 18.00.
			name: "credit balance applied",
			in:   credit(april(subs(sub("s1", seg(basic, jan1, open)))), "12"),
			want: []string{
				"recurring_fee 30.00 [2026-05-01 – 2026-06-01] s1 basic/1",
				"credit -12.00 [2026-04-01 – 2026-05-01] -",
			},
			total: "18.00",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			check(t, tc)
		})
	}
}

// A subscription billed separately gets its own invoice, with the usage its
// plan prices; the others stay on the consolidated one.
func TestBillSeparately(t *testing.T) {
	t.Parallel()
	jan1 := day("2026-01-01")
	shop := plan("shop", fees(fee("Shop", "20", InAdvance, true)), nil)
	storage := plan("storage", fees(fee("Storage", "10", InAdvance, true)), ent("disk_gib", "100", "0.50"))
	s := sub("sep", seg(storage, jan1, open))
	s.BillSeparately = true
	// Consolidated: May's shop fee 20.00. Separate: May's storage fee 10.00
	// and (120 − 100) × 0.50 = 10.00 → 20.00.
	res, err := Rate(april(subs(sub("main", seg(shop, jan1, open)), s), gauge("disk_gib", "120")))
	if err != nil {
		t.Fatal(err)
	}
	usd := cur("USD")
	var got []string
	for _, inv := range res.Invoices {
		got = append(got, fmt.Sprintf("invoice %q total %s", inv.SubscriptionID, usd.FormatAmount(inv.Total)))
		for _, l := range inv.Lines {
			got = append(got, "  "+l.row(usd))
		}
	}
	want := []string{
		`invoice "" total 20.00`,
		"  recurring_fee 20.00 [2026-05-01 – 2026-06-01] main shop/1",
		`invoice "sep" total 20.00`,
		"  recurring_fee 10.00 [2026-05-01 – 2026-06-01] sep storage/1",
		"  overage 10.00 [2026-04-01 – 2026-05-01] sep storage/1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Every line explains itself: description, quantity, unit price, the plan's
// ERP ids.
func TestLineDetails(t *testing.T) {
	t.Parallel()
	p := plan("forgejo", fees(fee("Forgejo 2 vCPU", "45", InAdvance, true)), ent("bandwidth_gib", "100", "0.10"))
	p.Version, p.ERPProductID, p.ERPUnitID = 3, "openshift-exoscale-workervcpu-standard", "unit-month"
	res, err := Rate(april(subs(sub("s1",
		Segment{Plan: p, Quantity: 2, From: day("2026-04-11")})),
		Usage{Feature: "bandwidth_gib", Unit: "GiB", Quantity: dec("150.5")}))
	if err != nil {
		t.Fatal(err)
	}
	// First fee [Apr 11, May 1): 2 × 45 × 20/30 = 60.00; May 2 × 45 = 90.00.
	// Q = 100 × 2 × 20/30 = 133.333…; B = 150.5 − 133.333… = 17.1666…,
	// × 0.10 = 1.71666… → 1.72.
	want := []Line{
		{Kind: KindRecurringFee, Description: "Forgejo 2 vCPU, 2026-04-11 – 2026-05-01 of 2026-04-01 – 2026-05-01",
			Quantity: dec("2"), UnitPrice: dec("45"), Amount: dec("60"), Period: Period{day("2026-04-11"), day("2026-05-01")}},
		{Kind: KindRecurringFee, Description: "Forgejo 2 vCPU, 2026-05-01 – 2026-06-01",
			Quantity: dec("2"), UnitPrice: dec("45"), Amount: dec("90"), Period: Period{day("2026-05-01"), day("2026-06-01")}},
		{Kind: KindOverage, Feature: "bandwidth_gib",
			Description: "bandwidth_gib: 150.5 GiB used, 133.333333 included, 17.166667 billed at 0.10 each",
			Quantity:    dec("17.166666666666666667"), UnitPrice: dec("0.10"), Amount: dec("1.72"),
			Period: Period{day("2026-04-01"), day("2026-05-01")}},
	}
	got := res.Invoices[0].Lines
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		w.SubscriptionID, w.PlanKey, w.PlanVersion, w.ERPProductID, w.ERPUnitID = "s1", "forgejo", 3, p.ERPProductID, p.ERPUnitID
		g := got[i]
		if g.Kind != w.Kind || g.Description != w.Description || g.Feature != w.Feature ||
			!g.Quantity.Equal(w.Quantity) || !g.UnitPrice.Equal(w.UnitPrice) || !g.Amount.Equal(w.Amount) ||
			g.Period != w.Period || g.SubscriptionID != w.SubscriptionID || g.PlanKey != w.PlanKey ||
			g.PlanVersion != w.PlanVersion || g.ERPProductID != w.ERPProductID || g.ERPUnitID != w.ERPUnitID {
			t.Errorf("line %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if total := res.Invoices[0].Total; !total.Equal(dec("151.72")) {
		t.Errorf("total = %s, want 151.72 (60 + 90 + 1.72)", total)
	}
}

// Input the rules cannot rate is refused with an error, never a panic.
func TestRefusesBadInput(t *testing.T) {
	t.Parallel()
	jan1 := day("2026-01-01")
	good := plan("good", fees(fee("Fee", "1", InAdvance, true)), nil)
	noTiers := plan("no-tiers", nil, nil, UsageCharge{Feature: "x", Model: Graduated})
	emptyPackage := plan("empty-package", nil, nil, UsageCharge{Feature: "x", Model: Package})
	noTiming := plan("no-timing", fees(RecurringFee{Amount: dec("1")}), nil)
	for _, tc := range []struct {
		name string
		in   Input
	}{
		{"no currency", func() Input { in := april(nil); in.Currency = money.Currency{}; return in }()},
		{"no schedule", func() Input { in := april(nil); in.Schedule = nil; return in }()},
		{"periods not consecutive", func() Input { in := april(nil); in.Next.From = in.Next.From.Add(time.Second); return in }()},
		{"empty period", func() Input { in := april(nil); in.Period.To = in.Period.From; return in }()},
		{"negative credit", func() Input { in := april(nil); in.CreditBalance = dec("-1"); return in }()},
		{"segments overlap", april(subs(sub("s", seg(good, jan1, day("2026-04-10")), seg(good, day("2026-04-09"), open))))},
		{"open segment before another", april(subs(sub("s", seg(good, jan1, open), seg(good, day("2026-04-09"), open))))},
		{"reversed segment", april(subs(sub("s", seg(good, day("2026-04-10"), day("2026-04-09")))))},
		{"subscription twice", april(subs(sub("s", seg(good, jan1, open)), sub("s", seg(good, jan1, open))))},
		{"segment without plan", april(subs(sub("s", Segment{From: jan1})))},
		{"negative quantity", april(subs(sub("s", Segment{Plan: good, Quantity: -1, From: jan1})))},
		{"tiers without tiers", april(subs(sub("s", seg(noTiers, jan1, open))))},
		{"package of size 0", april(subs(sub("s", seg(emptyPackage, jan1, open))))},
		{"fee without timing", april(subs(sub("s", seg(noTiming, jan1, open))))},
		{"negative fee", april(subs(sub("s", seg(plan("neg", fees(fee("Fee", "-1", InAdvance, true)), nil), jan1, open))))},
		{"negative overage price", april(subs(sub("s", seg(plan("neg", nil, ent("x", "0", "-0.1")), jan1, open))))},
		{"interval of 0", april(subs(sub("s", seg(&Plan{Key: "zero", Interval: Interval{Month, 0}}, jan1, open))))},
		{"usage twice", april(subs(sub("s", seg(good, jan1, open))), counter("x", "1"), counter("x", "2"))},
		{"negative usage", april(subs(sub("s", seg(plan("x", nil, ent("x", "0", "1")), jan1, open))), counter("x", "-1"))},
		{"schedule that misses", func() Input {
			in := april(subs(sub("s", seg(good, jan1, open))))
			in.Schedule = func(Interval, time.Time) Period { return Period{jan1, jan1.Add(time.Hour)} }
			return in
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if res, err := Rate(tc.in); err == nil {
				t.Fatalf("Rate accepted it: %+v", res)
			}
		})
	}
}

// A plan of an offering with a storage plan (Servala): its fees carry the
// plan's ERP ids (the instances), its gauge usage the storage plan's (GiB
// stored), and a counter's usage the plan's.
func TestStorageERPIDs(t *testing.T) {
	t.Parallel()
	p := plan("forgejo", fees(fee("Forgejo 2 vCPU", "45", InAdvance, false)), append(ent("disk_gib", "10", "0.15"), ent("bandwidth_gib", "100", "0.10")...))
	p.ERPProductID, p.ERPUnitID = "openshift-cloudscale-workervcpu-besteffort", "instance_month"
	p.StorageERPProductID, p.StorageERPUnitID = "openshift-cloudscale-storage-ssd", "gib_month"
	res, err := Rate(april(subs(sub("s1", Segment{Plan: p, Quantity: 1, From: day("2026-03-01")})),
		Usage{Feature: "disk_gib", Unit: "GiB", Gauge: true, Quantity: dec("30")},
		Usage{Feature: "bandwidth_gib", Unit: "GiB", Quantity: dec("150")}))
	if err != nil {
		t.Fatal(err)
	}
	// May's fee 45.00; disk (30 − 10) × 0.15 = 3.00; bandwidth (150 − 100)
	// × 0.10 = 5.00.
	want := map[string][3]string{
		"":              {"45", "openshift-cloudscale-workervcpu-besteffort", "instance_month"},
		"disk_gib":      {"3", "openshift-cloudscale-storage-ssd", "gib_month"},
		"bandwidth_gib": {"5", "openshift-cloudscale-workervcpu-besteffort", "instance_month"},
	}
	lines := res.Invoices[0].Lines
	if len(lines) != len(want) {
		t.Fatalf("got %d lines: %+v", len(lines), lines)
	}
	for _, l := range lines {
		w := want[l.Feature]
		if !l.Amount.Equal(dec(w[0])) || l.ERPProductID != w[1] || l.ERPUnitID != w[2] {
			t.Errorf("line %q: amount %s, ERP %s %s; want %v", l.Description, l.Amount, l.ERPProductID, l.ERPUnitID, w)
		}
	}
}
