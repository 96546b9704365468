// Package document renders an invoice for people: as an HTML page and as an
// A4 PDF. It takes a Document, a view whose amounts are already rounded and
// formatted at the currency's scale as the API gives them, so that the page,
// the PDF and the JSON can never disagree about a cent: nothing here computes
// money.
package document

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Document is what an invoice page shows. The service maps its invoices to
// it; the renderers only lay it out.
type Document struct {
	Seller Party

	// Number is the invoice's number, such as "MP-2026-000123". A draft has
	// none yet and is shown as "DRAFT".
	Number string
	// Status is the invoice's state as the API names it: DRAFT, FINALIZED,
	// PAID or VOID.
	Status string
	// IssueDate is when the invoice was finalized; zero for a draft. The PDF
	// uses it as its creation date, so one invoice always renders to the
	// same bytes.
	IssueDate time.Time
	// PeriodFrom and PeriodTo are the billed period [from, to) in UTC.
	PeriodFrom, PeriodTo time.Time

	Customer Customer

	// Currency is the ISO 4217 code every amount is in.
	Currency string
	Lines    []Line

	// Subtotal, CreditApplied and Total are formatted at the currency's
	// scale ("42.00"). CreditApplied is empty or "0.00" when no credit was
	// used, and then not shown.
	Subtotal      string
	CreditApplied string
	Total         string

	// Notes is free text printed under the totals (payment terms, a VOID
	// reason). Line breaks are kept.
	Notes string
}

// Party is the seller, from configuration.
type Party struct {
	Name string
	// Address holds the address lines in print order.
	Address []string
	Email   string
	// TaxID is the seller's VAT or tax number, printed when set.
	TaxID string
}

// Customer is the billed customer as the subscription service knows it.
type Customer struct {
	Name       string
	ExternalID string
	Email      string
	Address    []string
}

// Line is one invoice line. Quantity, UnitPrice and Amount are formatted
// decimals; Amount is at the currency's scale.
type Line struct {
	Description string
	// PeriodFrom and PeriodTo are the line's own period [from, to); both
	// zero for a line without one (a one-time fee).
	PeriodFrom, PeriodTo time.Time
	Quantity             string
	Unit                 string
	UnitPrice            string
	Amount               string
}

// Title is the document's heading: "Invoice MP-2026-000123", or
// "Invoice DRAFT" while the invoice has no number.
func (d Document) Title() string {
	if d.Number == "" {
		return "Invoice DRAFT"
	}
	return "Invoice " + d.Number
}

// ShowCredit says whether the credit row is printed: a credit of zero is
// noise on the page.
func (d Document) ShowCredit() bool {
	return strings.Trim(d.CreditApplied, "0.-") != ""
}

// FormatDate writes a day as people read it on an invoice ("1 Mar 2026"),
// and nothing for the zero time.
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2 Jan 2006")
}

// FormatPeriod writes the half-open period [from, to) for people. A bound at
// midnight UTC is a whole day, and the end is then shown as the last day the
// period covers, as invoices do: [1 Mar, 1 Apr) is "1 Mar 2026 – 31 Mar
// 2026". A bound inside a day (a plan change at 14:30) is shown as that
// instant with its time, so two lines split at it read "… – 15 Mar 2026
// 14:30" and "15 Mar 2026 14:30 – …". Zero bounds give "".
func FormatPeriod(from, to time.Time) string {
	if from.IsZero() || to.IsZero() {
		return ""
	}
	from, to = from.UTC(), to.UTC()
	end := formatInstant(to)
	if isMidnight(to) && to.After(from) {
		end = FormatDate(to.Add(-time.Nanosecond))
	}
	return formatInstant(from) + " – " + end
}

func isMidnight(t time.Time) bool {
	return t.Equal(t.Truncate(24 * time.Hour))
}

func formatInstant(t time.Time) string {
	switch {
	case isMidnight(t):
		return FormatDate(t)
	case t.Second() == 0 && t.Nanosecond() == 0:
		return t.Format("2 Jan 2006 15:04")
	default:
		return t.Format("2 Jan 2006 15:04:05")
	}
}

// clean makes a string safe to lay out: invalid UTF-8 becomes U+FFFD and
// control characters become spaces (a newline too, unless keepNewlines), so
// no input can break a table row or the renderer. The API refuses such text
// already; this is the renderer not trusting that.
func clean(s string, keepNewlines bool) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' && keepNewlines:
			return r
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
}

// cleaned returns a copy of d whose every string went through clean.
func (d Document) cleaned() Document {
	c := d
	c.Seller = Party{
		Name:    clean(d.Seller.Name, false),
		Address: cleanAll(d.Seller.Address),
		Email:   clean(d.Seller.Email, false),
		TaxID:   clean(d.Seller.TaxID, false),
	}
	c.Number = clean(d.Number, false)
	c.Status = clean(d.Status, false)
	c.Customer = Customer{
		Name:       clean(d.Customer.Name, false),
		ExternalID: clean(d.Customer.ExternalID, false),
		Email:      clean(d.Customer.Email, false),
		Address:    cleanAll(d.Customer.Address),
	}
	c.Currency = clean(d.Currency, false)
	c.Lines = make([]Line, len(d.Lines))
	for i, l := range d.Lines {
		l.Description = clean(l.Description, false)
		l.Quantity = clean(l.Quantity, false)
		l.Unit = clean(l.Unit, false)
		l.UnitPrice = clean(l.UnitPrice, false)
		l.Amount = clean(l.Amount, false)
		c.Lines[i] = l
	}
	c.Subtotal = clean(d.Subtotal, false)
	c.CreditApplied = clean(d.CreditApplied, false)
	c.Total = clean(d.Total, false)
	c.Notes = clean(d.Notes, true)
	return c
}

func cleanAll(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, clean(s, false))
	}
	return out
}
