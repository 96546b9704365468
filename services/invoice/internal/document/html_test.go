package document

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendered output; run go test -update and review the diff", path)
	}
}

func renderHTML(t *testing.T, d Document) string {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderHTML(&buf, d); err != nil {
		t.Fatalf("RenderHTML: %v", err)
	}
	return buf.String()
}

func TestHTMLGolden(t *testing.T) {
	t.Parallel()
	golden(t, "invoice.html", []byte(renderHTML(t, sample())))
}

func TestHTMLContent(t *testing.T) {
	t.Parallel()
	page := renderHTML(t, sample())
	for _, want := range []string{
		"<title>Invoice MP-2026-000123</title>",
		"Meterplane Demo GmbH", "8000 Zürich", "Tax ID CHE-123.456.789",
		"FINALIZED", "Issued 2 Apr 2026", "Period 1 Mar 2026 – 31 Mar 2026",
		"Zoë Müller-Łukasiewicz", "Customer ID crm-4711", "zoe@example.org",
		"Sites package 50, monthly fee in advance", "1 Apr 2026 – 30 Apr 2026",
		"Bandwidth above the 100 GiB included", "1 Mar 2026 – 15 Mar 2026 14:30",
		`<td class="num">23.5</td>`, `<td class="num">0.10</td>`, `<td class="num">2.35</td>`,
		"EUR 51.35", "Credit applied", "EUR 5.00", "EUR 46.35",
		"Payment within 30 days.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestHTMLDraftWithoutCredit(t *testing.T) {
	t.Parallel()
	d := sample()
	d.Number, d.Status, d.CreditApplied, d.Total = "", "DRAFT", "0.00", "51.35"
	page := renderHTML(t, d)
	if !strings.Contains(page, "<h1>Invoice DRAFT</h1>") {
		t.Error("a draft's heading is not \"Invoice DRAFT\"")
	}
	if strings.Contains(page, "Credit applied") {
		t.Error("a credit of 0.00 is shown")
	}
}

func TestHTMLEscapesHostileText(t *testing.T) {
	t.Parallel()
	d := sample()
	d.Customer.Name = `<script>alert("x")</script>`
	d.Lines[0].Description = `"><img src=x onerror=alert(1)>`
	d.Notes = `</div><script>steal()</script>`
	page := renderHTML(t, d)
	for _, bad := range []string{"<script>", "<img", "</div><script>"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q unescaped", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
		"&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"&lt;/div&gt;&lt;script&gt;steal()&lt;/script&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks the escaped %q", want)
		}
	}
}

func TestHTMLInvalidUTF8(t *testing.T) {
	t.Parallel()
	d := sample()
	d.Customer.Name = "Zo\xebe"
	d.Lines[0].Description = "\xff\xfe broken"
	page := renderHTML(t, d)
	if !utf8.ValidString(page) {
		t.Error("the page is not valid UTF-8")
	}
	if !strings.Contains(page, "Zo\uFFFDe") {
		t.Error("the invalid byte is not shown as U+FFFD")
	}
}
