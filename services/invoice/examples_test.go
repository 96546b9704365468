package invoice_test

import (
	"testing"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
)

// The plans of the worked examples, all in USD and monthly unless they say
// otherwise.
var (
	// The Commerce metered-billing seed: $0.05 per API call, $5 a month,
	// sites at $5 or $0.02 per site-month. A plan without a fee prices its
	// feature with a usage charge (the catalog refuses a plan without
	// charges); 5 sites included free, then 0.02 each, is an entitlement
	// without an overage price and a usage charge of the feature.
	calls          = plan("calls", perUnit("api_calls", "0.05"))
	callsPrepaid   = plan("calls_prepaid", advance("Monthly", "5", whole), perUnit("api_calls", "0.05"))
	free150        = plan("free150", arrears("Monthly", "5", whole), includes("api_calls", "150", "0.05"))
	free150Prepaid = plan("free150_prepaid", advance("Monthly", "5", whole), includes("api_calls", "150", "0.05"))
	sites5         = plan("sites5", perUnit("sites", "5"))
	sitesFree5     = plan("sites_free5", includes("sites", "5", ""), perUnit("sites", "0.02"))

	// Aegir: a 50-site package at 100 a month with 1.50 per extra
	// site-month, and pure usage billing of disk at 2 per GiB-month.
	aegir50    = plan("aegir_50", advance("50 sites package", "100", prorated), includes("sites", "50", "1.50"))
	aegirUsage = plan("aegir_usage", perUnit("disk_gib", "2"))

	// basic 30 a month with 100 GiB of bandwidth and 0.10 above; pro 60 a
	// month with 400 GiB and 0.05 above.
	basic    = plan("basic", advance("Basic", "30", prorated), includes("bandwidth_gib", "100", "0.10"))
	pro      = plan("pro", advance("Pro", "60", prorated), includes("bandwidth_gib", "400", "0.05"))
	basicEUR = plan("basic_eur", advance("Basic", "30", prorated), inCurrency("EUR"))

	// Fees whose proration shows the length of a month, a week and a year.
	m28    = plan("m28", advance("Monthly", "28", prorated))
	m29    = plan("m29", advance("Monthly", "29", prorated))
	m10    = plan("m10", advance("Monthly", "10", prorated))
	week7  = plan("week7", advance("Weekly", "7", prorated), every(catalogv1.IntervalUnit_INTERVAL_UNIT_WEEK))
	yearly = plan("yearly", advance("Yearly", "1200", prorated), every(catalogv1.IntervalUnit_INTERVAL_UNIT_YEAR))

	// Tier models on API calls (no included quantity, so billed = used).
	graduated = plan("graduated", tiered("api_calls", catalogv1.PricingModel_PRICING_MODEL_GRADUATED))
	volume    = plan("volume", tiered("api_calls", catalogv1.PricingModel_PRICING_MODEL_VOLUME))
	pack      = plan("pack", packages("api_calls", "100", "5.00", 1))
)

// April 2026 has 30 days: the usual invoice period of the examples.
const (
	march = "[2026-03-01, 2026-04-01)"
	april = "[2026-04-01, 2026-05-01)"
	may   = "[2026-05-01, 2026-06-01)"
)

// TestCommerceSeedExamples bills every worked example of the Commerce
// metered-billing seed through the catalog, subscription, metering and
// invoice services. Each customer subscribes on March 1st; April's usage is
// billed on April's invoice, by a run two hours after April ends (past the
// hour of grace, so it finalizes). Prepaid fees are in advance: April's
// invoice carries May's fee, and March's invoice the first fee and April's.
func TestCommerceSeedExamples(t *testing.T) {
	t.Parallel()
	seed := func(p planSpec, usage ...step) []step {
		steps := []step{customer("2026-03-01", "acme"), subscribe("2026-03-01", "acme", "s1", p.key)}
		return append(append(steps, usage...), run("2026-05-01T02:00"))
	}
	runExamples(t, []example{
		{
			// 300 calls × 0.05 = 15.00, at the end of the cycle. March: no
			// fee and no usage, so no invoice.
			name:  "counter, no free usage, postpaid",
			plans: []planSpec{calls},
			steps: seed(calls, used("acme", "api_calls", 300, "2026-04-01", "2026-05-01")),
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "15.00", lines: []string{
				"usage api_calls: 300 × 0.05 = 15.00 [2026-04-01, 2026-05-01) calls/1",
			}}},
		},
		{
			// March: its first fee 5.00 + April's 5.00 = 10.00. April: May's
			// 5.00 + 300 × 0.05 = 15.00 → 20.00.
			name:  "counter, no free usage, prepaid $5 a month",
			plans: []planSpec{callsPrepaid},
			steps: seed(callsPrepaid, used("acme", "api_calls", 300, "2026-04-01", "2026-05-01")),
			want: []wantInvoice{
				{customer: "acme", period: march, status: "finalized", total: "10.00", lines: []string{
					"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-03-01, 2026-04-01) calls_prepaid/1",
					"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-04-01, 2026-05-01) calls_prepaid/1",
				}},
				{customer: "acme", period: april, status: "finalized", total: "20.00", lines: []string{
					"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-05-01, 2026-06-01) calls_prepaid/1",
					"usage api_calls: 300 × 0.05 = 15.00 [2026-04-01, 2026-05-01) calls_prepaid/1",
				}},
			},
		},
		{
			// March: March's fee in arrears, 5.00. April: April's 5.00 +
			// (300 − 150) × 0.05 = 7.50 → 12.50.
			name:  "counter, free usage 150, postpaid $5 a month",
			plans: []planSpec{free150},
			steps: seed(free150, used("acme", "api_calls", 300, "2026-04-01", "2026-05-01")),
			want: []wantInvoice{
				{customer: "acme", period: march, status: "finalized", total: "5.00", lines: []string{
					"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-03-01, 2026-04-01) free150/1",
				}},
				{customer: "acme", period: april, status: "finalized", total: "12.50", lines: []string{
					"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-04-01, 2026-05-01) free150/1",
					"overage api_calls: 150 × 0.05 = 7.50 [2026-04-01, 2026-05-01) free150/1",
				}},
			},
		},
		{
			// March: 5.00 + April's 5.00 = 10.00. April: May's 5.00 +
			// (300 − 150) × 0.05 = 7.50 → 12.50, as postpaid.
			name:  "counter, free usage 150, prepaid $5 a month",
			plans: []planSpec{free150Prepaid},
			steps: seed(free150Prepaid, used("acme", "api_calls", 300, "2026-04-01", "2026-05-01")),
			want: []wantInvoice{
				{customer: "acme", period: march, status: "finalized", total: "10.00", lines: []string{
					"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-03-01, 2026-04-01) free150_prepaid/1",
					"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-04-01, 2026-05-01) free150_prepaid/1",
				}},
				{customer: "acme", period: april, status: "finalized", total: "12.50", lines: []string{
					"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-05-01, 2026-06-01) free150_prepaid/1",
					"overage api_calls: 150 × 0.05 = 7.50 [2026-04-01, 2026-05-01) free150_prepaid/1",
				}},
			},
		},
		{
			// 4 sites all April = 4 site-months × 5.00 = 20.00.
			name:  "gauge, 4 usages at $5 per usage-month",
			plans: []planSpec{sites5},
			steps: seed(sites5, sites("2026-04-01", "acme", 1, 4)),
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "20.00", lines: []string{
				"usage sites: 4 × 5.00 = 20.00 [2026-04-01, 2026-05-01) sites5/1",
			}}},
		},
		{
			// 2 sites from April 1st, 2 more from the 16th: (2 × 30 + 2 ×
			// 15) / 30 = 3 site-months × 5.00 = 15.00 (2 all month = 10.00, 2
			// half a month = 5.00).
			name:  "gauge, 2 usages then 4 from mid-April",
			plans: []planSpec{sites5},
			steps: seed(sites5, sites("2026-04-01", "acme", 1, 2), sites("2026-04-16", "acme", 3, 2)),
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "15.00", lines: []string{
				"usage sites: 3 × 5.00 = 15.00 [2026-04-01, 2026-05-01) sites5/1",
			}}},
		},
		{
			// 5 site-months, 5 free: max(0, 5 − 5) × 0.02 = 0.00, shown.
			name:  "gauge, free usage 5, 5 usages",
			plans: []planSpec{sitesFree5},
			steps: seed(sitesFree5, sites("2026-04-01", "acme", 1, 5)),
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "0.00", lines: []string{
				"usage sites: 0 × 0.02 = 0.00 [2026-04-01, 2026-05-01) sites_free5/1",
			}}},
		},
		{
			// 10 site-months, 5 free: (10 − 5) × 0.02 = 0.10.
			name:  "gauge, free usage 5, 10 usages",
			plans: []planSpec{sitesFree5},
			steps: seed(sitesFree5, sites("2026-04-01", "acme", 1, 10)),
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "0.10", lines: []string{
				"usage sites: 5 × 0.02 = 0.10 [2026-04-01, 2026-05-01) sites_free5/1",
			}}},
		},
	})
}

// TestAegirExamples: the Aegir rule A + max(0, U − Q) × O, with a quota
// package (A > 0) and pure usage billing (A = 0). Subscribed April 1st.
func TestAegirExamples(t *testing.T) {
	t.Parallel()
	runExamples(t, []example{
		{
			// A: April's first fee 100.00 and May's 100.00 in advance; 56
			// sites all April, Q = 50: (56 − 50) × 1.50 = 9.00 → 209.00.
			name:  "quota-based, A > 0 with overage",
			plans: []planSpec{aegir50},
			steps: []step{
				customer("2026-04-01", "aegir"), subscribe("2026-04-01", "aegir", "s1", "aegir_50"),
				sites("2026-04-01", "aegir", 1, 56),
				run("2026-05-01T02:00"),
			},
			want: []wantInvoice{{customer: "aegir", period: april, status: "finalized", total: "209.00", lines: []string{
				"recurring_fee 50 sites package: 1 × 100.00 = 100.00 [2026-04-01, 2026-05-01) aegir_50/1",
				"recurring_fee 50 sites package: 1 × 100.00 = 100.00 [2026-05-01, 2026-06-01) aegir_50/1",
				"overage sites: 6 × 1.50 = 9.00 [2026-04-01, 2026-05-01) aegir_50/1",
			}}},
		},
		{
			// A = 0, Q = 0: 10 GiB for 15 days, then 15 GiB for 15 days:
			// (10 × 15 + 15 × 15) / 30 = 12.5 GiB-months × 2.00 = 25.00.
			name:  "usage-based, A = 0",
			plans: []planSpec{aegirUsage},
			steps: []step{
				customer("2026-04-01", "aegir"), subscribe("2026-04-01", "aegir", "s1", "aegir_usage"),
				level("2026-04-01", "aegir", "disk_gib", "vol-1", "10"),
				level("2026-04-16", "aegir", "disk_gib", "vol-1", "15"),
				run("2026-05-01T02:00"),
			},
			want: []wantInvoice{{customer: "aegir", period: april, status: "finalized", total: "25.00", lines: []string{
				"usage disk_gib: 12.5 × 2.00 = 25.00 [2026-04-01, 2026-05-01) aegir_usage/1",
			}}},
		},
	})
}

// TestCalendarExamples: proration at month ends and in a leap year, weekly
// and yearly intervals, calendar and anniversary customers.
func TestCalendarExamples(t *testing.T) {
	t.Parallel()
	runExamples(t, []example{
		{
			// February 2026 has 28 days. Subscribed Feb 10: first fee
			// [Feb 10, Mar 1) = 19/28 × 28.00 = 19.00; March 28.00 → 47.00.
			name:  "proration in a February of 28 days",
			plans: []planSpec{m28},
			steps: []step{customer("2026-02-10", "acme"), subscribe("2026-02-10", "acme", "s1", "m28"), run("2026-03-01T02:00")},
			want: []wantInvoice{{customer: "acme", period: "[2026-02-01, 2026-03-01)", status: "finalized", total: "47.00", lines: []string{
				"recurring_fee Monthly: 1 × 28.00 = 19.00 [2026-02-10, 2026-03-01) m28/1",
				"recurring_fee Monthly: 1 × 28.00 = 28.00 [2026-03-01, 2026-04-01) m28/1",
			}}},
		},
		{
			// February 2028 has 29 days. Subscribed Feb 10: [Feb 10, Mar 1)
			// = 20/29 × 29.00 = 20.00; March 29.00 → 49.00.
			name:  "proration in a leap February",
			plans: []planSpec{m29},
			steps: []step{customer("2028-02-10", "acme"), subscribe("2028-02-10", "acme", "s1", "m29"), run("2028-03-01T02:00")},
			want: []wantInvoice{{customer: "acme", period: "[2028-02-01, 2028-03-01)", status: "finalized", total: "49.00", lines: []string{
				"recurring_fee Monthly: 1 × 29.00 = 20.00 [2028-02-10, 2028-03-01) m29/1",
				"recurring_fee Monthly: 1 × 29.00 = 29.00 [2028-03-01, 2028-04-01) m29/1",
			}}},
		},
		{
			// An anniversary customer from Jan 31 2028: periods clamp to the
			// month's end, [Jan 31, Feb 29) then [Feb 29, Mar 31). The first
			// period is whole, 10.00; the renewal from Feb 29, 10.00 →
			// 20.00.
			name:  "anniversary on the 31st in a leap year",
			plans: []planSpec{m10},
			steps: []step{customer("2028-01-31", "acme", anniversary), subscribe("2028-01-31", "acme", "s1", "m10"), run("2028-02-29T02:00")},
			want: []wantInvoice{{customer: "acme", period: "[2028-01-31, 2028-02-29)", status: "finalized", total: "20.00", lines: []string{
				"recurring_fee Monthly: 1 × 10.00 = 10.00 [2028-01-31, 2028-02-29) m10/1",
				"recurring_fee Monthly: 1 × 10.00 = 10.00 [2028-02-29, 2028-03-31) m10/1",
			}}},
		},
		{
			// A calendar customer subscribed Apr 16: [Apr 16, May 1) =
			// 15/30 × 30.00 = 15.00; May 30.00 → 45.00.
			name:  "calendar customer subscribed mid-month",
			plans: []planSpec{basic},
			steps: []step{customer("2026-04-16", "acme"), subscribe("2026-04-16", "acme", "s1", "basic"), run("2026-05-01T02:00")},
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "45.00", lines: []string{
				"recurring_fee Basic: 1 × 30.00 = 15.00 [2026-04-16, 2026-05-01) basic/1",
				"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-05-01, 2026-06-01) basic/1",
			}}},
		},
		{
			// An anniversary customer subscribed Apr 16: its periods start
			// on the 16th, so the first is whole, 30.00, and the next
			// [May 16, Jun 16) 30.00 → 60.00.
			name:  "anniversary customer subscribed mid-month",
			plans: []planSpec{basic},
			steps: []step{customer("2026-04-16", "acme", anniversary), subscribe("2026-04-16", "acme", "s1", "basic"), run("2026-05-16T02:00")},
			want: []wantInvoice{{customer: "acme", period: "[2026-04-16, 2026-05-16)", status: "finalized", total: "60.00", lines: []string{
				"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-04-16, 2026-05-16) basic/1",
				"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-05-16, 2026-06-16) basic/1",
			}}},
		},
		{
			// A weekly plan bills weekly periods; calendar weeks start on
			// Monday (Apr 6 2026). Subscribed Wednesday Apr 8: [Apr 8,
			// Apr 13) = 5/7 × 7.00 = 5.00; the next week 7.00 → 12.00.
			name:  "weekly interval",
			plans: []planSpec{week7},
			steps: []step{customer("2026-04-08", "acme"), subscribe("2026-04-08", "acme", "s1", "week7"), run("2026-04-13T02:00")},
			want: []wantInvoice{{customer: "acme", period: "[2026-04-06, 2026-04-13)", status: "finalized", total: "12.00", lines: []string{
				"recurring_fee Weekly: 1 × 7.00 = 5.00 [2026-04-08, 2026-04-13) week7/1",
				"recurring_fee Weekly: 1 × 7.00 = 7.00 [2026-04-13, 2026-04-20) week7/1",
			}}},
		},
		{
			// A yearly fee beside a monthly one, from Nov 1 2026: monthly
			// invoices (the shortest interval); the calendar year is the
			// yearly fee's period. November: its 10.00, December's 10.00
			// and the year's first fee [Nov 1 2026, Jan 1 2027) = 61/365 ×
			// 1200 = 200.547… → 200.55: 220.55. December: January's 10.00
			// and the year 2027, 1200.00: 1210.00. January: February's
			// 10.00 alone, the year being paid.
			name:  "yearly fee inside monthly invoices, charged once a year",
			plans: []planSpec{m10, yearly},
			steps: []step{
				customer("2026-11-01", "acme"), subscribe("2026-11-01", "acme", "m", "m10"), subscribe("2026-11-01", "acme", "y", "yearly"),
				run("2027-02-01T02:00"),
			},
			want: []wantInvoice{
				{customer: "acme", period: "[2026-11-01, 2026-12-01)", status: "finalized", total: "220.55", lines: []string{
					"recurring_fee Monthly: 1 × 10.00 = 10.00 [2026-11-01, 2026-12-01) m10/1",
					"recurring_fee Monthly: 1 × 10.00 = 10.00 [2026-12-01, 2027-01-01) m10/1",
					"recurring_fee Yearly: 1 × 1200.00 = 200.55 [2026-11-01, 2027-01-01) yearly/1",
				}},
				{customer: "acme", period: "[2026-12-01, 2027-01-01)", status: "finalized", total: "1210.00", lines: []string{
					"recurring_fee Monthly: 1 × 10.00 = 10.00 [2027-01-01, 2027-02-01) m10/1",
					"recurring_fee Yearly: 1 × 1200.00 = 1200.00 [2027-01-01, 2028-01-01) yearly/1",
				}},
				{customer: "acme", period: "[2027-01-01, 2027-02-01)", status: "finalized", total: "10.00", lines: []string{
					"recurring_fee Monthly: 1 × 10.00 = 10.00 [2027-02-01, 2027-03-01) m10/1",
				}},
			},
		},
	})
}

// TestChangeExamples: upgrades and downgrades mid-period (a credit for the
// unused part of the old fee and a charge for the new fee's remainder),
// at the period's end, and cancellations. Subscribed April 1st unless a row
// says otherwise.
func TestChangeExamples(t *testing.T) {
	t.Parallel()
	runExamples(t, []example{
		{
			// Basic from Apr 1: April 30.00. Upgrade to pro at Apr 16, 15 of
			// 30 days left: credit −30 × 15/30 = −15.00, pro's remainder
			// 60 × 15/30 = 30.00; May at pro 60.00. Bandwidth 300 GiB: Q =
			// 100 × 15/30 + 400 × 15/30 = 250, (300 − 250) at the lower
			// price, pro's 0.05 = 2.50. 30 − 15 + 30 + 60 + 2.50 = 107.50.
			name:  "upgrade mid-period",
			plans: []planSpec{basic, pro},
			steps: []step{
				customer("2026-04-01", "acme"), subscribe("2026-04-01", "acme", "s1", "basic"),
				usedAt("2026-04-05", "acme", "bandwidth_gib", "100", "2026-04-05"),
				changePlan("2026-04-16", "s1", "pro", now),
				usedAt("2026-04-20", "acme", "bandwidth_gib", "200", "2026-04-20"),
				run("2026-05-01T02:00"),
			},
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "107.50", lines: []string{
				"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-04-01, 2026-05-01) basic/1",
				"proration_credit Basic: 1 × 30.00 = -15.00 [2026-04-16, 2026-05-01) basic/1",
				"proration_charge Pro: 1 × 60.00 = 30.00 [2026-04-16, 2026-05-01) pro/1",
				"recurring_fee Pro: 1 × 60.00 = 60.00 [2026-05-01, 2026-06-01) pro/1",
				"overage bandwidth_gib: 50 × 0.05 = 2.50 [2026-04-01, 2026-05-01) pro/1",
			}}},
		},
		{
			// Pro from Apr 1: April 60.00. Downgrade to basic now, Apr 21, 10
			// of 30 days left: −60 × 10/30 = −20.00; basic 30 × 10/30 =
			// 10.00; May at basic 30.00. 60 − 20 + 10 + 30 = 80.00.
			name:  "downgrade mid-period",
			plans: []planSpec{basic, pro},
			steps: []step{
				customer("2026-04-01", "acme"), subscribe("2026-04-01", "acme", "s1", "pro"),
				changePlan("2026-04-21", "s1", "basic", now),
				run("2026-05-01T02:00"),
			},
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "80.00", lines: []string{
				"recurring_fee Pro: 1 × 60.00 = 60.00 [2026-04-01, 2026-05-01) pro/1",
				"proration_credit Pro: 1 × 60.00 = -20.00 [2026-04-21, 2026-05-01) pro/1",
				"proration_charge Basic: 1 × 30.00 = 10.00 [2026-04-21, 2026-05-01) basic/1",
				"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-05-01, 2026-06-01) basic/1",
			}}},
		},
		{
			// Downgrade asked on Apr 21 for the period's end (May 1): no
			// credit or charge; April 60.00 at pro, May at basic 30.00 →
			// 90.00.
			name:  "downgrade at period end",
			plans: []planSpec{basic, pro},
			steps: []step{
				customer("2026-04-01", "acme"), subscribe("2026-04-01", "acme", "s1", "pro"),
				changePlan("2026-04-21", "s1", "basic", atPeriodEnd),
				run("2026-05-01T02:00"),
			},
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "90.00", lines: []string{
				"recurring_fee Pro: 1 × 60.00 = 60.00 [2026-04-01, 2026-05-01) pro/1",
				"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-05-01, 2026-06-01) basic/1",
			}}},
		},
		{
			// Pro from Mar 1: March 60.00 + April 60.00 = 120.00. Cancelled
			// at once on Apr 11, 20 of 30 days unused: −60 × 20/30 =
			// −40.00, no renewal. The negative total is carried to the
			// customer's credit: +40.00, total 0.00.
			name:  "cancellation immediately",
			plans: []planSpec{pro},
			steps: []step{
				customer("2026-03-01", "acme"), subscribe("2026-03-01", "acme", "s1", "pro"),
				cancel("2026-04-11", "s1", now),
				run("2026-05-01T02:00"),
			},
			want: []wantInvoice{
				{customer: "acme", period: march, status: "finalized", total: "120.00", lines: []string{
					"recurring_fee Pro: 1 × 60.00 = 60.00 [2026-03-01, 2026-04-01) pro/1",
					"recurring_fee Pro: 1 × 60.00 = 60.00 [2026-04-01, 2026-05-01) pro/1",
				}},
				{customer: "acme", period: april, status: "finalized", total: "0.00", lines: []string{
					"proration_credit Pro: 1 × 60.00 = -40.00 [2026-04-11, 2026-05-01) pro/1",
					"credit Credit carried to the next invoice: 1 × 40.00 = 40.00 [2026-04-01, 2026-05-01) -",
				}},
			},
		},
		{
			// Pro from Mar 1: March 60.00 + April 60.00 = 120.00. Cancelled
			// on Apr 11 for the period's end: April was paid in March and
			// nothing renews, so April has no line and no invoice.
			name:  "cancellation at period end",
			plans: []planSpec{pro},
			steps: []step{
				customer("2026-03-01", "acme"), subscribe("2026-03-01", "acme", "s1", "pro"),
				cancel("2026-04-11", "s1", atPeriodEnd),
				run("2026-05-01T02:00"),
			},
			want: []wantInvoice{{customer: "acme", period: march, status: "finalized", total: "120.00", lines: []string{
				"recurring_fee Pro: 1 × 60.00 = 60.00 [2026-03-01, 2026-04-01) pro/1",
				"recurring_fee Pro: 1 × 60.00 = 60.00 [2026-04-01, 2026-05-01) pro/1",
			}}},
		},
	})
}

// tierCustomers subscribes one customer per quantity to p on April 1st,
// each using its quantity of API calls in April, and bills April.
func tierCustomers(p planSpec, quantities ...string) []step {
	var steps []step
	for _, q := range quantities {
		steps = append(steps, customer("2026-04-01", "u"+q), subscribe("2026-04-01", "u"+q, "s"+q, p.key),
			usedAt("2026-04-10", "u"+q, "api_calls", q, "2026-04-10"))
	}
	return append(steps, run("2026-05-01T02:00"))
}

// usageInvoice is the April invoice of customer "u<q>" with one usage line
// of q API calls costing amount under plan p (tiers have no unit price).
func usageInvoice(p planSpec, q, amount string) wantInvoice {
	return wantInvoice{customer: "u" + q, period: april, status: "finalized", total: amount, lines: []string{
		"usage api_calls: " + q + " × 0.00 = " + amount + " [2026-04-01, 2026-05-01) " + p.key + "/1",
	}}
}

// TestTierExamples: each tier model at its boundaries, one customer per
// quantity. Tiers: up to 100 at 0.10; up to 1000 at 0.08 plus 1.00 once
// reached; above at 0.05. Packages of 100 at 5.00, the first free.
func TestTierExamples(t *testing.T) {
	t.Parallel()
	runExamples(t, []example{
		{
			// 100: 100 × 0.10 = 10.00. 101: 10.00 + 1 × 0.08 + 1.00 = 11.08.
			// 1000: 10.00 + 900 × 0.08 + 1.00 = 83.00. 1001: 83.00 + 1 ×
			// 0.05 = 83.05.
			name:  "graduated",
			plans: []planSpec{graduated},
			steps: tierCustomers(graduated, "100", "101", "1000", "1001"),
			want: []wantInvoice{usageInvoice(graduated, "100", "10.00"), usageInvoice(graduated, "101", "11.08"),
				usageInvoice(graduated, "1000", "83.00"), usageInvoice(graduated, "1001", "83.05")},
		},
		{
			// 100: 100 × 0.10 = 10.00. 101: 101 × 0.08 + 1.00 = 9.08. 1000:
			// 1000 × 0.08 + 1.00 = 81.00. 1001: 1001 × 0.05 = 50.05.
			name:  "volume",
			plans: []planSpec{volume},
			steps: tierCustomers(volume, "100", "101", "1000", "1001"),
			want: []wantInvoice{usageInvoice(volume, "100", "10.00"), usageInvoice(volume, "101", "9.08"),
				usageInvoice(volume, "1000", "81.00"), usageInvoice(volume, "1001", "50.05")},
		},
		{
			// ⌈U / 100⌉ − 1 free packages × 5.00. 100: 1 − 1 = 0 → 0.00.
			// 101: 2 − 1 = 1 → 5.00. 200: 2 − 1 = 1 → 5.00. 201: 3 − 1 =
			// 2 → 10.00.
			name:  "package with a free package",
			plans: []planSpec{pack},
			steps: tierCustomers(pack, "100", "101", "200", "201"),
			want: []wantInvoice{usageInvoice(pack, "100", "0.00"), usageInvoice(pack, "101", "5.00"),
				usageInvoice(pack, "200", "5.00"), usageInvoice(pack, "201", "10.00")},
		},
	})
}

// TestLifecycleExamples: a draft changed by late usage inside the grace
// period, a backdated plan change after finalization, and a reseller's
// summary.
func TestLifecycleExamples(t *testing.T) {
	t.Parallel()
	runExamples(t, []example{
		{
			// Prepaid calls from Apr 1, 200 calls in April. The run at
			// 00:10 on May 1 is inside the hour of grace: a draft of
			// April's 5.00 + May's 5.00 + 200 × 0.05 = 10.00 → 20.00. 40
			// calls of Apr 30 arrive at 00:20; the run at 00:40 updates the
			// draft (240 × 0.05 = 12.00 → 22.00), each line keeping its id;
			// the run at 01:30 finalizes it (closing April in metering,
			// then rating it again: unchanged), so a call of April sent at
			// 01:40 is refused.
			name:  "late usage inside the grace period changes the draft",
			plans: []planSpec{callsPrepaid},
			steps: []step{
				customer("2026-04-01", "acme"), subscribe("2026-04-01", "acme", "s1", "calls_prepaid"),
				usedAt("2026-04-10", "acme", "api_calls", "100", "2026-04-10"),
				usedAt("2026-04-20", "acme", "api_calls", "100", "2026-04-20"),
				run("2026-05-01T00:10", "1 0 0 0"),
				remember("2026-05-01T00:10", "acme", april),
				usedAt("2026-05-01T00:20", "acme", "api_calls", "40", "2026-04-30T23:00"),
				run("2026-05-01T00:40", "0 1 0 0"),
				sameLineIDs("2026-05-01T00:40", "acme", april),
				// The drafts pass leaves a draft the same run finalizes to
				// the finalizing pass, which rates it again after the close.
				run("2026-05-01T01:30", "0 0 0 1"),
				sameLineIDs("2026-05-01T01:30", "acme", april),
				refusedAt("2026-05-01T01:40", "acme", "api_calls", "1", "2026-04-30T23:30"),
			},
			want: []wantInvoice{{customer: "acme", period: april, status: "finalized", total: "22.00", lines: []string{
				"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-04-01, 2026-05-01) calls_prepaid/1",
				"recurring_fee Monthly: 1 × 5.00 = 5.00 [2026-05-01, 2026-06-01) calls_prepaid/1",
				"usage api_calls: 240 × 0.05 = 12.00 [2026-04-01, 2026-05-01) calls_prepaid/1",
			}}},
		},
		{
			// Basic from Apr 1: April's 30.00 + May's 30.00 = 60.00,
			// finalized on May 1 as MP-2026-000001. On May 10 a change to
			// pro backdated to Apr 16 is recorded. April rated again would
			// be 30 − 15.00 (credit) + 30.00 (pro's remainder) + May at pro
			// 60.00 = 105.00; the finalized invoice stays as it is, and
			// May's invoice carries the difference line by line: the
			// credit −15.00, the charge +30.00, basic's May −30.00 and
			// pro's May +60.00, beside June at pro 60.00: 60 − 15 + 30 − 30
			// + 60 = 105.00. The adjustments come as the service orders
			// them: what the finalized invoice billed and no longer
			// rates (basic's May) first, then the new lines in rating
			// order.
			name:  "backdated plan change after finalization",
			plans: []planSpec{basic, pro},
			steps: []step{
				customer("2026-04-01", "acme"), subscribe("2026-04-01", "acme", "s1", "basic"),
				run("2026-05-01T02:00", "1 0 0 1"),
				backdatedChangePlan("2026-05-10", "s1", "pro", "2026-04-16"),
				run("2026-06-01T02:00", "1 0 0 1"),
			},
			want: []wantInvoice{
				{customer: "acme", period: april, status: "finalized", total: "60.00", lines: []string{
					"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-04-01, 2026-05-01) basic/1",
					"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-05-01, 2026-06-01) basic/1",
				}},
				{customer: "acme", period: may, status: "finalized", total: "105.00", lines: []string{
					"recurring_fee Pro: 1 × 60.00 = 60.00 [2026-06-01, 2026-07-01) pro/1",
					"adjustment Adjustment of MP-2026-000001: 1 × -30.00 = -30.00 [2026-05-01, 2026-06-01) basic/1",
					"adjustment Unused Basic: 1 × -15.00 = -15.00 [2026-04-16, 2026-05-01) basic/1",
					"adjustment Remainder of Pro after the change: 1 × 30.00 = 30.00 [2026-04-16, 2026-05-01) pro/1",
					"adjustment Adjustment of MP-2026-000001: 1 × 60.00 = 60.00 [2026-05-01, 2026-06-01) pro/1",
				}},
			},
		},
		{
			// Clouder resells to alpha (basic from Apr 1: 30.00 + May's
			// 30.00 = 60.00 USD), beta (300 calls × 0.05 = 15.00 USD) and
			// gamma (basic in EUR: 60.00 EUR). The summary of April lists
			// the three invoices and totals 75.00 USD and 60.00 EUR.
			name:  "reseller summary",
			plans: []planSpec{basic, calls, basicEUR},
			steps: []step{
				customer("2026-04-01", "clouder"),
				customer("2026-04-01", "alpha", childOf("clouder")), subscribe("2026-04-01", "alpha", "a", "basic"),
				customer("2026-04-01", "beta", childOf("clouder")), subscribe("2026-04-01", "beta", "b", "calls"),
				customer("2026-04-01", "gamma", childOf("clouder"), payingIn("EUR")), subscribe("2026-04-01", "gamma", "g", "basic_eur"),
				used("beta", "api_calls", 300, "2026-04-01", "2026-05-01"),
				run("2026-05-01T02:00", "3 0 0 3"),
			},
			want: []wantInvoice{
				{customer: "alpha", period: april, status: "finalized", total: "60.00", lines: []string{
					"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-04-01, 2026-05-01) basic/1",
					"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-05-01, 2026-06-01) basic/1",
				}},
				{customer: "beta", period: april, status: "finalized", total: "15.00", lines: []string{
					"usage api_calls: 300 × 0.05 = 15.00 [2026-04-01, 2026-05-01) calls/1",
				}},
				{customer: "gamma", period: april, status: "finalized", total: "60.00", lines: []string{
					"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-04-01, 2026-05-01) basic_eur/1",
					"recurring_fee Basic: 1 × 30.00 = 30.00 [2026-05-01, 2026-06-01) basic_eur/1",
				}},
			},
			summary: &wantSummary{reseller: "clouder", period: april,
				invoices: []string{"alpha 60.00 USD", "beta 15.00 USD", "gamma 60.00 EUR"},
				totals:   []string{"60.00 EUR", "75.00 USD"}},
		},
	})
}
