package invoice

import (
	"context"
	"fmt"
	"slices"

	"github.com/meterplane/meterplane/platform/errs"
)

// finalizePage finalizes drafts (read without lines; a page of a run, or
// the one a FinalizeInvoice names) and returns them finalized, by
// position, with an error in place of each one that is not. It
//
//  1. closes the drafts' periods in metering in one batch call, with no
//     transaction open (a batch that fails is retried one period at a
//     time, failing only the drafts of the periods that fail), so that no
//     event accepted before the close is left off every invoice;
//  2. rates the periods again with one s.rate batch and writes the drafts
//     whose lines differ, one period per transaction, as a run does;
//  3. numbers and freezes the drafts in one transaction (freeze); if it
//     fails, each draft is frozen in a transaction of its own, so one that
//     cannot be finalized does not hold back the others.
//
// runID names the run that finalizes, if one does.
func (s *Service) finalizePage(ctx context.Context, runID string, drafts []Invoice) ([]Invoice, []error) {
	done := make([]Invoice, len(drafts))
	failed := make([]error, len(drafts))
	now := s.clock.Now()
	var dues []Due
	seen := map[string]bool{}
	for i, inv := range drafts {
		switch {
		case inv.Status != StatusDraft:
			failed[i] = errs.New(errs.FailedPrecondition, "invoice %q is %s, not a draft", errs.Short(inv.ID), inv.Status)
		case inv.Period.To.After(now):
			failed[i] = errs.New(errs.FailedPrecondition, "the period of invoice %q has not ended", errs.Short(inv.ID))
		case !seen[dueKey(inv.Due())]:
			seen[dueKey(inv.Due())] = true
			dues = append(dues, inv.Due())
		}
	}
	fail := func(key string, err error) {
		for i, inv := range drafts {
			if failed[i] == nil && dueKey(inv.Due()) == key {
				failed[i] = err
			}
		}
	}
	dues = s.closePeriods(ctx, dues, fail)
	if len(dues) == 0 {
		return done, failed
	}
	results, err := s.rate(ctx, dues)
	if err != nil {
		for _, d := range dues {
			fail(dueKey(d), err)
		}
		return done, failed
	}
	stored, err := s.store.PeriodInvoices(ctx, dues)
	if err != nil {
		for _, d := range dues {
			fail(dueKey(d), err)
		}
		return done, failed
	}
	for i, d := range dues {
		if results[i].err == nil && !changes(stored[dueKey(d)], results[i]) {
			continue
		}
		err := results[i].err
		if err == nil {
			_, err = s.write(ctx, runID, d, results[i])
		}
		if err != nil {
			fail(dueKey(d), err)
		}
	}
	var ids, customerIDs []string
	for i, inv := range drafts {
		if failed[i] == nil {
			ids = append(ids, inv.ID)
			if !slices.Contains(customerIDs, inv.CustomerID) {
				customerIDs = append(customerIDs, inv.CustomerID)
			}
		}
	}
	billTo, err := s.billTo(ctx, customerIDs)
	if err != nil {
		for _, d := range dues {
			fail(dueKey(d), err)
		}
		return done, failed
	}
	frozen, err := s.freeze(ctx, ids, billTo)
	if err != nil {
		// Alone, each draft fails or succeeds on its own.
		frozen = map[string]Invoice{}
		for _, id := range ids {
			one, err := s.freeze(ctx, []string{id}, billTo)
			if err != nil {
				for i, inv := range drafts {
					if inv.ID == id && failed[i] == nil {
						failed[i] = err
					}
				}
				continue
			}
			frozen[id] = one[id]
		}
	}
	for i, inv := range drafts {
		if failed[i] == nil {
			done[i] = frozen[inv.ID]
		}
	}
	return done, failed
}

// billTo reads the customers the invoices being finalized name, with no
// transaction open, by id.
func (s *Service) billTo(ctx context.Context, customerIDs []string) (map[string]BillTo, error) {
	out := make(map[string]BillTo, len(customerIDs))
	if len(customerIDs) == 0 {
		return out, nil
	}
	custs, err := s.src.Customers(ctx, customerIDs)
	if err != nil {
		return nil, err
	}
	for _, c := range custs {
		out[c.ID] = BillTo{Name: c.Name, Email: c.Email, ExternalID: c.ExternalID}
	}
	return out, nil
}

// closePeriods closes dues in metering, in one batch, or, if the batch
// fails, one by one; it reports each due that cannot be closed to fail and
// returns the others.
func (s *Service) closePeriods(ctx context.Context, dues []Due, fail func(key string, err error)) []Due {
	if len(dues) == 0 || s.src.ClosePeriods(ctx, dues) == nil {
		return dues
	}
	var closed []Due
	for _, d := range dues {
		if err := s.src.ClosePeriod(ctx, d); err != nil {
			fail(dueKey(d), err)
			continue
		}
		closed = append(closed, d)
	}
	return closed
}

// changes says whether writing r over the stored invoices of its period
// would change a draft or create an invoice.
func changes(stored []Invoice, r rated) bool {
	existing := map[string]Invoice{}
	for _, inv := range stored {
		existing[inv.SubscriptionID] = inv
	}
	for _, key := range r.order {
		if _, ok := existing[key]; !ok && len(r.lines[key]) > 0 {
			return true
		}
	}
	for key, inv := range existing {
		if inv.Status == StatusDraft && !diffLines(inv.Lines, assignIDs(inv.ID, r.lines[key])).Empty() {
			return true
		}
	}
	return false
}

// freeze numbers and freezes the drafts ids in one transaction: it locks
// them (by id), locks the credit balances they use (by customer and
// currency), applies credit in id order (so several invoices of one
// customer use the balance in turn), takes as many numbers as there are
// drafts from the series of the current year with one update, stores the
// invoices and writes their invoice.finalized events in one statement. A
// draft that is no longer one fails the whole transaction, as any error
// does; numbers taken by a transaction that rolls back are not used.
func (s *Service) freeze(ctx context.Context, ids []string, billTo map[string]BillTo) (map[string]Invoice, error) {
	out := map[string]Invoice{}
	if len(ids) == 0 {
		return out, nil
	}
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		invs, err := s.store.LockInvoices(ctx, ids)
		if err != nil {
			return err
		}
		if len(invs) != len(ids) {
			return errs.New(errs.NotFound, "%d of %d invoices not found", len(ids)-len(invs), len(ids))
		}
		var keys []BalanceKey
		for i := range invs {
			inv := &invs[i]
			if inv.Status != StatusDraft {
				return errs.New(errs.FailedPrecondition, "invoice %q is %s, not a draft", errs.Short(inv.ID), inv.Status)
			}
			inv.setDraftTotals()
			if !inv.Subtotal.IsZero() {
				keys = append(keys, BalanceKey{CustomerID: inv.CustomerID, Currency: inv.Currency.Code})
			}
		}
		balances, err := s.store.LockBalances(ctx, keys)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		series := fmt.Sprintf("MP-%d", now.Year())
		last, err := s.store.NextNumbers(ctx, series, len(invs))
		if err != nil {
			return err
		}
		first := last - int64(len(invs)) + 1
		var events []Event
		for i := range invs {
			inv := &invs[i]
			key := BalanceKey{CustomerID: inv.CustomerID, Currency: inv.Currency.Code}
			if balances[key], err = s.applyCredit(ctx, inv, balances[key]); err != nil {
				return err
			}
			inv.Number = fmt.Sprintf("%s-%06d", series, first+int64(i))
			inv.Status, inv.Finalized, inv.Updated = StatusFinalized, now, now
			inv.BillTo = billTo[inv.CustomerID]
			if s.cfg.EncodeFinalized != nil {
				payload, err := s.cfg.EncodeFinalized(*inv)
				if err != nil {
					return err
				}
				events = append(events, Event{Key: inv.CustomerID, Payload: payload})
			}
			out[inv.ID] = *inv
		}
		if err := s.store.SetInvoices(ctx, invs); err != nil {
			return err
		}
		return s.store.AddEvents(ctx, TopicFinalized, events, now)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
