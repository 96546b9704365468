package document

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// poppler runs one of poppler-utils' programs. The PDF is checked by what a
// reader sees, not by its bytes, so these tools are required: a machine
// without them fails the test instead of skipping it (.ci/run installs
// poppler-utils).
func poppler(t *testing.T, tool string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Fatalf("%s is required to check PDFs (apt-get install poppler-utils): %v", tool, err)
	}
	out, err := exec.CommandContext(t.Context(), path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writePDF renders d into a file of the test's own directory.
func writePDF(t *testing.T, d Document) string {
	t.Helper()
	var buf bytes.Buffer
	if err := RenderPDF(&buf, d); err != nil {
		t.Fatalf("RenderPDF: %v", err)
	}
	path := filepath.Join(t.TempDir(), "invoice.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var blanks = regexp.MustCompile(`\s+`)

// pdfText is the PDF's text as pdftotext lays it out, with each run of
// blanks made one space so that columns read as phrases ("Total EUR 46.35").
// first and last select pages; 0 means all.
func pdfText(t *testing.T, path string, first, last int) string {
	t.Helper()
	args := []string{"-layout"}
	if first > 0 {
		args = append(args, "-f", strconv.Itoa(first), "-l", strconv.Itoa(last))
	}
	return blanks.ReplaceAllString(poppler(t, "pdftotext", append(args, path, "-")...), " ")
}

// pdfPages is the page count pdfinfo reports.
func pdfPages(t *testing.T, path string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindStringSubmatch(poppler(t, "pdfinfo", path))
	if m == nil {
		t.Fatal("pdfinfo reports no page count")
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func TestPDFText(t *testing.T) {
	t.Parallel()
	path := writePDF(t, sample())
	if n := pdfPages(t, path); n != 1 {
		t.Errorf("pages = %d, want 1", n)
	}
	text := pdfText(t, path, 0, 0)
	for _, want := range []string{
		"Meterplane Demo GmbH", "Invoice MP-2026-000123", "8000 Zürich",
		"Status FINALIZED", "Issued 2 Apr 2026", "Period 1 Mar 2026 – 31 Mar 2026",
		"Zoë Müller-Łukasiewicz", "Rue de l'Église 5", "Customer ID crm-4711",
		"Description Period Quantity Unit Unit price Amount",
		"Sites package 50, monthly fee in advance 1 Apr 2026 – 30 Apr 2026 1 month 49.00 49.00",
		"Bandwidth above the 100 GiB included 1 Mar 2026 – 15 Mar 2026 14:30 23.5 GiB 0.10 2.35",
		"Subtotal EUR 51.35", "Credit applied EUR 5.00", "Total EUR 46.35",
		"Notes Payment within 30 days. Thank you for your business.",
		"Meterplane Demo GmbH · Invoice MP-2026-000123 Page 1 of 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q; it is:\n%s", want, text)
		}
	}
	info := poppler(t, "pdfinfo", path)
	if !strings.Contains(info, "Invoice MP-2026-000123") || !regexp.MustCompile(`CreationDate:\s+Thu Apr  2 09:00:00 2026 UTC`).MatchString(info) {
		t.Errorf("pdfinfo lacks the title or the issue date as creation date:\n%s", info)
	}
}

func TestPDFDraft(t *testing.T) {
	t.Parallel()
	d := sample()
	d.Number, d.Status, d.IssueDate, d.CreditApplied, d.Total = "", "DRAFT", time.Time{}, "0.00", "51.35"
	text := pdfText(t, writePDF(t, d), 0, 0)
	for _, want := range []string{"Invoice DRAFT", "Status DRAFT", "Total EUR 51.35", "Page 1 of 1"} {
		if !strings.Contains(text, want) {
			t.Errorf("the draft's text lacks %q", want)
		}
	}
	for _, unwanted := range []string{"Issued", "Credit applied"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("the draft shows %q", unwanted)
		}
	}
}

// longInvoice has n one-line rows and no credit or notes; its parties are
// chosen so that the page arithmetic in TestPDFLongInvoice is short.
func longInvoice(n int) Document {
	d := sample()
	d.Seller.Address = []string{"Musterstrasse 1", "8000 Zürich"}
	d.Seller.Email, d.Seller.TaxID = "", ""
	d.Customer.Address = []string{"1003 Lausanne"}
	d.Customer.Email, d.Customer.ExternalID = "", ""
	d.CreditApplied, d.Notes = "", ""
	d.Lines = nil
	for i := range n {
		d.Lines = append(d.Lines, Line{
			Description: fmt.Sprintf("Site %03d hosting", i+1),
			PeriodFrom:  day(2026, 3, 1), PeriodTo: day(2026, 4, 1),
			Quantity: "1", Unit: "site", UnitPrice: "2.00", Amount: "2.00",
		})
	}
	d.Subtotal = fmt.Sprintf("%d.00", 2*n) // n lines of 2.00
	d.Total = d.Subtotal
	return d
}

// TestPDFLongInvoice checks the page breaks of a 300-line invoice against
// the layout's constants, all in points:
//
//	first page: the header block is max(seller 17 + 2×12 = 41, title 21 +
//	status, issue date, period 3×12 = 57) + 20 = 77 high; the customer
//	block max(label 11 + name 13 + one address line 12 = 36, currency
//	11 + 13 = 24) + 16 = 52. The table header (18) starts at 40 + 77 + 52 =
//	169, rows at 187. A row is 3 + 11 + 3 = 17 and must end by 842 − 50 =
//	792: 187 + 17k ≤ 792 gives k ≤ 35.6, so rows 1–35 are on page 1.
//	other pages: the table header starts at 66, rows at 84; 84 + 17k ≤ 792
//	gives k ≤ 41.6, so 41 rows a page: rows 36–76 on page 2, …, 6 full
//	pages take rows 36–281, and page 8 has rows 282–300 (19 rows).
//	totals: 10 + 2×16 + 4 = 46 high after 84 + 19×17 = 407, so they fit on
//	page 8. 8 pages in all.
func TestPDFLongInvoice(t *testing.T) {
	t.Parallel()
	path := writePDF(t, longInvoice(300))
	const pages = 8
	if n := pdfPages(t, path); n != pages {
		t.Fatalf("pages = %d, want %d", n, pages)
	}
	// firstRow[p] is the first row on page p+1, by the arithmetic above.
	firstRow := []int{1, 36, 77, 118, 159, 200, 241, 282, 301}
	for p := 1; p <= pages; p++ {
		text := pdfText(t, path, p, p)
		for _, want := range []string{
			"Invoice MP-2026-000123",
			"Description Period Quantity Unit Unit price Amount",
			fmt.Sprintf("Page %d of %d", p, pages),
		} {
			if !strings.Contains(text, want) {
				t.Errorf("page %d lacks %q", p, want)
			}
		}
		rows := regexp.MustCompile(`Site (\d{3}) hosting`).FindAllStringSubmatch(text, -1)
		var got []int
		for _, r := range rows {
			n, _ := strconv.Atoi(r[1])
			got = append(got, n)
		}
		from, to := firstRow[p-1], firstRow[p]-1
		if len(got) != to-from+1 || got[0] != from || got[len(got)-1] != to {
			t.Errorf("page %d has rows %v, want %d to %d", p, got, from, to)
		}
	}
	if last := pdfText(t, path, pages, pages); !strings.Contains(last, "Total EUR 600.00") { // 300 × 2.00
		t.Errorf("the last page lacks the total 600.00")
	}
}

func TestPDFLooksLikeAPage(t *testing.T) {
	t.Parallel()
	path := writePDF(t, sample())
	prefix := filepath.Join(t.TempDir(), "page")
	poppler(t, "pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", path, prefix)
	f, err := os.Open(prefix + "-1.png")
	if err != nil {
		t.Fatalf("pdftoppm made no PNG: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// A4 is 595 × 842 points of 1/72 inch; at 50 dots per inch that is
	// 595/72×50 = 413.2 by 842/72×50 = 584.7 pixels, rounded either way.
	b := img.Bounds()
	if w, h := b.Dx(), b.Dy(); w < 413 || w > 414 || h < 584 || h > 585 {
		t.Errorf("page image is %d×%d, want about 413×585 (A4 at 50 dpi)", w, h)
	}
	// Text and rules darken a few percent of an invoice page; a blank page
	// has none and a failed render is often all black.
	dark := darkShare(img, b)
	if dark < 0.01 || dark > 0.2 {
		t.Errorf("dark pixels are %.1f%% of the page, want between 1%% and 20%%", 100*dark)
	}
	// The header (the top eighth) has ink, and so does the line table.
	if top := darkShare(img, image.Rect(0, 0, b.Dx(), b.Dy()/8)); top < 0.01 {
		t.Errorf("the header band is blank (%.2f%% dark)", 100*top)
	}
	if table := darkShare(img, image.Rect(0, b.Dy()/4, b.Dx(), b.Dy()/2)); table < 0.01 {
		t.Errorf("the table band is blank (%.2f%% dark)", 100*table)
	}
}

// darkShare is the share of pixels in r darker than mid-grey.
func darkShare(img image.Image, r image.Rectangle) float64 {
	dark, all := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA() // 16 bits each
			if (cr+cg+cb)/3 < 0x8000 {
				dark++
			}
			all++
		}
	}
	return float64(dark) / float64(all)
}

func TestPDFIsDeterministic(t *testing.T) {
	t.Parallel()
	render := func() []byte {
		var buf bytes.Buffer
		if err := RenderPDF(&buf, longInvoice(60)); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	first := render()
	for range 3 {
		if !bytes.Equal(render(), first) {
			t.Fatal("the same document rendered to different bytes")
		}
	}
}

func TestPDFOddText(t *testing.T) {
	t.Parallel()
	d := sample()
	d.Customer.Name = "Zo\xebe\x00Ltd"                // invalid UTF-8 and a NUL, which the API refuses
	d.Lines[0].Description = "株式会社 hosting"           // no glyphs in the Go fonts
	d.Lines[1].Description = strings.Repeat("x", 200) // one word wider than its column
	d.Notes = `<script>alert("x")</script>`
	text := pdfText(t, writePDF(t, d), 0, 0)
	for _, want := range []string{"Zo\uFFFDe Ltd", "???? hosting", `<script>alert("x")</script>`} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q; it is:\n%s", want, text)
		}
	}
	// The long word is cut across lines, every x kept.
	n := 0
	for _, run := range regexp.MustCompile(`xx+`).FindAllString(text, -1) {
		n += len(run)
	}
	if n != 200 {
		t.Errorf("the PDF shows %d of the 200 x's", n)
	}
}

// An empty document is a draft with nothing in it; it renders all the same.
func TestEmptyDocument(t *testing.T) {
	t.Parallel()
	path := writePDF(t, Document{})
	if n := pdfPages(t, path); n != 1 {
		t.Errorf("pages = %d, want 1", n)
	}
	if text := pdfText(t, path, 0, 0); !strings.Contains(text, "Invoice DRAFT") || !strings.Contains(text, "Page 1 of 1") {
		t.Errorf("the empty PDF's text is %q", text)
	}
	if page := renderHTML(t, Document{}); !strings.Contains(page, "<h1>Invoice DRAFT</h1>") {
		t.Error("the empty HTML page has no draft heading")
	}
}

// A description too long for one page is cut with "…" so that its row still
// fits on a page: 63 lines at most (see maxRowLines).
func TestPDFRowLongerThanAPage(t *testing.T) {
	t.Parallel()
	d := longInvoice(2)
	d.Lines[1].Description = strings.Repeat("word ", 2000)
	path := writePDF(t, d)
	// Page 1 holds row 1 (its rows start at 187, see TestPDFLongInvoice);
	// row 2 is 2×3 + 63×11 = 699 high: 204 + 699 > 792, so it opens page 2
	// at 84, ends at 783 ≤ 792, and the totals (46) go to page 3.
	if n := pdfPages(t, path); n != 3 {
		t.Errorf("pages = %d, want 3", n)
	}
	text := pdfText(t, path, 2, 2)
	if !strings.Contains(text, "…") {
		t.Error("the cut description does not end with …")
	}
	if n := strings.Count(text, "word"); n < 63 || n > 63*8 {
		t.Errorf("page 2 shows %d words, want 63 lines of them", n)
	}
}

// FuzzRender feeds arbitrary text to both renderers, which must neither fail
// nor panic: the API refuses bad text, but a renderer does not rely on it.
func FuzzRender(f *testing.F) {
	f.Add("Zoë Müller-Łukasiewicz", "Sites package", "Payment within 30 days.")
	f.Add("Zo\xebe\x00", "\xff\xfe 株式会社 "+strings.Repeat("x", 300), "<script>\n\n\r\t")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, name, description, notes string) {
		d := sample()
		d.Customer.Name, d.Lines[0].Description, d.Notes = name, description, notes
		d.Lines[1].Unit = description
		if err := RenderPDF(io.Discard, d); err != nil {
			t.Fatalf("RenderPDF: %v", err)
		}
		if err := RenderHTML(io.Discard, d); err != nil {
			t.Fatalf("RenderHTML: %v", err)
		}
	})
}

// BenchmarkRenderPDF times a 300-line, 8-page invoice.
func BenchmarkRenderPDF(b *testing.B) {
	d := longInvoice(300)
	for b.Loop() {
		if err := RenderPDF(io.Discard, d); err != nil {
			b.Fatal(err)
		}
	}
}
