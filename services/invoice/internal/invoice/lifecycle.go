package invoice

import (
	"context"
	"fmt"

	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// Finalize finalizes a draft whose period has ended: see finalize.
func (s *Service) Finalize(ctx context.Context, id string) (Invoice, error) {
	var v errs.Violations
	checkID(&v, "invoice_id", id)
	if err := v.Err(); err != nil {
		return Invoice{}, err
	}
	inv, err := s.store.GetInvoice(ctx, id)
	if err != nil {
		return Invoice{}, err
	}
	done, failed := s.finalizePage(ctx, "", []Invoice{inv})
	if failed[0] != nil {
		return Invoice{}, failed[0]
	}
	return done[0], nil
}

// applyCredit settles a draft against the customer's credit balance bal,
// in the transaction of ctx that holds the balance locked: a negative
// subtotal is carried to the balance (a credit line brings the total to
// zero); a positive one uses the balance as far as it goes. It returns the
// balance after.
func (s *Service) applyCredit(ctx context.Context, inv *Invoice, bal Decimal) (Decimal, error) {
	inv.setDraftTotals()
	sub := inv.Subtotal
	var l rating.Line
	var change Decimal
	switch {
	case sub.IsNegative():
		l = creditLine(*inv, "Credit carried to the next invoice", sub.Neg())
		change = sub.Neg()
	case sub.IsPositive() && bal.IsPositive():
		use := decimal.Min(sub, bal)
		l = creditLine(*inv, "Credit balance applied", use.Neg())
		change = use.Neg()
		inv.CreditApplied, inv.Total = use, sub.Sub(use)
	default:
		return bal, nil
	}
	lines := assignIDs(inv.ID, append(ratingLines(inv.Lines), l))
	added := lines[len(lines)-1]
	if err := s.store.AddLines(ctx, inv.ID, []Line{added}, len(inv.Lines)); err != nil {
		return bal, err
	}
	inv.Lines = append(inv.Lines, added)
	return s.store.AddCredit(ctx, LedgerEntry{ID: ids.New("led"), CustomerID: inv.CustomerID, Currency: inv.Currency.Code,
		Amount: change, Reason: l.Description, InvoiceID: inv.ID, Created: s.clock.Now()})
}

func creditLine(inv Invoice, desc string, amount Decimal) rating.Line {
	return rating.Line{Kind: rating.KindCredit, Description: desc, Quantity: money.MustParse("1"), UnitPrice: amount,
		Amount: amount, Period: inv.Period}
}

func ratingLines(lines []Line) []rating.Line {
	out := make([]rating.Line, len(lines))
	for i, l := range lines {
		out[i] = l.Line
	}
	return out
}

// MarkPaid records that a finalized invoice was paid.
func (s *Service) MarkPaid(ctx context.Context, id string) (Invoice, error) {
	return s.transition(ctx, id, func(_ context.Context, inv *Invoice) error {
		if inv.Status != StatusFinalized {
			return errs.New(errs.FailedPrecondition, "invoice %q is %s; only a finalized invoice can be paid", errs.Short(id), inv.Status)
		}
		inv.Status, inv.Paid = StatusPaid, s.clock.Now()
		return nil
	})
}

// Void voids a finalized, unpaid invoice: a credit note of what is left of
// its total records the cancellation, and the credit it took from the
// customer's balance goes back. The credit note's amount itself is not
// added to the balance, since nothing was paid.
func (s *Service) Void(ctx context.Context, id, reason string) (Invoice, *CreditNote, error) {
	var v errs.Violations
	checkID(&v, "invoice_id", id)
	checkReason(&v, "reason", reason)
	if err := v.Err(); err != nil {
		return Invoice{}, nil, err
	}
	if reason == "" {
		reason = "Invoice voided"
	}
	var cn *CreditNote
	inv, err := s.transition(ctx, id, func(ctx context.Context, inv *Invoice) error {
		if inv.Status != StatusFinalized {
			return errs.New(errs.FailedPrecondition, "invoice %q is %s; only a finalized, unpaid invoice can be voided", errs.Short(id), inv.Status)
		}
		now := s.clock.Now()
		if left := inv.Total.Sub(inv.Credited); left.IsPositive() {
			note, err := s.creditNote(ctx, *inv, left, reason)
			if err != nil {
				return err
			}
			cn = &note
			inv.Credited = inv.Total
		}
		if inv.CreditApplied.IsPositive() {
			if _, err := s.store.LockBalance(ctx, inv.CustomerID, inv.Currency.Code); err != nil {
				return err
			}
			_, err := s.store.AddCredit(ctx, LedgerEntry{ID: ids.New("led"), CustomerID: inv.CustomerID, Currency: inv.Currency.Code,
				Amount: inv.CreditApplied, Reason: "Credit given back: " + inv.Number + " voided", InvoiceID: inv.ID, Created: now})
			if err != nil {
				return err
			}
		}
		inv.Status, inv.Voided = StatusVoid, now
		return nil
	})
	return inv, cn, err
}

// IssueCreditNote credits part (in.Amount) or all that is left of a
// finalized or paid invoice's total to the customer's credit balance.
func (s *Service) IssueCreditNote(ctx context.Context, in CreditNoteInput) (CreditNote, error) {
	if err := in.Validate(); err != nil {
		return CreditNote{}, err
	}
	reason := in.Reason
	if reason == "" {
		reason = "Credit note"
	}
	var cn CreditNote
	_, err := s.transition(ctx, in.InvoiceID, func(ctx context.Context, inv *Invoice) error {
		if inv.Status != StatusFinalized && inv.Status != StatusPaid {
			return errs.New(errs.FailedPrecondition, "invoice %q is %s; only a finalized or paid invoice can be credited", errs.Short(inv.ID), inv.Status)
		}
		left := inv.Total.Sub(inv.Credited)
		amount := left
		if in.Amount != "" {
			amount = money.MustParse(in.Amount)
			if !amount.Equal(inv.Currency.Round(amount)) {
				return errs.Field("amount", "must have at most %d decimal places in %s", inv.Currency.Minor, inv.Currency.Code)
			}
		}
		if !left.IsPositive() {
			return errs.New(errs.FailedPrecondition, "nothing is left to credit on invoice %q", errs.Short(inv.ID))
		}
		if amount.GreaterThan(left) {
			return errs.New(errs.FailedPrecondition, "at most %s %s is left to credit on invoice %q",
				inv.Currency.FormatAmount(left), inv.Currency.Code, errs.Short(inv.ID))
		}
		var err error
		if cn, err = s.creditNote(ctx, *inv, amount, reason); err != nil {
			return err
		}
		if _, err := s.store.LockBalance(ctx, inv.CustomerID, inv.Currency.Code); err != nil {
			return err
		}
		_, err = s.store.AddCredit(ctx, LedgerEntry{ID: ids.New("led"), CustomerID: inv.CustomerID, Currency: inv.Currency.Code,
			Amount: amount, Reason: "Credit note " + cn.Number, InvoiceID: inv.ID, Created: cn.Created})
		inv.Credited = inv.Credited.Add(amount)
		return err
	})
	return cn, err
}

// creditNote numbers and stores a credit note in the transaction of ctx.
func (s *Service) creditNote(ctx context.Context, inv Invoice, amount Decimal, reason string) (CreditNote, error) {
	now := s.clock.Now()
	series := fmt.Sprintf("CN-%d", now.Year())
	n, err := s.store.NextNumber(ctx, series)
	if err != nil {
		return CreditNote{}, err
	}
	cn := CreditNote{ID: ids.New("cn"), Number: fmt.Sprintf("%s-%06d", series, n), InvoiceID: inv.ID, CustomerID: inv.CustomerID,
		Currency: inv.Currency, Amount: amount, Reason: reason, Created: now}
	return cn, s.store.CreateCreditNote(ctx, cn)
}

// transition locks an invoice, lets change check and change it (with the
// transaction's context), and stores it, all in one transaction.
func (s *Service) transition(ctx context.Context, id string, change func(ctx context.Context, inv *Invoice) error) (Invoice, error) {
	var v errs.Violations
	checkID(&v, "invoice_id", id)
	if err := v.Err(); err != nil {
		return Invoice{}, err
	}
	var inv Invoice
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		if inv, err = s.store.LockInvoice(ctx, id); err != nil {
			return err
		}
		if err := change(ctx, &inv); err != nil {
			return err
		}
		inv.Updated = s.clock.Now()
		return s.store.SetInvoice(ctx, inv)
	})
	if err != nil {
		return Invoice{}, err
	}
	return inv, nil
}

// ListCreditNotes returns an invoice's credit notes, oldest first.
func (s *Service) ListCreditNotes(ctx context.Context, invoiceID string) ([]CreditNote, error) {
	var v errs.Violations
	checkID(&v, "invoice_id", invoiceID)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := s.store.GetInvoice(ctx, invoiceID); err != nil {
		return nil, err
	}
	return s.store.ListCreditNotes(ctx, invoiceID)
}
