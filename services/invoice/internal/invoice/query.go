package invoice

import (
	"bytes"
	"context"
	"slices"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/services/invoice/internal/document"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// GetInvoice returns an invoice with its lines.
func (s *Service) GetInvoice(ctx context.Context, id string) (Invoice, error) {
	var v errs.Violations
	checkID(&v, "invoice_id", id)
	if err := v.Err(); err != nil {
		return Invoice{}, err
	}
	return s.store.GetInvoice(ctx, id)
}

// ListInvoices returns a page of invoices without lines, newest first.
func (s *Service) ListInvoices(ctx context.Context, in ListInput) (page.Page[Invoice], error) {
	if err := in.Validate(); err != nil {
		return page.Page[Invoice]{}, err
	}
	f := InvoiceFilter{Status: in.Status, PeriodFrom: in.PeriodFrom, PeriodTo: in.PeriodTo}
	if in.CustomerID != "" {
		f.CustomerIDs = []string{in.CustomerID}
	}
	after, limit := in.Page.Cursor()
	invs, err := s.store.ListInvoices(ctx, f, after, limit+1)
	if err != nil {
		return page.Page[Invoice]{}, err
	}
	return page.New(invs, limit, func(inv Invoice) string { return inv.ID }), nil
}

// Preview rates the customer's current period as it stands now and
// returns its invoices (the consolidated one first) with the customer's
// credit balance applied as finalizing would, storing nothing.
func (s *Service) Preview(ctx context.Context, customerID string) ([]Invoice, error) {
	var v errs.Violations
	checkID(&v, "customer_id", customerID)
	if err := v.Err(); err != nil {
		return nil, err
	}
	due, err := s.src.CurrentPeriod(ctx, customerID, s.clock.Now())
	if err != nil {
		return nil, err
	}
	inputs, err := s.src.Inputs(ctx, []Due{due})
	if err != nil {
		return nil, err
	}
	if len(inputs) != 1 {
		return nil, errs.New(errs.Internal, "%d inputs for one period", len(inputs))
	}
	r := rateOne(inputs[0])
	if r.err != nil {
		return nil, r.err
	}
	bal, err := s.store.Balance(ctx, customerID, due.Currency.Code)
	if err != nil {
		return nil, err
	}
	out := make([]Invoice, 0, len(r.order))
	for _, key := range r.order {
		inv := Invoice{CustomerID: customerID, SubscriptionID: key, Currency: due.Currency, Period: due.Period, Status: StatusDraft}
		for _, l := range r.lines[key] {
			inv.Lines = append(inv.Lines, Line{Line: l})
		}
		inv.setDraftTotals()
		if use := minDecimal(inv.Subtotal, bal); use.IsPositive() {
			inv.Lines = append(inv.Lines, Line{Line: creditLine(inv, "Credit balance applied", use.Neg())})
			inv.CreditApplied, inv.Total = use, inv.Subtotal.Sub(use)
			bal = bal.Sub(use)
		}
		out = append(out, inv)
	}
	return out, nil
}

func minDecimal(a, b Decimal) Decimal {
	if a.LessThan(b) {
		return a
	}
	return b
}

// Summary is a reseller's supplier invoice: its customers' invoices of a
// period and their totals per currency.
type Summary struct {
	ResellerID string
	Invoices   []Invoice
	// Totals maps a currency code to the sum of its invoices' totals.
	Totals map[string]Decimal
}

// summaryLimit bounds the invoices of one summary.
const summaryLimit = 10_000

// ResellerSummary lists the invoices (not void) of the reseller's customers
// whose period starts inside [in.PeriodFrom, in.PeriodTo).
func (s *Service) ResellerSummary(ctx context.Context, in SummaryInput) (Summary, error) {
	if err := in.Validate(); err != nil {
		return Summary{}, err
	}
	children, err := s.src.Children(ctx, in.ResellerID)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{ResellerID: in.ResellerID, Totals: map[string]Decimal{}}
	if len(children) == 0 {
		return sum, nil
	}
	invs, err := s.store.ListInvoices(ctx, InvoiceFilter{CustomerIDs: children, PeriodFrom: in.PeriodFrom, PeriodTo: in.PeriodTo}, "", summaryLimit+1)
	if err != nil {
		return Summary{}, err
	}
	if len(invs) > summaryLimit {
		return Summary{}, errs.New(errs.ResourceExhausted, "more than %d invoices in the period; ask a shorter one", summaryLimit)
	}
	slices.Reverse(invs) // oldest first
	for _, inv := range invs {
		if inv.Status == StatusVoid {
			continue
		}
		sum.Invoices = append(sum.Invoices, inv)
		sum.Totals[inv.Currency.Code] = sum.Totals[inv.Currency.Code].Add(inv.Total)
	}
	return sum, nil
}

// Format is a document format.
type Format int

// The document formats.
const (
	PDF Format = iota + 1
	HTML
)

// Document renders an invoice and returns its content type and bytes.
func (s *Service) Document(ctx context.Context, id string, f Format) (string, []byte, error) {
	inv, err := s.GetInvoice(ctx, id)
	if err != nil {
		return "", nil, err
	}
	to := inv.BillTo
	if inv.Status == StatusDraft {
		// A draft shows the customer as it is now; a finalized invoice as
		// it was named when finalized, with no peer asked.
		custs, err := s.src.Customers(ctx, []string{inv.CustomerID})
		if err != nil {
			return "", nil, err
		}
		if len(custs) == 1 {
			to = BillTo{Name: custs[0].Name, Email: custs[0].Email, ExternalID: custs[0].ExternalID}
		}
	}
	doc := s.document(inv, to)
	var buf bytes.Buffer
	if f == HTML {
		if err := document.RenderHTML(&buf, doc); err != nil {
			return "", nil, err
		}
		return "text/html; charset=utf-8", buf.Bytes(), nil
	}
	if err := document.RenderPDF(&buf, doc); err != nil {
		return "", nil, err
	}
	return "application/pdf", buf.Bytes(), nil
}

// document maps an invoice to the view the renderers lay out, every amount
// formatted at the currency's scale as the API gives it.
func (s *Service) document(inv Invoice, to BillTo) document.Document {
	cur := inv.Currency
	d := document.Document{Seller: s.cfg.Seller, Number: inv.Number, Status: apiStatus(inv.Status), IssueDate: inv.Finalized,
		PeriodFrom: inv.Period.From, PeriodTo: inv.Period.To, Currency: cur.Code,
		Subtotal: cur.FormatAmount(inv.Subtotal), CreditApplied: cur.FormatAmount(inv.CreditApplied), Total: cur.FormatAmount(inv.Total)}
	d.Customer = document.Customer{Name: to.Name, ExternalID: to.ExternalID, Email: to.Email}
	if d.Customer.Name == "" {
		d.Customer.Name = inv.CustomerID
	}
	if inv.Status == StatusVoid {
		d.Notes = "This invoice is void."
	}
	for _, l := range inv.Lines {
		d.Lines = append(d.Lines, document.Line{Description: l.Description, PeriodFrom: l.Period.From, PeriodTo: l.Period.To,
			Quantity: showQuantity(l.Quantity), UnitPrice: showPrice(l, cur), Amount: cur.FormatAmount(l.Amount)})
	}
	return d
}

func showQuantity(q Decimal) string { return q.Round(6).String() }

func showPrice(l Line, cur money.Currency) string {
	if l.UnitPrice.IsZero() && l.Kind == rating.KindUsage {
		return ""
	}
	if l.UnitPrice.Equal(cur.Round(l.UnitPrice)) {
		return cur.FormatAmount(l.UnitPrice)
	}
	return l.UnitPrice.String()
}

// apiStatus names a status as the API does.
func apiStatus(st Status) string {
	switch st {
	case StatusDraft:
		return "DRAFT"
	case StatusFinalized:
		return "FINALIZED"
	case StatusPaid:
		return "PAID"
	case StatusVoid:
		return "VOID"
	}
	return string(st)
}
