package invoice_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/store"
	"github.com/meterplane/meterplane/services/invoice/migrations"
)

// numbersOf returns the numbers of the finalized invoices, sorted.
func numbersOf(invs []invoice.Invoice) []string {
	var out []string
	for _, inv := range invs {
		if inv.Number != "" {
			out = append(out, inv.Number)
		}
	}
	slices.Sort(out)
	return out
}

func series(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("MP-2026-%06d", i+1)
	}
	return out
}

// TestPageFinalizeWithFailures: a run finalizes a page of six drafts in
// which metering refuses to close one customer's period (the batch close
// fails, and the periods are closed one at a time) and another's event
// cannot be encoded (the page's transaction fails, and each draft is
// frozen alone): the four others are finalized with the numbers 1 to 4,
// and the two failing ones stay drafts until the next run finalizes them
// as 5 and 6.
func TestPageFinalizeWithFailures(t *testing.T) {
	t.Parallel()
	var broken sync.Map
	cfg := invoice.Config{Grace: time.Hour, EncodeFinalized: func(inv invoice.Invoice) ([]byte, error) {
		if _, bad := broken.Load(inv.CustomerID); bad {
			return nil, errors.New("cannot encode")
		}
		return []byte(inv.Number), nil
	}}
	each(t, cfg, func(t *testing.T, e *env) {
		ctx := t.Context()
		// The engines' subtests run at once and share broken: each breaks
		// customers of its own.
		c := func(i int) string { return fmt.Sprintf("%s-c%d", t.Name(), i) }
		for i := range 6 {
			e.src.subscribe(c(i), fmt.Sprint("sub_", i), hosting, day("2026-01-01"), false)
		}
		e.src.failClose[c(1)] = true
		broken.Store(c(4), true)
		e.clock.Set(day("2026-02-01").Add(2 * time.Hour))
		run := must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Created != 6 || run.Finalized != 4 || run.Failures != 2 {
			t.Fatalf("first run: %+v", run.Counts)
		}
		invs := e.invoices(t)
		if got := numbersOf(invs); !slices.Equal(got, series(4)) {
			t.Fatalf("numbers %v", got)
		}
		for _, inv := range invs {
			failing := inv.CustomerID == c(1) || inv.CustomerID == c(4)
			if failing != (inv.Status == invoice.StatusDraft) {
				t.Fatalf("%s is %s", inv.CustomerID, inv.Status)
			}
		}
		delete(e.src.failClose, c(1))
		broken.Delete(c(4))
		e.clock.Set(day("2026-02-01").Add(3 * time.Hour))
		run = must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Finalized != 2 || run.Failures != 0 {
			t.Fatalf("second run: %+v", run.Counts)
		}
		if got := numbersOf(e.invoices(t)); !slices.Equal(got, series(6)) {
			t.Fatalf("numbers %v", got)
		}
	})
}

// TestPageAndSingleFinalizesAreGapless runs, on PostgreSQL, a billing run
// that finalizes 40 drafts in one page while FinalizeInvoice is called on
// each of them at the same time: every draft is finalized exactly once
// (the loser of each race gets FailedPrecondition), and the numbers are 1
// to 40 with no gap or double.
func TestPageAndSingleFinalizesAreGapless(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Postgres(t, "invoice", migrations.FS), invoice.Config{Grace: time.Hour})
	ctx := t.Context()
	const n = 40
	for i := range n {
		e.src.subscribe(fmt.Sprintf("c%02d", i), fmt.Sprint("sub_", i), hosting, day("2026-01-01"), false)
	}
	e.clock.Set(day("2026-02-01").Add(time.Minute))
	must(e.svc.RunBilling(ctx, invoice.RunInput{}))
	drafts := e.invoices(t)
	if len(drafts) != n {
		t.Fatalf("%d drafts", len(drafts))
	}
	e.clock.Set(day("2026-02-01").Add(2 * time.Hour))
	var singles sync.Map
	var wg sync.WaitGroup
	var run invoice.Run
	wg.Go(func() { run = must(e.svc.RunBilling(ctx, invoice.RunInput{})) })
	for _, inv := range drafts {
		wg.Go(func() {
			fin, err := e.svc.Finalize(ctx, inv.ID)
			switch {
			case err == nil:
				singles.Store(inv.ID, fin.Number)
			case !errs.Is(err, errs.FailedPrecondition):
				t.Errorf("finalize %s: %v", inv.ID, err)
			}
		})
	}
	wg.Wait()
	won := 0
	singles.Range(func(_, _ any) bool { won++; return true })
	if int(run.Finalized)+won != n {
		t.Fatalf("the run finalized %d and single calls %d of %d", run.Finalized, won, n)
	}
	invs := e.invoices(t)
	if got := numbersOf(invs); !slices.Equal(got, series(n)) {
		t.Fatalf("numbers %v", got)
	}
	for _, inv := range invs {
		if num, ok := singles.Load(inv.ID); ok && num != inv.Number {
			t.Fatalf("%s was returned %s and stored %s", inv.ID, num, inv.Number)
		}
	}
}

// TestPageCreditAcrossInvoices: a customer's consolidated invoice and its
// separately billed subscription's invoice are finalized in one page and
// share a credit balance of 15.00: the first by id uses 10.00 of it (total
// 0.00), the second the 5.00 left (total 5.00), and the balance ends at
// zero, with numbers in id order.
func TestPageCreditAcrossInvoices(t *testing.T) {
	t.Parallel()
	each(t, invoice.Config{Grace: time.Hour}, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-01-01"), false)
		e.src.subscribe("acme", "sub_b", hosting, day("2026-01-01"), true)
		e.clock.Set(day("2026-02-01").Add(2 * time.Hour))
		if run := must(e.svc.RunBilling(ctx, invoice.RunInput{})); run.Finalized != 2 {
			t.Fatalf("January: %+v", run.Counts)
		}
		jan := e.find(t, "acme", "2026-01-01")
		must(e.svc.IssueCreditNote(ctx, invoice.CreditNoteInput{InvoiceID: jan.ID, Amount: "15.00"}))
		e.clock.Set(day("2026-03-01").Add(2 * time.Hour))
		if run := must(e.svc.RunBilling(ctx, invoice.RunInput{})); run.Created != 2 || run.Finalized != 2 || run.Failures != 0 {
			t.Fatalf("February: %+v", run.Counts)
		}
		var feb []invoice.Invoice
		for _, inv := range e.invoices(t) {
			if inv.Period.From.Equal(day("2026-02-01")) {
				feb = append(feb, inv)
			}
		}
		slices.SortFunc(feb, func(a, b invoice.Invoice) int { return strings.Compare(a.ID, b.ID) })
		if len(feb) != 2 {
			t.Fatalf("%d February invoices", len(feb))
		}
		want := []struct{ applied, total, number string }{{"10", "0", "MP-2026-000003"}, {"5", "5", "MP-2026-000004"}}
		for i, inv := range feb {
			if inv.Subtotal.String() != "10" || inv.CreditApplied.String() != want[i].applied || inv.Total.String() != want[i].total ||
				inv.Number != want[i].number {
				t.Fatalf("February invoice %d: subtotal %s, credit %s, total %s, number %s", i, inv.Subtotal, inv.CreditApplied, inv.Total, inv.Number)
			}
		}
		if bal := must(store.New(e.db).Balance(ctx, "acme", "EUR")); !bal.IsZero() {
			t.Fatalf("balance %s after February", bal)
		}
	})
}
