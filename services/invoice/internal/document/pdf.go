package document

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/signintech/gopdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
)

// The page is A4 in points (1/72 inch). Every position below is in points,
// measured from the page's top left corner, as gopdf measures them.
const (
	pageWidth    = 595.0
	pageHeight   = 842.0
	marginLeft   = 40.0
	marginTop    = 40.0
	contentWidth = pageWidth - 2*marginLeft // 515
	contentRight = marginLeft + contentWidth

	// contentBottom is the lowest y a block may reach; the footer lives
	// below it.
	contentBottom = pageHeight - 50
	footerY       = pageHeight - 32

	// Continuation pages start with a one-line header (seller and title)
	// and a rule; their content starts at continuedTop.
	continuedTop = marginTop + 26

	// A table row is its text lines plus padding above and below.
	rowPadding     = 3.0
	rowLeading     = 11.0
	bodySize       = 9.0
	smallSize      = 7.5
	tableHeadSize  = 8.5
	tableHeadH     = 18.0
	totalsLeading  = 16.0
	notesLeading   = 12.0
	cellInnerSpace = 3.0 // between a column's edge and its text
)

// maxRowLines is the most text lines a table row holds: what fits under the
// table header of a continuation page, ⌊(792 − 66 − 18 − 2×3) / 11⌋ = 63.
var maxRowLines = int(math.Floor((contentBottom - continuedTop - tableHeadH - 2*rowPadding) / rowLeading))

// column is one column of the line table.
type column struct {
	title string
	width float64
	right bool // right-aligned, as numbers are
}

// columns of the line table; their widths add up to contentWidth.
var columns = []column{
	{title: "Description", width: 185},
	{title: "Period", width: 115},
	{title: "Quantity", width: 55, right: true},
	{title: "Unit", width: 45},
	{title: "Unit price", width: 55, right: true},
	{title: "Amount", width: 60, right: true},
}

const (
	fontRegular = "go"
	fontBold    = "go-bold"
)

// The Go fonts (Bigelow & Holmes for the Go project, BSD licence, which
// allows embedding and redistribution; the notice is in GOFONT_LICENSE) cover Latin, Greek and Cyrillic, so
// names such as "Zoë Łukasiewicz" print as written. They are parsed once to
// know which runes they lack: gopdf would print those as blanks, so they are
// shown as "?" instead, visibly.
var goFonts = func() []*sfnt.Font {
	var fonts []*sfnt.Font
	for _, ttf := range [][]byte{goregular.TTF, gobold.TTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			panic(fmt.Sprintf("document: parse Go font: %v", err))
		}
		fonts = append(fonts, f)
	}
	return fonts
}()

// printable replaces runes the Go fonts lack with "?".
func printable(s string) string {
	var buf sfnt.Buffer
	return strings.Map(func(r rune) rune {
		for _, f := range goFonts {
			if i, err := f.GlyphIndex(&buf, r); err != nil || i == 0 {
				return '?'
			}
		}
		return r
	}, s)
}

// RenderPDF writes d as an A4 PDF: the seller and the title on every page,
// the customer on the first, the line table with its header repeated on
// each page, the totals and notes, and "Page n of N" in every footer. The
// same Document always gives the same bytes: the only date in the file is
// d.IssueDate.
func RenderPDF(w io.Writer, d Document) error {
	d = d.cleaned()
	p, err := newPDF(d)
	if err != nil {
		return err
	}
	pages := p.layout(p.blocks())
	p.draw(pages)
	if p.err != nil {
		return fmt.Errorf("render invoice PDF: %w", p.err)
	}
	var buf bytes.Buffer
	if _, err := p.pdf.WriteTo(&buf); err != nil {
		return fmt.Errorf("render invoice PDF: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// pdfDoc draws one document. Drawing calls keep the first error in err and
// do nothing after it, so the layout code reads as a list of steps.
type pdfDoc struct {
	d   Document
	pdf *gopdf.GoPdf
	err error
}

func newPDF(d Document) (*pdfDoc, error) {
	pdf := &gopdf.GoPdf{}
	pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: pageWidth, H: pageHeight}, Unit: gopdf.UnitPT})
	pdf.SetInfo(gopdf.PdfInfo{
		Title:        d.Title(),
		Author:       d.Seller.Name,
		Creator:      "Meterplane",
		CreationDate: d.IssueDate.UTC(),
	})
	if err := pdf.AddTTFFontData(fontRegular, goregular.TTF); err != nil {
		return nil, fmt.Errorf("render invoice PDF: load font: %w", err)
	}
	if err := pdf.AddTTFFontData(fontBold, gobold.TTF); err != nil {
		return nil, fmt.Errorf("render invoice PDF: load font: %w", err)
	}
	return &pdfDoc{d: d, pdf: pdf}, nil
}

// block is a piece of the page flow that is never split across pages: the
// first page's header, the customer, one table row, the totals, a line of
// notes. draw paints it with its top at y.
type block struct {
	height float64
	// tableRow blocks get the table header above them when they open a
	// page, so every page of lines says what its columns are.
	tableRow bool
	draw     func(y float64)
}

// page is the blocks placed on one page, each with its top.
type page struct {
	blocks []placed
}

type placed struct {
	block
	y float64
}

// blocks builds the document's flow in order.
func (p *pdfDoc) blocks() []block {
	bs := []block{p.headerBlock(), p.customerBlock()}
	for _, l := range p.d.Lines {
		bs = append(bs, p.rowBlock(l))
	}
	bs = append(bs, p.totalsBlock())
	return append(bs, p.notesBlocks()...)
}

// layout places the blocks on pages: a block that does not fit below the
// previous one opens a new page, and a table row that opens a page (or
// starts the table) gets the table header first.
func (p *pdfDoc) layout(bs []block) []page {
	pages := []page{{}}
	y := marginTop
	inTable := false
	head := p.tableHeadBlock()
	for _, b := range bs {
		need := b.height
		if b.tableRow && !inTable {
			need += head.height
		}
		if y+need > contentBottom && len(pages[len(pages)-1].blocks) > 0 {
			pages = append(pages, page{})
			y = continuedTop
			inTable = false
		}
		cur := &pages[len(pages)-1]
		if b.tableRow && !inTable {
			cur.blocks = append(cur.blocks, placed{head, y})
			y += head.height
		}
		inTable = b.tableRow
		cur.blocks = append(cur.blocks, placed{b, y})
		y += b.height
	}
	return pages
}

// draw paints the laid-out pages, now that their number is known.
func (p *pdfDoc) draw(pages []page) {
	for i, pg := range pages {
		p.pdf.AddPage()
		if i > 0 {
			p.continuedHeader()
		}
		for _, b := range pg.blocks {
			b.draw(b.y)
		}
		p.footer(i+1, len(pages))
	}
}

// headerBlock is the first page's top: seller on the left; title, status,
// issue date and period on the right; a rule under both.
func (p *pdfDoc) headerBlock() block {
	d := p.d
	var left, right []textLine
	left = append(left, textLine{d.Seller.Name, fontBold, 13, 17})
	for _, a := range d.Seller.Address {
		left = append(left, textLine{a, fontRegular, bodySize, 12})
	}
	if d.Seller.Email != "" {
		left = append(left, textLine{d.Seller.Email, fontRegular, bodySize, 12})
	}
	if d.Seller.TaxID != "" {
		left = append(left, textLine{"Tax ID " + d.Seller.TaxID, fontRegular, bodySize, 12})
	}
	right = append(right, textLine{d.Title(), fontBold, 16, 21})
	if d.Status != "" {
		right = append(right, textLine{"Status " + d.Status, fontBold, bodySize, 12})
	}
	if s := FormatDate(d.IssueDate); s != "" {
		right = append(right, textLine{"Issued " + s, fontRegular, bodySize, 12})
	}
	if s := FormatPeriod(d.PeriodFrom, d.PeriodTo); s != "" {
		right = append(right, textLine{"Period " + s, fontRegular, bodySize, 12})
	}
	h := max(linesHeight(left), linesHeight(right))
	return block{height: h + 20, draw: func(y float64) {
		p.lines(marginLeft, y, left, false)
		p.lines(contentRight, y, right, true)
		p.rule(y+h+8, 1, 0)
	}}
}

// customerBlock is the "Bill to" address with the customer's ids, and the
// currency on the right.
func (p *pdfDoc) customerBlock() block {
	c := p.d.Customer
	left := []textLine{
		{"BILL TO", fontRegular, smallSize, 11},
		{c.Name, fontBold, 10, 13},
	}
	for _, a := range c.Address {
		left = append(left, textLine{a, fontRegular, bodySize, 12})
	}
	if c.Email != "" {
		left = append(left, textLine{c.Email, fontRegular, bodySize, 12})
	}
	if c.ExternalID != "" {
		left = append(left, textLine{"Customer ID " + c.ExternalID, fontRegular, bodySize, 12})
	}
	right := []textLine{
		{"CURRENCY", fontRegular, smallSize, 11},
		{p.d.Currency, fontBold, 10, 13},
	}
	h := max(linesHeight(left), linesHeight(right))
	return block{height: h + 16, draw: func(y float64) {
		p.lines(marginLeft, y, left, false)
		p.lines(contentRight, y, right, true)
	}}
}

// tableHeadBlock is the row of column titles.
func (p *pdfDoc) tableHeadBlock() block {
	return block{height: tableHeadH, draw: func(y float64) {
		p.font(fontBold, tableHeadSize)
		x := marginLeft
		for _, c := range columns {
			p.cellText(x, y+4, c, c.title)
			x += c.width
		}
		p.rule(y+tableHeadH-2, 0.8, 0)
	}}
}

// rowBlock is one invoice line; each cell wraps within its column and the
// row is as tall as its tallest cell.
func (p *pdfDoc) rowBlock(l Line) block {
	texts := []string{l.Description, FormatPeriod(l.PeriodFrom, l.PeriodTo), l.Quantity, l.Unit, l.UnitPrice, l.Amount}
	sizes := []float64{bodySize, smallSize, bodySize, bodySize, bodySize, bodySize}
	cells := make([][]string, len(columns))
	n := 1
	for i, c := range columns {
		p.font(fontRegular, sizes[i])
		cells[i] = p.wrap(texts[i], c.width-2*cellInnerSpace, maxRowLines)
		if len(cells[i]) > maxRowLines {
			// A row never splits, so it must fit on a page; the API's
			// bounds on text keep real lines far below this.
			cells[i] = cells[i][:maxRowLines]
			cells[i][maxRowLines-1] = p.fit(cells[i][maxRowLines-1]+" …", c.width-2*cellInnerSpace)
		}
		n = max(n, len(cells[i]))
	}
	h := 2*rowPadding + float64(n)*rowLeading
	return block{height: h, tableRow: true, draw: func(y float64) {
		x := marginLeft
		for i, c := range columns {
			p.font(fontRegular, sizes[i])
			if i == 1 {
				p.pdf.SetGrayFill(0.35)
			}
			for j, s := range cells[i] {
				// The smaller period text sits on the same baseline
				// band as the description.
				p.cellText(x, y+rowPadding+float64(j)*rowLeading+(bodySize-sizes[i])/2, c, s)
			}
			p.pdf.SetGrayFill(0)
			x += c.width
		}
		p.rule(y+h, 0.3, 0.75)
	}}
}

// totalsBlock is subtotal, credit (when there is one) and the total, on the
// right half, kept together on one page.
func (p *pdfDoc) totalsBlock() block {
	d := p.d
	type row struct{ label, value string }
	rows := []row{{"Subtotal", d.Currency + " " + d.Subtotal}}
	if d.ShowCredit() {
		rows = append(rows, row{"Credit applied", d.Currency + " " + d.CreditApplied})
	}
	rows = append(rows, row{"Total", d.Currency + " " + d.Total})
	const gap = 10.0
	h := gap + float64(len(rows))*totalsLeading + 4
	return block{height: h, draw: func(y float64) {
		labelX := marginLeft + contentWidth/2
		y += gap
		for i, r := range rows {
			last := i == len(rows)-1
			f, size := fontRegular, bodySize
			if last {
				f, size = fontBold, 10.0
				p.ruleFrom(labelX, y, 1)
				y += 3
			}
			p.font(f, size)
			p.text(labelX+cellInnerSpace, y, r.label)
			p.textRight(contentRight-cellInnerSpace, y, r.value)
			y += totalsLeading
		}
	}}
}

// notesBlocks are the notes' lines, one block each so that long notes flow
// onto the next page; the heading travels with the first line.
func (p *pdfDoc) notesBlocks() []block {
	if strings.TrimSpace(p.d.Notes) == "" {
		return nil
	}
	p.font(fontRegular, bodySize)
	var lines []string
	for para := range strings.SplitSeq(p.d.Notes, "\n") {
		wrapped := p.wrap(para, contentWidth, math.MaxInt-1)
		if len(wrapped) == 0 {
			wrapped = []string{""} // a blank line between paragraphs stays
		}
		lines = append(lines, wrapped...)
	}
	var bs []block
	for i, s := range lines {
		b := block{height: notesLeading, draw: func(y float64) {
			p.font(fontRegular, bodySize)
			p.text(marginLeft, y, s)
		}}
		if i == 0 {
			const head = 14 + notesLeading
			b = block{height: head + notesLeading, draw: func(y float64) {
				p.font(fontBold, bodySize)
				p.text(marginLeft, y+14, "Notes")
				p.font(fontRegular, bodySize)
				p.text(marginLeft, y+head, s)
			}}
		}
		bs = append(bs, b)
	}
	return bs
}

// continuedHeader names the seller and the invoice at the top of every page
// after the first.
func (p *pdfDoc) continuedHeader() {
	p.font(fontBold, 10)
	p.text(marginLeft, marginTop, p.d.Seller.Name)
	p.textRight(contentRight, marginTop, p.d.Title())
	p.rule(marginTop+16, 0.8, 0)
}

// footer prints who and what on the left and "Page n of N" on the right.
func (p *pdfDoc) footer(n, total int) {
	p.rule(footerY-6, 0.3, 0.5)
	p.font(fontRegular, smallSize)
	p.pdf.SetGrayFill(0.35)
	p.text(marginLeft, footerY, p.fit(p.d.Seller.Name+" · "+p.d.Title(), contentWidth-80))
	p.textRight(contentRight, footerY, fmt.Sprintf("Page %d of %d", n, total))
	p.pdf.SetGrayFill(0)
}

// textLine is one line of a header column.
type textLine struct {
	text    string
	font    string
	size    float64
	leading float64
}

func linesHeight(ls []textLine) float64 {
	h := 0.0
	for _, l := range ls {
		h += l.leading
	}
	return h
}

// lines prints a column of textLines from y down, left-aligned at x or
// right-aligned to x. A line too long for half the page is cut to fit,
// with "…", so the two header columns never overlap.
func (p *pdfDoc) lines(x, y float64, ls []textLine, right bool) {
	for _, l := range ls {
		p.font(l.font, l.size)
		s := p.fit(l.text, contentWidth/2-10)
		if right {
			p.textRight(x, y, s)
		} else {
			p.text(x, y, s)
		}
		y += l.leading
	}
}

// cellText prints s inside column c whose left edge is x.
func (p *pdfDoc) cellText(x, y float64, c column, s string) {
	if c.right {
		p.textRight(x+c.width-cellInnerSpace, y, s)
		return
	}
	p.text(x+cellInnerSpace, y, s)
}

func (p *pdfDoc) font(name string, size float64) {
	if p.err == nil {
		p.err = p.pdf.SetFont(name, "", size)
	}
}

func (p *pdfDoc) width(s string) float64 {
	if p.err != nil {
		return 0
	}
	w, err := p.pdf.MeasureTextWidth(s)
	if err != nil {
		p.err = err
	}
	return w
}

// text prints s with its top left corner at (x, y).
func (p *pdfDoc) text(x, y float64, s string) {
	if p.err != nil || s == "" {
		return
	}
	p.pdf.SetXY(x, y)
	p.err = p.pdf.Cell(nil, printable(s))
}

// textRight prints s with its top right corner at (x, y).
func (p *pdfDoc) textRight(x, y float64, s string) {
	p.text(x-p.width(printable(s)), y, s)
}

// rule draws a horizontal line across the content width.
func (p *pdfDoc) rule(y, width, gray float64) {
	p.pdf.SetLineWidth(width)
	p.pdf.SetGrayStroke(gray)
	p.pdf.Line(marginLeft, y, contentRight, y)
	p.pdf.SetGrayStroke(0)
}

// ruleFrom draws a black horizontal line from x to the right edge.
func (p *pdfDoc) ruleFrom(x, y, width float64) {
	p.pdf.SetLineWidth(width)
	p.pdf.Line(x, y, contentRight, y)
}

// wrap breaks s into lines no wider than width in the current font: at
// spaces where it can, inside a word that alone is too wide. It stops after
// limit+1 lines, so a caller that keeps limit lines knows that text was
// left out, and returns no lines for a blank s. Each rune and word is
// measured a bounded number of times, so a long text costs linear time.
func (p *pdfDoc) wrap(s string, width float64, limit int) []string {
	var out []string
	line := ""
	for word := range strings.FieldsSeq(printable(s)) {
		if len(out) > limit {
			break
		}
		if line != "" && p.width(line+" "+word) <= width {
			line += " " + word
			continue
		}
		if line != "" {
			out = append(out, line)
		}
		line = word
		if p.width(word) <= width {
			continue
		}
		// Without kerning a text's width is the sum of its runes'.
		var cur []rune
		w := 0.0
		for _, r := range word {
			rw := p.width(string(r))
			if len(cur) > 0 && w+rw > width {
				out = append(out, string(cur))
				cur, w = cur[:0], 0
				if len(out) > limit {
					break
				}
			}
			cur = append(cur, r)
			w += rw
		}
		line = string(cur)
	}
	if line != "" {
		out = append(out, line)
	}
	return out[:min(len(out), limit+1)]
}

// fit shortens s with "…" until it is no wider than width.
func (p *pdfDoc) fit(s string, width float64) string {
	s = printable(s)
	if p.width(s) <= width {
		return s
	}
	width -= p.width("…")
	w := 0.0
	for i, r := range s {
		if w += p.width(string(r)); w > width {
			return s[:i] + "…"
		}
	}
	return s
}
