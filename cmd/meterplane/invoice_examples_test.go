package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// seedPlans are the plans of the Commerce metered-billing seed as the
// catalog's HTTP API takes them: $0.05 per API call, $5 a month in
// advance (prepaid) or in arrears (postpaid), 150 calls free; sites at $5
// per site-month, or 5 free and then $0.02.
var seedPlans = map[string]string{
	"calls":           `[{"key": "c1", "usage": {"featureKey": "api_calls", "model": "PRICING_MODEL_PER_UNIT", "unitPrice": "0.05"}}], "entitlements": []`,
	"calls_prepaid":   `[` + monthlyFee("FEE_TIMING_IN_ADVANCE") + `, {"key": "c2", "usage": {"featureKey": "api_calls", "model": "PRICING_MODEL_PER_UNIT", "unitPrice": "0.05"}}], "entitlements": []`,
	"free150":         `[` + monthlyFee("FEE_TIMING_IN_ARREARS") + `], "entitlements": [` + free150 + `]`,
	"free150_prepaid": `[` + monthlyFee("FEE_TIMING_IN_ADVANCE") + `], "entitlements": [` + free150 + `]`,
	"sites5":          `[{"key": "c1", "usage": {"featureKey": "sites", "model": "PRICING_MODEL_PER_UNIT", "unitPrice": "5"}}], "entitlements": []`,
	"sites_free5": `[{"key": "c1", "usage": {"featureKey": "sites", "model": "PRICING_MODEL_PER_UNIT", "unitPrice": "0.02"}}],
		"entitlements": [{"featureKey": "sites", "includedQuantity": "5", "limitPolicy": "LIMIT_POLICY_SOFT"}]`,
}

func monthlyFee(timing string) string {
	return fmt.Sprintf(`{"key": "c1", "description": "Monthly", "recurring": {"amount": "5", "timing": %q, "prorated": false}}`, timing)
}

const free150 = `{"featureKey": "api_calls", "includedQuantity": "150", "limitPolicy": "LIMIT_POLICY_SOFT",
	"overagePrice": "0.05", "resetPeriod": "RESET_PERIOD_BILLING_PERIOD"}`

// TestCommerceSeedOverHTTP bills the Commerce seed's worked examples end
// to end over HTTP against the real binary, whose clock is the system's:
// each customer is subscribed from the first of the month before last
// (M2, backdated), uses its plan in last month (M1), and one billing run
// over POST /v1/billingRuns bills both months. The invoices are read over
// GET /v1/customers/{id}/invoices and GET /v1/invoices/{id}, line by line.
// Periods below name the months: M2, M1, M0 (this month) and M+1.
func TestCommerceSeedOverHTTP(t *testing.T) {
	t.Parallel()
	r := start(t, []string{"DATABASE_URL=", "REDIS_URL=", "MP_DATA_DIR=" + t.TempDir()})
	now := time.Now().UTC()
	m0 := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	months := map[string]time.Time{"M2": m0.AddDate(0, -2, 0), "M1": m0.AddDate(0, -1, 0), "M0": m0, "M+1": m0.AddDate(0, 1, 0)}
	m1, mid := months["M1"], months["M1"].Add(m0.Sub(months["M1"])/2)
	keys := 0
	// post sends body with an idempotency key of its own, unless body is
	// an events batch (each event has its key).
	post := func(path, body string) map[string]any {
		t.Helper()
		if !strings.HasPrefix(path, "/v1/events") {
			keys++
			key, rest := fmt.Sprintf(`{"idempotencyKey": "seed-%d"`, keys), strings.TrimSpace(strings.TrimPrefix(body, "{"))
			if body = key + ", " + rest; rest == "}" {
				body = key + "}"
			}
		}
		code, out := r.http(t, "POST", path, body)
		if code != 200 {
			t.Fatalf("POST %s %s = %d %v", path, body, code, out)
		}
		return out
	}
	get := func(path string) map[string]any {
		t.Helper()
		code, out := r.http(t, "GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s = %d %v", path, code, out)
		}
		return out
	}
	post("/v1/features", `{"feature": {"key": "api_calls", "name": "API calls", "unit": "call", "kind": "FEATURE_KIND_COUNTER"}}`)
	post("/v1/features", `{"feature": {"key": "sites", "name": "Sites", "unit": "site", "kind": "FEATURE_KIND_GAUGE"}}`)
	post("/v1/meters", `{"meter": {"key": "api_calls", "featureKey": "api_calls", "aggregation": "AGGREGATION_SUM"}}`)
	post("/v1/meters", `{"meter": {"key": "sites", "featureKey": "sites", "aggregation": "AGGREGATION_TIME_WEIGHTED"}}`)
	for key, charges := range seedPlans {
		post("/v1/plans", fmt.Sprintf(`{"plan": {"key": %q, "name": %q, "currency": "USD",
			"billingInterval": {"unit": "INTERVAL_UNIT_MONTH", "count": 1}}, "draft": {"charges": %s}}`, key, key, charges))
		post("/v1/plans/"+key+":publish", `{}`)
	}

	// Usage of last month: n calls spread over it, or sites from a time.
	at := func(t time.Time) string { return t.Format(time.RFC3339) }
	calls := func(n int) func(string) []string {
		return func(cus string) []string {
			var events []string
			for i := range n {
				events = append(events, fmt.Sprintf(`{"customerId": %q, "meterKey": "api_calls", "quantity": "1", "time": %q, "idempotencyKey": "%s-call-%d"}`,
					cus, at(m1.Add(time.Duration(i)*time.Hour)), cus, i))
			}
			return events
		}
	}
	sites := func(from time.Time, first, n int) func(string) []string {
		return func(cus string) []string {
			var events []string
			for i := first; i < first+n; i++ {
				events = append(events, fmt.Sprintf(`{"customerId": %q, "meterKey": "sites", "subject": "site-%d", "quantity": "1", "time": %q, "idempotencyKey": "%s-site-%d"}`,
					cus, i, at(from), cus, i))
			}
			return events
		}
	}
	both := func(a, b func(string) []string) func(string) []string {
		return func(cus string) []string { return append(a(cus), b(cus)...) }
	}

	var checks []func() // one per customer, after the run
	type invoice struct {
		total string
		lines []string
	}
	for _, tc := range []struct {
		name, plan string
		usage      func(customerID string) []string
		want       map[string]invoice // by the month the invoice bills
	}{
		{
			// 300 calls × 0.05 = 15.00; M2 has no line and no invoice.
			name: "counter, no free usage, postpaid", plan: "calls", usage: calls(300),
			want: map[string]invoice{"M1": {"15.00", []string{"usage api_calls: 300 × 0.05 = 15.00 [M1, M0) calls/1"}}},
		},
		{
			// M2: its fee 5.00 + M1's 5.00. M1: M0's 5.00 + 15.00 = 20.00.
			name: "counter, no free usage, prepaid $5 a month", plan: "calls_prepaid", usage: calls(300),
			want: map[string]invoice{
				"M2": {"10.00", []string{"recurring_fee Monthly: 1 × 5.00 = 5.00 [M2, M1) calls_prepaid/1", "recurring_fee Monthly: 1 × 5.00 = 5.00 [M1, M0) calls_prepaid/1"}},
				"M1": {"20.00", []string{"recurring_fee Monthly: 1 × 5.00 = 5.00 [M0, M+1) calls_prepaid/1", "usage api_calls: 300 × 0.05 = 15.00 [M1, M0) calls_prepaid/1"}},
			},
		},
		{
			// M2: its fee in arrears 5.00. M1: its 5.00 + (300 − 150) × 0.05
			// = 7.50 → 12.50.
			name: "counter, free usage 150, postpaid $5 a month", plan: "free150", usage: calls(300),
			want: map[string]invoice{
				"M2": {"5.00", []string{"recurring_fee Monthly: 1 × 5.00 = 5.00 [M2, M1) free150/1"}},
				"M1": {"12.50", []string{"recurring_fee Monthly: 1 × 5.00 = 5.00 [M1, M0) free150/1", "overage api_calls: 150 × 0.05 = 7.50 [M1, M0) free150/1"}},
			},
		},
		{
			// M2: 5.00 + M1's 5.00. M1: M0's 5.00 + 7.50 = 12.50.
			name: "counter, free usage 150, prepaid $5 a month", plan: "free150_prepaid", usage: calls(300),
			want: map[string]invoice{
				"M2": {"10.00", []string{"recurring_fee Monthly: 1 × 5.00 = 5.00 [M2, M1) free150_prepaid/1", "recurring_fee Monthly: 1 × 5.00 = 5.00 [M1, M0) free150_prepaid/1"}},
				"M1": {"12.50", []string{"recurring_fee Monthly: 1 × 5.00 = 5.00 [M0, M+1) free150_prepaid/1", "overage api_calls: 150 × 0.05 = 7.50 [M1, M0) free150_prepaid/1"}},
			},
		},
		{
			// 4 sites all month × 5.00 = 20.00.
			name: "gauge, 4 usages at $5 per usage-month", plan: "sites5", usage: sites(m1, 1, 4),
			want: map[string]invoice{"M1": {"20.00", []string{"usage sites: 4 × 5.00 = 20.00 [M1, M0) sites5/1"}}},
		},
		{
			// 2 sites all month, 2 more from its middle: 3 site-months × 5.00 =
			// 15.00.
			name: "gauge, 2 usages then 4 from mid-month", plan: "sites5", usage: both(sites(m1, 1, 2), sites(mid, 3, 2)),
			want: map[string]invoice{"M1": {"15.00", []string{"usage sites: 3 × 5.00 = 15.00 [M1, M0) sites5/1"}}},
		},
		{
			// 5 site-months, 5 free: 0 × 0.02 = 0.00.
			name: "gauge, free usage 5, 5 usages", plan: "sites_free5", usage: sites(m1, 1, 5),
			want: map[string]invoice{"M1": {"0.00", []string{"usage sites: 0 × 0.02 = 0.00 [M1, M0) sites_free5/1"}}},
		},
		{
			// 10 site-months, 5 free: 5 × 0.02 = 0.10.
			name: "gauge, free usage 5, 10 usages", plan: "sites_free5", usage: sites(m1, 1, 10),
			want: map[string]invoice{"M1": {"0.10", []string{"usage sites: 5 × 0.02 = 0.10 [M1, M0) sites_free5/1"}}},
		},
	} {
		cus := post("/v1/customers", fmt.Sprintf(`{"customer": {"name": %q, "currency": "USD"}}`, tc.name))
		id := cus["customer"].(map[string]any)["customerId"].(string)
		post("/v1/customers/"+id+"/subscriptions", fmt.Sprintf(`{"planId": %q, "startTime": %q, "backdateReason": "seed example"}`,
			tc.plan, at(months["M2"])))
		events := tc.usage(id)
		res := post("/v1/events:batch", `{"events": [`+strings.Join(events, ", ")+`]}`)
		if res["accepted"] != float64(len(events)) {
			t.Fatalf("%s: %v of %d events accepted, %v rejected", tc.name, res["accepted"], len(events), res["rejected"])
		}
		checks = append(checks, func() {
			checkSeedInvoices(t, get, post, id, months, tc.name, func(month string) (string, []string, bool) {
				w, ok := tc.want[month]
				return w.total, w.lines, ok
			})
		})
	}
	run := post("/v1/billingRuns", `{}`)["billingRun"].(map[string]any)
	if run["status"] != "BILLING_RUN_STATUS_COMPLETED" || run["failures"] != "0" {
		t.Fatalf("billing run = %v", run)
	}
	for _, check := range checks {
		check()
	}
}

// checkSeedInvoices compares the invoices of customer id with want, which
// gives the total and lines of the invoice of a month ("M1"), or false if
// the month has none. A draft (just after midnight on the 1st, inside the
// grace period) is finalized first.
func checkSeedInvoices(t *testing.T, get func(string) map[string]any, post func(string, string) map[string]any,
	id string, months map[string]time.Time, name string, want func(month string) (string, []string, bool)) {
	t.Helper()
	label := map[string]string{}
	for m, at := range months {
		label[at.Format("2006-01-02")] = m
	}
	day := func(s any) string {
		at, err := time.Parse(time.RFC3339, s.(string))
		if err != nil {
			t.Fatal(err)
		}
		if l, ok := label[at.Format("2006-01-02")]; ok && at.Equal(months[l]) {
			return l
		}
		return at.Format(time.RFC3339)
	}
	seen := 0
	for _, v := range get("/v1/customers/" + id + "/invoices")["invoices"].([]any) {
		inv := v.(map[string]any)
		if inv["status"] == "INVOICE_STATUS_DRAFT" {
			post("/v1/invoices/"+inv["invoiceId"].(string)+":finalize", `{}`)
		}
		inv = get("/v1/invoices/" + inv["invoiceId"].(string))["invoice"].(map[string]any)
		month := day(inv["period"].(map[string]any)["start"])
		total, lines, ok := want(month)
		if !ok {
			t.Errorf("%s: unexpected invoice of %s: %v", name, month, inv)
			continue
		}
		seen++
		var got []string
		for _, l := range inv["lines"].([]any) {
			l := l.(map[string]any)
			what, _ := l["featureKey"].(string)
			if what == "" {
				what = l["description"].(string)
			}
			p := l["period"].(map[string]any)
			got = append(got, fmt.Sprintf("%s %s: %s × %s = %s [%s, %s) %s/%v", strings.ToLower(strings.TrimPrefix(l["kind"].(string), "LINE_KIND_")),
				what, l["quantity"], l["unitPrice"], l["amount"], day(p["start"]), day(p["end"]), l["planKey"], l["planVersion"]))
		}
		if inv["status"] != "INVOICE_STATUS_FINALIZED" || inv["total"] != total || !seedLinesMatch(got, lines) {
			t.Errorf("%s, invoice of %s: %s total %s, lines:\n  %s\nwant total %s, lines:\n  %s", name, month, inv["status"], inv["total"],
				strings.Join(got, "\n  "), total, strings.Join(lines, "\n  "))
		}
	}
	expected := 0
	for m := range months {
		if _, _, ok := want(m); ok {
			expected++
		}
	}
	if seen != expected {
		t.Errorf("%s: %d invoices, want %d", name, seen, expected)
	}
}

// seedLinesMatch compares lines written "kind what: values", where a
// wanted what is a feature or a fragment of the description.
func seedLinesMatch(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		gHead, gValues, _ := strings.Cut(got[i], ": ")
		wHead, wValues, _ := strings.Cut(want[i], ": ")
		gKind, gWhat, _ := strings.Cut(gHead, " ")
		wKind, wWhat, _ := strings.Cut(wHead, " ")
		if gKind != wKind || gValues != wValues || !strings.Contains(gWhat, wWhat) {
			return false
		}
	}
	return true
}
