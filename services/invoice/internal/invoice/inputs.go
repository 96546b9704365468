package invoice

import (
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/textcheck"
)

// Bounds of what a client may send.
const (
	// MaxIDLength bounds the ids a client sends.
	MaxIDLength = 255
	// MaxReasonLength bounds the reason of a credit note or a void.
	MaxReasonLength = 1000
)

// RunInput starts a billing run.
type RunInput struct {
	// AsOf bills the periods that ended at or before it; zero for now.
	AsOf time.Time
}

// Validate checks the run's time against now.
func (in RunInput) Validate(now time.Time) error {
	var v errs.Violations
	if !in.AsOf.IsZero() {
		checkTime(&v, "as_of", in.AsOf)
		if in.AsOf.After(now) {
			v.Add("as_of", "must not be in the future")
		}
	}
	return v.Err()
}

// ListInput asks for a page of invoices.
type ListInput struct {
	CustomerID string
	Status     Status // empty for all
	// PeriodFrom and PeriodTo, both zero or both set, keep invoices whose
	// period starts in [PeriodFrom, PeriodTo).
	PeriodFrom, PeriodTo time.Time
	Page                 page.Request
}

// Validate checks the filters and the page.
func (in ListInput) Validate() error {
	var v errs.Violations
	if in.CustomerID != "" {
		checkID(&v, "customer_id", in.CustomerID)
	}
	checkPeriod(&v, "period", in.PeriodFrom, in.PeriodTo, false)
	in.Page.Check(&v)
	return v.Err()
}

// CreditNoteInput credits part or all of an invoice.
type CreditNoteInput struct {
	InvoiceID string
	// Amount is a positive decimal string; empty for all that is left.
	Amount string
	Reason string
}

// Validate checks the fields; the amount's scale is checked against the
// invoice's currency once the invoice is read.
func (in CreditNoteInput) Validate() error {
	var v errs.Violations
	checkID(&v, "invoice_id", in.InvoiceID)
	if in.Amount != "" {
		if d, err := money.Parse(in.Amount); err != nil {
			v.Add("amount", "must be a decimal such as 10.00")
		} else if !d.IsPositive() {
			v.Add("amount", "must be positive")
		}
	}
	checkReason(&v, "reason", in.Reason)
	return v.Err()
}

// SummaryInput asks for a reseller's summary.
type SummaryInput struct {
	ResellerID           string
	PeriodFrom, PeriodTo time.Time
}

// Validate checks the reseller id and the period, which is required.
func (in SummaryInput) Validate() error {
	var v errs.Violations
	checkID(&v, "customer_id", in.ResellerID)
	checkPeriod(&v, "period", in.PeriodFrom, in.PeriodTo, true)
	return v.Err()
}

func checkID(v *errs.Violations, field, id string) {
	switch {
	case id == "":
		v.Add(field, "is required")
	case len(id) > MaxIDLength:
		v.Add(field, "must be at most %d bytes", MaxIDLength)
	case textcheck.String(id) != "":
		v.Add(field, "%s", textcheck.String(id))
	}
}

func checkReason(v *errs.Violations, field, s string) {
	switch {
	case len(s) > MaxReasonLength:
		v.Add(field, "must be at most %d bytes", MaxReasonLength)
	case textcheck.String(s) != "":
		v.Add(field, "%s", textcheck.String(s))
	}
}

func checkTime(v *errs.Violations, field string, t time.Time) {
	if t.Before(textcheck.MinTime) || !t.Before(textcheck.MaxTime) {
		v.Add(field, "must be from %d to %d", textcheck.MinTime.Year(), textcheck.MaxTime.Year()-1)
	}
}

func checkPeriod(v *errs.Violations, field string, from, to time.Time, required bool) {
	if from.IsZero() && to.IsZero() {
		if required {
			v.Add(field, "is required")
		}
		return
	}
	switch {
	case from.IsZero():
		v.Add(field+".start", "is required with end")
	case to.IsZero():
		v.Add(field+".end", "is required with start")
	case !from.Before(to):
		v.Add(field+".end", "must be after start")
	default:
		checkTime(v, field+".start", from)
		checkTime(v, field+".end", to)
	}
}
