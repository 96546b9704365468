package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
	"github.com/meterplane/meterplane/services/invoice/internal/store"
	"github.com/meterplane/meterplane/services/invoice/migrations"
)

var (
	eur   = money.Currency{Code: "EUR", Minor: 2}
	april = rating.Period{From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}
	now   = time.Date(2026, 5, 2, 10, 0, 0, 0, time.UTC)
)

func line(id, desc, amount string) invoice.Line {
	return invoice.Line{ID: id, Line: rating.Line{Kind: rating.KindRecurringFee, Description: desc, Quantity: money.MustParse("1"),
		UnitPrice: money.MustParse(amount), Amount: money.MustParse(amount), Period: april, SubscriptionID: "sub_1",
		PlanKey: "hosting", PlanVersion: 2, ERPProductID: "P-1", ERPUnitID: "U-1"}}
}

func draft(id, customer, sub string) invoice.Invoice {
	return invoice.Invoice{ID: id, CustomerID: customer, SubscriptionID: sub, Currency: eur, Period: april,
		Status: invoice.StatusDraft, Subtotal: money.MustParse("12.50"), CreditApplied: money.Zero,
		Total: money.MustParse("12.50"), Credited: money.Zero, RunID: "run_1", Created: now, Updated: now,
		Lines: []invoice.Line{line("li_a", "Hosting", "10.00"), line("li_b", "Setup", "2.50")}}
}

// TestInvoices: an invoice is unique per customer, period, currency and
// subscription; its lines come back in order with exact decimals; a diff
// changes only what it names; lists filter and page newest first.
func TestInvoices(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "invoice", migrations.FS, func(t *testing.T, db *storage.DB) {
		st, ctx := store.New(db), t.Context()
		if err := st.CreateInvoice(ctx, draft("inv_1", "cus_1", "")); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateInvoice(ctx, draft("inv_2", "cus_1", "")); !errs.Is(err, errs.AlreadyExists) {
			t.Fatalf("second invoice of one key: %v, want AlreadyExists", err)
		}
		if err := st.CreateInvoice(ctx, draft("inv_3", "cus_1", "sub_9")); err != nil {
			t.Fatalf("separate invoice: %v", err)
		}
		// A batch with one taken key writes nothing.
		if err := st.CreateInvoices(ctx, []invoice.Invoice{draft("inv_4", "cus_2", ""), draft("inv_5", "cus_1", "")}); !errs.Is(err, errs.AlreadyExists) {
			t.Fatalf("batch with a taken key: %v", err)
		}
		if _, err := st.GetInvoice(ctx, "inv_4"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("the batch left inv_4: %v", err)
		}
		if err := st.CreateInvoices(ctx, []invoice.Invoice{draft("inv_4", "cus_2", ""), draft("inv_5", "cus_3", "")}); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetInvoice(ctx, "inv_5"); err != nil || len(got.Lines) != 2 {
			t.Fatalf("batch invoice: %v %+v", err, got)
		}
		if got, err := st.Invoiced(ctx, []invoice.Due{{CustomerID: "cus_3", Currency: eur, Period: april},
			{CustomerID: "cus_9", Currency: eur, Period: april}}); err != nil || len(got) != 1 {
			t.Fatalf("invoiced: %v %v", got, err)
		}
		got, err := st.GetInvoice(ctx, "inv_1")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Lines) != 2 || got.Lines[0].ID != "li_a" || got.Lines[1].Amount.String() != "2.5" ||
			!got.Total.Equal(money.MustParse("12.50")) || !got.Period.From.Equal(april.From) || got.Lines[0].ERPUnitID != "U-1" {
			t.Fatalf("read back %+v", got)
		}

		// li_a changes, li_b goes, li_c comes first.
		changed := line("li_a", "Hosting", "11.00")
		diff := invoice.LineDiff{Insert: []invoice.Line{line("li_c", "Extra", "1.00")}, Update: []invoice.Line{changed},
			Delete: []string{"li_b"}, Seq: map[string]int{"li_c": 0, "li_a": 1}}
		got.Subtotal, got.Total = money.MustParse("12.00"), money.MustParse("12.00")
		if err := st.WriteDraft(ctx, got, diff); err != nil {
			t.Fatal(err)
		}
		got, err = st.GetInvoice(ctx, "inv_1")
		if err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, l := range got.Lines {
			ids = append(ids, l.ID)
		}
		if !slices.Equal(ids, []string{"li_c", "li_a"}) || got.Lines[1].Amount.String() != "11" || got.Total.String() != "12" {
			t.Fatalf("after diff: %v %+v", ids, got)
		}

		locked, err := st.LockPeriod(ctx, invoice.Due{CustomerID: "cus_1", Currency: eur, Period: april})
		if err != nil || len(locked) != 2 || locked[0].SubscriptionID != "" || locked[1].SubscriptionID != "sub_9" || len(locked[1].Lines) != 2 {
			t.Fatalf("period invoices: %v %+v", err, locked)
		}
		if _, err := st.GetInvoice(ctx, "inv_none"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown invoice: %v", err)
		}

		got.Status, got.Number, got.Finalized = invoice.StatusFinalized, "MP-2026-000001", now
		if err := st.SetInvoice(ctx, got); err != nil {
			t.Fatal(err)
		}
		drafts, err := st.Drafts(ctx, april.To, "", 10)
		if err != nil || len(drafts) != 3 || drafts[0].ID != "inv_3" || drafts[2].ID != "inv_5" {
			t.Fatalf("drafts: %v %+v", err, drafts)
		}
		if drafts, _ := st.Drafts(ctx, april.To.Add(-time.Second), "", 10); len(drafts) != 0 {
			t.Fatalf("drafts of periods not ended: %+v", drafts)
		}
		final, err := st.Finalized(ctx, []invoice.Due{{CustomerID: "cus_1", Currency: eur, Period: rating.Period{From: april.To, To: april.To.AddDate(0, 1, 0)}}})
		if err != nil || len(final) != 1 {
			t.Fatalf("finalized before May: %v %v", final, err)
		}
		for _, invs := range final {
			if len(invs) != 1 || invs[0].ID != "inv_1" || len(invs[0].Lines) != 2 {
				t.Fatalf("finalized before May: %+v", invs)
			}
		}
		list, err := st.ListInvoices(ctx, invoice.InvoiceFilter{CustomerIDs: []string{"cus_1"}}, "", 10)
		if err != nil || len(list) != 2 || list[0].ID != "inv_3" {
			t.Fatalf("list newest first: %v %+v", err, list)
		}
		list, _ = st.ListInvoices(ctx, invoice.InvoiceFilter{Status: invoice.StatusFinalized}, "", 10)
		if len(list) != 1 || list[0].Number != "MP-2026-000001" {
			t.Fatalf("list finalized: %+v", list)
		}
		list, _ = st.ListInvoices(ctx, invoice.InvoiceFilter{PeriodFrom: april.To, PeriodTo: april.To.AddDate(0, 1, 0)}, "", 10)
		if len(list) != 0 {
			t.Fatalf("list of May: %+v", list)
		}
		list, _ = st.ListInvoices(ctx, invoice.InvoiceFilter{}, "inv_3", 10)
		if len(list) != 1 || list[0].ID != "inv_1" {
			t.Fatalf("second page: %+v", list)
		}
	})
}

// TestNumbersAreGapless: concurrent transactions take numbers of one
// series; the ones that roll back leave no gap.
func TestNumbersAreGapless(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "invoice", migrations.FS, func(t *testing.T, db *storage.DB) {
		st, ctx := store.New(db), t.Context()
		const n = 30
		var mu sync.Mutex
		var got []int64
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var num int64
				err := st.InTx(ctx, func(ctx context.Context) error {
					var err error
					if num, err = st.NextNumber(ctx, "MP-2026"); err != nil {
						return err
					}
					if i%3 == 0 {
						return errors.New("roll back")
					}
					return nil
				})
				if err == nil {
					mu.Lock()
					got = append(got, num)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(got)
		for i, num := range got {
			if num != int64(i+1) {
				t.Fatalf("numbers %v are not 1..%d", got, len(got))
			}
		}
		if len(got) != n-10 {
			t.Fatalf("%d committed, want %d", len(got), n-10)
		}
		if next, err := st.NextNumber(ctx, "CN-2026"); err != nil || next != 1 {
			t.Fatalf("another series: %d %v", next, err)
		}
	})
}

// TestCreditBalance: the ledger adds to and takes from the balance, which
// never goes negative.
func TestCreditBalance(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "invoice", migrations.FS, func(t *testing.T, db *storage.DB) {
		st, ctx := store.New(db), t.Context()
		add := func(id, amount string) (money.Decimal, error) {
			var bal money.Decimal
			err := st.InTx(ctx, func(ctx context.Context) error {
				if _, err := st.LockBalance(ctx, "cus_1", "EUR"); err != nil {
					return err
				}
				var err error
				bal, err = st.AddCredit(ctx, invoice.LedgerEntry{ID: id, CustomerID: "cus_1", Currency: "EUR",
					Amount: money.MustParse(amount), Reason: "test", Created: now})
				return err
			})
			return bal, err
		}
		if bal, err := add("led_1", "25.10"); err != nil || bal.String() != "25.1" {
			t.Fatalf("add: %s %v", bal, err)
		}
		if bal, err := add("led_2", "-5.10"); err != nil || bal.String() != "20" {
			t.Fatalf("use: %s %v", bal, err)
		}
		if _, err := add("led_3", "-20.01"); !errs.Is(err, errs.FailedPrecondition) {
			t.Fatalf("overdraw: %v", err)
		}
		if bal, err := st.Balance(ctx, "cus_1", "EUR"); err != nil || bal.String() != "20" {
			t.Fatalf("balance: %s %v", bal, err)
		}
		if bal, err := st.Balance(ctx, "cus_1", "USD"); err != nil || !bal.IsZero() {
			t.Fatalf("other currency: %s %v", bal, err)
		}
	})
}

// TestRunsAndCreditNotes: runs list newest first and the last completed
// one gives its as_of; credit notes list oldest first.
func TestRunsAndCreditNotes(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "invoice", migrations.FS, func(t *testing.T, db *storage.DB) {
		st, ctx := store.New(db), t.Context()
		if last, err := st.LastCompletedAsOf(ctx); err != nil || !last.IsZero() {
			t.Fatalf("no run: %v %v", last, err)
		}
		for i := 1; i <= 3; i++ {
			r := invoice.Run{ID: fmt.Sprint("run_", i), AsOf: now.AddDate(0, 0, i), Status: invoice.RunRunning, Start: now}
			if err := st.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			if i < 3 {
				r.Status, r.End, r.Counts = invoice.RunCompleted, now.Add(time.Minute), invoice.Counts{Periods: 4, Created: 3, Failures: int64(i - 1)}
				if err := st.UpdateRun(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
		}
		// run_2 completed with a failure: its periods are billed again.
		if last, err := st.LastCompletedAsOf(ctx); err != nil || !last.Equal(now.AddDate(0, 0, 1)) {
			t.Fatalf("last completed: %v %v", last, err)
		}
		runs, err := st.ListRuns(ctx, "", 2)
		if err != nil || len(runs) != 2 || runs[0].ID != "run_3" || runs[1].Periods != 4 || runs[1].Failures != 1 || runs[0].Status != invoice.RunRunning || !runs[1].End.Equal(now.Add(time.Minute)) {
			t.Fatalf("runs: %v %+v", err, runs)
		}
		if err := st.CreateInvoice(ctx, draft("inv_1", "cus_1", "")); err != nil {
			t.Fatal(err)
		}
		for i, amount := range []string{"2.50", "1.25"} {
			cn := invoice.CreditNote{ID: fmt.Sprint("cn_", i), Number: fmt.Sprintf("CN-2026-%06d", i+1), InvoiceID: "inv_1",
				CustomerID: "cus_1", Currency: eur, Amount: money.MustParse(amount), Reason: "goodwill", Created: now.Add(time.Duration(i) * time.Second)}
			if err := st.CreateCreditNote(ctx, cn); err != nil {
				t.Fatal(err)
			}
		}
		cns, err := st.ListCreditNotes(ctx, "inv_1")
		if err != nil || len(cns) != 2 || cns[0].Number != "CN-2026-000001" || cns[1].Amount.String() != "1.25" || cns[1].Currency != eur {
			t.Fatalf("credit notes: %v %+v", err, cns)
		}
	})
}
