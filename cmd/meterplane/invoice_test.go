package main_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
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
