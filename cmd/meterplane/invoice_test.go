package main_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// raw sends a request to the gateway, with body as JSON unless empty, and
// returns the status, the Content-Type and the body as sent.
func (r *running) raw(t *testing.T, method, path, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+r.HTTPAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), out
}

// checkDemoInvoice: --demo leaves one finalized invoice of the invoice
// demo customer, however often seeded, whose PDF and HTML documents the
// gateway serves as themselves.
func checkDemoInvoice(t *testing.T, r *running, customerID string) {
	t.Helper()
	code, body := r.http(t, "GET", "/v1/customers/"+customerID+"/invoices?status=INVOICE_STATUS_FINALIZED", "")
	invs, _ := body["invoices"].([]any)
	if code != 200 || len(invs) != 1 {
		t.Fatalf("finalized demo invoices = %d %v, want one", code, body)
	}
	inv := invs[0].(map[string]any)
	if !regexp.MustCompile(`^MP-\d{4}-\d{6}$`).MatchString(inv["number"].(string)) ||
		!regexp.MustCompile(`^\d+\.\d{2}$`).MatchString(inv["total"].(string)) {
		t.Fatalf("demo invoice = %v", inv)
	}
	id := inv["invoiceId"].(string)
	code, ct, pdf := r.raw(t, "GET", "/v1/invoices/"+id+"/document.pdf", "")
	if code != 200 || ct != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("document.pdf = %d %q %.40q", code, ct, pdf)
	}
	code, ct, html := r.raw(t, "GET", "/v1/invoices/"+id+"/document.html", "")
	if code != 200 || ct != "text/html; charset=utf-8" || !strings.Contains(string(html), inv["number"].(string)) {
		t.Fatalf("document.html = %d %q %.200s", code, ct, html)
	}
	code, body = r.http(t, "GET", "/v1/invoices/"+id, "")
	lines, _ := body["invoice"].(map[string]any)["lines"].([]any)
	if code != 200 || len(lines) == 0 {
		t.Fatalf("GET the demo invoice = %d %v", code, body)
	}
}

// TestInvoiceBadInput: bad input over HTTP is 400 naming the field, never
// a 500: NUL and invalid UTF-8 in ids, years 1 and 9999, reversed periods,
// huge page sizes are clamped, unknown invoices are 404.
func TestInvoiceBadInput(t *testing.T) {
	t.Parallel()
	r := start(t, []string{"DATABASE_URL=", "REDIS_URL=", "MP_DATA_DIR=" + t.TempDir()})
	for _, c := range []struct {
		method, path, body string
		code               int
		field              string
	}{
		{"GET", "/v1/invoices/inv%00x", "", 400, ""},
		{"GET", "/v1/invoices/inv%FFx", "", 400, ""},
		{"GET", "/v1/invoices/inv_none", "", 404, ""},
		{"GET", "/v1/invoices/" + strings.Repeat("x", 300), "", 400, "invoice_id"},
		{"GET", "/v1/invoices/inv_none/document.pdf", "", 404, ""},
		{"POST", "/v1/billingRuns", `{"asOf": "0001-01-01T00:00:00Z"}`, 400, "as_of"},
		{"POST", "/v1/billingRuns", `{"asOf": "9999-12-31T00:00:00Z"}`, 400, "as_of"},
		{"POST", "/v1/billingRuns", `{"asOf": "2999-01-01T00:00:00Z"}`, 400, "as_of"},
		{"GET", "/v1/invoices?period.start=2026-03-01T00:00:00Z&period.end=2026-02-01T00:00:00Z", "", 400, "period.end"},
		{"GET", "/v1/invoices?period.start=2026-03-01T00:00:00Z&period.end=9999-01-01T00:00:00Z", "", 400, ""},
		{"GET", "/v1/invoices?pageSize=-1", "", 400, "page_size"},
		{"GET", "/v1/invoices?pageSize=2000000000", "", 200, ""},
		{"GET", "/v1/invoices?pageSize=99999999999999", "", 400, ""},
		{"GET", "/v1/invoices?status=INVOICE_STATUS_NOPE", "", 400, ""},
		{"GET", "/v1/billingRuns?pageToken=%21%21", "", 400, "page_token"},
		{"POST", "/v1/invoices/inv_none/creditNotes", `{"amount": "1e9"}`, 400, "amount"},
		{"POST", "/v1/invoices/inv_none/creditNotes", `{"amount": "99999999999999999999999999999.99"}`, 400, "amount"},
		{"POST", "/v1/invoices/inv_none/creditNotes", `{"amount": "5.00", "reason": "a\u0000b"}`, 400, ""},
		{"POST", "/v1/invoices/inv_none:finalize", `{}`, 404, ""},
		{"GET", "/v1/customers/c1/resellerSummary", "", 400, "period"},
	} {
		code, _, raw := r.raw(t, c.method, c.path, c.body)
		if code != c.code || !strings.Contains(string(raw), c.field) {
			t.Errorf("%s %s %s = %d %s, want %d naming %q", c.method, c.path, c.body, code, raw, c.code, c.field)
		}
	}
}

// TestInvoiceEndToEnd runs the product from plan to PDF over HTTP: the
// demo catalog's hosting_50 (49.00 a month in advance, prorated; 500 GiB
// of bandwidth included, 0.10 per GiB above), a customer subscribed from
// the first of last month, a site reserved and committed through quota,
// 600 GiB of bandwidth last month, a billing run, the invoice finalized and
// its PDF downloaded and read back with pdftotext. Last month's invoice:
// its first fee 49.00 + this month's advance fee 49.00 + (600 − 500) ×
// 0.10 = 10.00 → 108.00.
func TestInvoiceEndToEnd(t *testing.T) {
	t.Parallel()
	r := start(t, []string{"DATABASE_URL=", "REDIS_URL=", "MP_DATA_DIR=" + t.TempDir()}, "--demo")
	invoiceFlow(t, r, "e2e")
}

// invoiceFlow takes a new customer through the product over r's HTTP API,
// which has the demo's hosting_50 plan and its bandwidth and sites meters:
// subscribed since last month, one site reserved and committed, 600 GiB of
// bandwidth last month, a billing run, last month's invoice finalized
// (49 + 49 + 100 GiB over 500 at 0.10 = 108.00) and its PDF. name keeps
// its customer and keys apart from other flows'.
func invoiceFlow(t *testing.T, r *running, name string) {
	t.Helper()
	now := time.Now().UTC()
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	lastMonth := thisMonth.AddDate(0, -1, 0)

	post := func(path, body string) map[string]any {
		t.Helper()
		code, out := r.http(t, "POST", path, body)
		if code != 200 {
			t.Fatalf("POST %s %s = %d %v", path, body, code, out)
		}
		return out
	}
	cus := post("/v1/customers", `{"customer": {"externalId": "`+name+`-invoice", "name": "Fjord Hosting AS", "email": "billing@fjord.example", "currency": "EUR"}, "idempotencyKey": "`+name+`-inv-c"}`)
	id := cus["customer"].(map[string]any)["customerId"].(string)
	post("/v1/customers/"+id+"/subscriptions", fmt.Sprintf(`{"planId": "hosting_50", "startTime": %q, "backdateReason": "migrated customer", "idempotencyKey": "`+name+`-inv-s"}`,
		lastMonth.Format(time.RFC3339)))
	res := post("/v1/customers/"+id+"/quota:reserve", `{"items": [{"featureKey": "sites", "quantity": "1"}], "idempotencyKey": "`+name+`-inv-r"}`)
	resID := res["reservation"].(map[string]any)["reservationId"].(string)
	post("/v1/reservations/"+resID+":commit", `{"subjects": ["fjord-site-1"], "idempotencyKey": "`+name+`-inv-k"}`)
	for i, q := range []string{"250", "350"} {
		post("/v1/events", fmt.Sprintf(`{"customerId": %q, "meterKey": "bandwidth", "quantity": %q, "time": %q, "idempotencyKey": "%s-bw-%d"}`,
			id, q, lastMonth.AddDate(0, 0, 10+i).Format(time.RFC3339), name, i))
	}

	run := post("/v1/billingRuns", `{"idempotencyKey": "`+name+`-inv-run"}`)["billingRun"].(map[string]any)
	if run["status"] != "BILLING_RUN_STATUS_COMPLETED" || run["failures"] != "0" {
		t.Fatalf("billing run = %v", run)
	}
	code, body := r.http(t, "GET", "/v1/customers/"+id+"/invoices", "")
	invs, _ := body["invoices"].([]any)
	if code != 200 || len(invs) != 1 {
		t.Fatalf("invoices = %d %v, want last month's", code, body)
	}
	inv := invs[0].(map[string]any)
	if inv["status"] == "INVOICE_STATUS_DRAFT" { // inside the grace period, just after midnight on the 1st
		inv = post("/v1/invoices/"+inv["invoiceId"].(string)+":finalize", `{"idempotencyKey": "`+name+`-inv-f"}`)["invoice"].(map[string]any)
	}
	code, body = r.http(t, "GET", "/v1/invoices/"+inv["invoiceId"].(string), "")
	inv = body["invoice"].(map[string]any)
	var amounts []string
	for _, l := range inv["lines"].([]any) {
		amounts = append(amounts, l.(map[string]any)["amount"].(string))
	}
	if code != 200 || inv["status"] != "INVOICE_STATUS_FINALIZED" || inv["total"] != "108.00" ||
		!slices.Equal(amounts, []string{"49.00", "49.00", "10.00"}) {
		t.Fatalf("last month's invoice = %d %v", code, inv)
	}

	code, ct, pdf := r.raw(t, "GET", "/v1/invoices/"+inv["invoiceId"].(string)+"/document.pdf", "")
	if code != 200 || ct != "application/pdf" {
		t.Fatalf("document.pdf = %d %q", code, ct)
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, want := range []string{inv["number"].(string), "Fjord Hosting AS", "108.00", "10.00"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
}
