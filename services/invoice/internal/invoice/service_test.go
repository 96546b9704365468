package invoice_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// keepDrafts is a grace no test period reaches: runs leave drafts.
var keepDrafts = invoice.Config{Grace: 10 * 365 * 24 * time.Hour}

// TestRunIsIdempotent: a first run bills every ended period of every
// customer, across pages; a second run creates nothing and changes
// nothing. acme subscribed on Jan 1st: January carries January's first fee
// and February's advance fee (10.00 + 10.00 = 20.00), February carries
// March's (10.00); March has not ended on March 15th.
func TestRunIsIdempotent(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-01-01"), false)
		e.src.subscribe("bakery", "sub_b", hosting, day("2026-02-01"), false)
		run := must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Status != invoice.RunCompleted || run.Periods != 3 || run.Created != 3 || run.Failures != 0 || run.Finalized != 0 {
			t.Fatalf("first run: %+v", run)
		}
		if got := amounts(e.find(t, "acme", "2026-01-01")); !slices.Equal(got, []string{"10.00", "10.00"}) {
			t.Fatalf("acme January: %v", got)
		}
		jan := e.find(t, "acme", "2026-01-01")
		if jan.Total.String() != "20" || jan.Status != invoice.StatusDraft || jan.RunID != run.ID || jan.Lines[0].ERPProductID != "P-HOST" {
			t.Fatalf("acme January: %+v", jan)
		}
		if got := amounts(e.find(t, "acme", "2026-02-01")); !slices.Equal(got, []string{"10.00"}) {
			t.Fatalf("acme February: %v", got)
		}
		again := must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if again.Created != 0 || again.Updated != 0 || again.Unchanged != 3 || again.Periods != 3 {
			t.Fatalf("second run: %+v", again)
		}
		if n := len(e.invoices(t)); n != 3 {
			t.Fatalf("%d invoices after two runs, want 3", n)
		}
		got := must(e.svc.GetRun(ctx, run.ID))
		if got.Created != 3 || got.End.IsZero() || got.Status != invoice.RunCompleted {
			t.Fatalf("stored run: %+v", got)
		}
		runs := must(e.svc.ListRuns(ctx, pageOf(1)))
		if len(runs.Items) != 1 || runs.Items[0].ID != again.ID || runs.NextToken == "" {
			t.Fatalf("runs newest first: %+v", runs)
		}
	})
}

// TestKilledRunCompletes: a run that stops on its second page of due
// periods has written the first; the next run bills the rest, with no
// duplicate invoice or line. Each February: its first fee and March's,
// 10.00 + 10.00.
func TestKilledRunCompletes(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		for _, c := range []string{"c1", "c2", "c3"} {
			e.src.subscribe(c, "sub_"+c, hosting, day("2026-02-01"), false)
		}
		e.src.failPage = 2
		run, err := e.svc.RunBilling(ctx, invoice.RunInput{})
		if err == nil || run.Status != invoice.RunFailed || run.Created != 2 {
			t.Fatalf("killed run: %+v %v", run, err)
		}
		if n := len(e.invoices(t)); n != 2 {
			t.Fatalf("%d invoices after the killed run, want 2", n)
		}
		e.src.failPage = 0
		run = must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Created != 1 || run.Unchanged != 2 || run.Status != invoice.RunCompleted {
			t.Fatalf("next run: %+v", run)
		}
		invs := e.invoices(t)
		if len(invs) != 3 {
			t.Fatalf("%d invoices, want 3", len(invs))
		}
		for _, inv := range invs {
			if len(inv.Lines) != 2 || inv.Total.String() != "20" {
				t.Fatalf("invoice of %s: %v", inv.CustomerID, amounts(inv))
			}
		}
	})
}

// TestDraftRecomputeKeepsLineIDs: late usage changes a draft; only the
// difference is written and the fee line keeps its id; more usage keeps
// the usage line's id too. February: 10.00 (its first fee) + 10.00
// (March's); 130 GiB used, 100 included: 30 × 0.50 = 15.00; then 150 GiB:
// 50 × 0.50 = 25.00.
func TestDraftRecomputeKeepsLineIDs(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-02-01"), false)
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		before := e.find(t, "acme", "2026-02-01")

		e.src.use("acme", day("2026-02-10"), "bandwidth", "130")
		run := must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Updated != 1 || run.Created != 0 {
			t.Fatalf("run after late usage: %+v", run)
		}
		after := e.find(t, "acme", "2026-02-01")
		if after.ID != before.ID || !slices.Equal(amounts(after), []string{"10.00", "10.00", "15.00"}) || after.Total.String() != "35" {
			t.Fatalf("draft after usage: %v %s", amounts(after), after.Total)
		}
		if !slices.Equal(lineIDs(after)[:2], lineIDs(before)) || after.Lines[2].Kind != rating.KindOverage {
			t.Fatalf("fee line id %s became %s", before.Lines[0].ID, after.Lines[0].ID)
		}

		e.src.use("acme", day("2026-02-10"), "bandwidth", "150")
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		last := e.find(t, "acme", "2026-02-01")
		if !slices.Equal(lineIDs(last), lineIDs(after)) || !slices.Equal(amounts(last), []string{"10.00", "10.00", "25.00"}) {
			t.Fatalf("usage line: ids %v → %v, amounts %v", lineIDs(after), lineIDs(last), amounts(last))
		}
	})
}

// TestFinalizeByRun: drafts past the grace period are finalized by the
// run: the period is closed in metering first, the number series is per
// year and gapless, and a finalized invoice never changes again; late
// usage of its period becomes an explained adjustment on the next draft.
func TestFinalizeByRun(t *testing.T) {
	t.Parallel()
	each(t, invoice.Config{Grace: time.Hour}, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-01-01"), false)
		e.clock.Set(day("2026-02-01").Add(30 * time.Minute))
		run := must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Created != 1 || run.Finalized != 0 {
			t.Fatalf("inside the grace period: %+v", run)
		}
		e.clock.Set(day("2026-02-01").Add(2 * time.Hour))
		run = must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Finalized != 1 {
			t.Fatalf("after the grace period: %+v", run)
		}
		jan := e.find(t, "acme", "2026-01-01")
		if jan.Status != invoice.StatusFinalized || jan.Number != "MP-2026-000001" || jan.Total.String() != "20" || jan.Finalized.IsZero() {
			t.Fatalf("finalized: %+v", jan)
		}
		if !slices.Equal(e.src.closed, []string{"acme 2026-01"}) {
			t.Fatalf("closed periods: %v", e.src.closed)
		}
		// 120 GiB arrive late for January: 20 × 0.50 = 10.00 more.
		e.src.use("acme", day("2026-01-20"), "bandwidth", "120")
		e.clock.Set(day("2026-03-01").Add(10 * time.Minute))
		run = must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Created != 1 || run.Finalized != 0 {
			t.Fatalf("February run: %+v", run)
		}
		if again := e.find(t, "acme", "2026-01-01"); !slices.Equal(amounts(again), amounts(jan)) || again.Status != invoice.StatusFinalized {
			t.Fatalf("a finalized invoice changed: %v", amounts(again))
		}
		feb := e.find(t, "acme", "2026-02-01")
		if !slices.Equal(amounts(feb), []string{"10.00", "10.00"}) || feb.Lines[1].Kind != invoice.KindAdjustment ||
			!strings.Contains(feb.Lines[1].Description, "MP-2026-000001") || !feb.Lines[1].Period.From.Equal(day("2026-01-01")) {
			t.Fatalf("February with the adjustment: %+v", feb.Lines)
		}
		if _, err := e.svc.Finalize(ctx, jan.ID); !errs.Is(err, errs.FailedPrecondition) {
			t.Fatalf("finalize twice: %v", err)
		}
		e.clock.Set(day("2026-03-01").Add(2 * time.Hour))
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if feb := e.find(t, "acme", "2026-02-01"); feb.Number != "MP-2026-000002" || feb.Total.String() != "20" {
			t.Fatalf("February finalized: %+v", feb)
		}
		// March: the adjustment is not repeated once February carried it.
		e.clock.Set(day("2026-04-01").Add(10 * time.Minute))
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if got := amounts(e.find(t, "acme", "2026-03-01")); !slices.Equal(got, []string{"10.00"}) {
			t.Fatalf("March: %v", got)
		}
	})
}

// TestFinalizedDocumentKeepsItsCustomer: a finalized invoice names the
// customer as it was when finalized, even after the customer is renamed;
// a draft shows the customer as it is now.
func TestFinalizedDocumentKeepsItsCustomer(t *testing.T) {
	t.Parallel()
	each(t, invoice.Config{Grace: time.Hour}, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-01-01"), false)
		e.clock.Set(day("2026-02-01").Add(2 * time.Hour))
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		jan := e.find(t, "acme", "2026-01-01")
		if jan.Status != invoice.StatusFinalized || jan.BillTo.Name != "Customer acme" {
			t.Fatalf("finalized: %+v", jan)
		}
		e.src.mu.Lock()
		e.src.names = map[string]string{"acme": "Acme Renamed Ltd"}
		e.src.mu.Unlock()
		e.clock.Set(day("2026-03-01").Add(10 * time.Minute))
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		for _, c := range []struct{ period, want, not string }{
			{"2026-01-01", "Customer acme", "Acme Renamed Ltd"},
			{"2026-02-01", "Acme Renamed Ltd", "Customer acme"},
		} {
			_, html, err := e.svc.Document(ctx, e.find(t, "acme", c.period).ID, invoice.HTML)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(html), c.want) || strings.Contains(string(html), c.not) {
				t.Errorf("document of %s: want %q and not %q", c.period, c.want, c.not)
			}
		}
	})
}

// TestBackdatedSubscription: a subscription backdated into periods that
// ended before the last run is billed by the next run.
func TestBackdatedSubscription(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-02-01"), false)
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		e.src.subscribe("late", "sub_l", hosting, day("2026-01-01"), false)
		run := must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		if run.Created != 2 || run.Unchanged != 1 {
			t.Fatalf("run after the backdated subscription: %+v", run)
		}
		if got := amounts(e.find(t, "late", "2026-01-01")); !slices.Equal(got, []string{"10.00", "10.00"}) {
			t.Fatalf("late's January: %v", got)
		}
	})
}

// TestRequireComplete: with the setting, a draft waits for metering to say
// its period is complete.
func TestRequireComplete(t *testing.T) {
	t.Parallel()
	each(t, invoice.Config{Grace: time.Hour, RequireComplete: true}, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-02-01"), false)
		e.src.incomplete["acme"] = true
		if run := must(e.svc.RunBilling(ctx, invoice.RunInput{})); run.Finalized != 0 || run.Created != 1 {
			t.Fatalf("incomplete: %+v", run)
		}
		e.src.incomplete["acme"] = false
		if run := must(e.svc.RunBilling(ctx, invoice.RunInput{})); run.Finalized != 1 {
			t.Fatalf("complete: %+v", run)
		}
	})
}

// TestConcurrentFinalizesAreGapless: twenty drafts finalized at once get
// the numbers 1 to 20 of the year's series.
func TestConcurrentFinalizesAreGapless(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		const n = 20
		for i := range n {
			e.src.subscribe(fmt.Sprintf("c%02d", i), fmt.Sprint("sub_", i), hosting, day("2026-02-01"), false)
		}
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		invs := e.invoices(t)
		if len(invs) != n {
			t.Fatalf("%d drafts", len(invs))
		}
		numbers := make([]string, n)
		var wg sync.WaitGroup
		for i, inv := range invs {
			wg.Go(func() {
				fin, err := e.svc.Finalize(ctx, inv.ID)
				if err != nil {
					t.Error(err)
				}
				numbers[i] = fin.Number
			})
		}
		wg.Wait()
		slices.Sort(numbers)
		for i, num := range numbers {
			if want := fmt.Sprintf("MP-2026-%06d", i+1); num != want {
				t.Fatalf("numbers %v: %s, want %s", numbers, num, want)
			}
		}
	})
}

// TestCreditNotesAndBalance: a credit note of part of a finalized invoice
// goes to the balance, which the next invoice consumes; no more than what
// is left can be credited; voiding issues a credit note of the rest and
// gives back the credit the invoice used; paying works on finalized
// invoices only. January 20.00, credited 5.00; February 10.00 − 5.00 =
// 5.00 to pay.
func TestCreditNotesAndBalance(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-01-01"), false)
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		jan := must(e.svc.Finalize(ctx, e.find(t, "acme", "2026-01-01").ID))
		cn := must(e.svc.IssueCreditNote(ctx, invoice.CreditNoteInput{InvoiceID: jan.ID, Amount: "5.00", Reason: "outage"}))
		if cn.Number != "CN-2026-000001" || cn.Amount.String() != "5" {
			t.Fatalf("credit note: %+v", cn)
		}
		if _, err := e.svc.IssueCreditNote(ctx, invoice.CreditNoteInput{InvoiceID: jan.ID, Amount: "15.01"}); !errs.Is(err, errs.FailedPrecondition) {
			t.Fatalf("more than is left: %v", err)
		}
		if _, err := e.svc.IssueCreditNote(ctx, invoice.CreditNoteInput{InvoiceID: jan.ID, Amount: "1.001"}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("below the cent: %v", err)
		}
		for _, bad := range []string{"-1", "0", "1e3", "abc"} {
			if _, err := e.svc.IssueCreditNote(ctx, invoice.CreditNoteInput{InvoiceID: jan.ID, Amount: bad}); !errs.Is(err, errs.Invalid) {
				t.Fatalf("amount %q: %v", bad, err)
			}
		}
		feb := must(e.svc.Finalize(ctx, e.find(t, "acme", "2026-02-01").ID))
		if feb.Subtotal.String() != "10" || feb.CreditApplied.String() != "5" || feb.Total.String() != "5" ||
			feb.Lines[len(feb.Lines)-1].Kind != rating.KindCredit || feb.Lines[len(feb.Lines)-1].Amount.String() != "-5" {
			t.Fatalf("February with the credit: %+v", feb)
		}
		if _, _, err := e.svc.Void(ctx, jan.ID, "customer left"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.MarkPaid(ctx, jan.ID); !errs.Is(err, errs.FailedPrecondition) {
			t.Fatalf("pay a void invoice: %v", err)
		}
		notes := must(e.svc.ListCreditNotes(ctx, jan.ID))
		if len(notes) != 2 || notes[1].Number != "CN-2026-000002" || notes[1].Amount.String() != "15" {
			t.Fatalf("credit notes of the void invoice: %+v", notes)
		}
		// Voiding February gives back the 5.00 of credit it used.
		feb, cnFeb, err := e.svc.Void(ctx, feb.ID, "")
		if err != nil || feb.Status != invoice.StatusVoid || cnFeb == nil || cnFeb.Amount.String() != "5" {
			t.Fatalf("void February: %+v %+v %v", feb, cnFeb, err)
		}
		e.clock.Set(day("2026-04-01").Add(time.Minute))
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		mar := must(e.svc.Finalize(ctx, e.find(t, "acme", "2026-03-01").ID))
		if mar.CreditApplied.String() != "5" || mar.Total.String() != "5" {
			t.Fatalf("March uses the credit given back: %+v", mar)
		}
		paid := must(e.svc.MarkPaid(ctx, mar.ID))
		if paid.Status != invoice.StatusPaid || paid.Paid.IsZero() {
			t.Fatalf("paid: %+v", paid)
		}
		rest := must(e.svc.IssueCreditNote(ctx, invoice.CreditNoteInput{InvoiceID: mar.ID}))
		if rest.Amount.String() != "5" {
			t.Fatalf("credit all of a paid invoice: %+v", rest)
		}
	})
}

// TestPreviewStoresNothing: the preview rates the current period with the
// balance applied and writes nothing. March 15th, acme since March 1st:
// March's first fee 10.00 and April's advance fee 10.00.
func TestPreviewStoresNothing(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("acme", "sub_a", hosting, day("2026-03-01"), false)
		e.src.use("acme", day("2026-03-10"), "bandwidth", "101")
		invs := must(e.svc.Preview(ctx, "acme"))
		if len(invs) != 1 || !slices.Equal(amounts(invs[0]), []string{"10.00", "10.00", "0.50"}) || invs[0].Total.String() != "20.5" {
			t.Fatalf("preview: %+v", invs)
		}
		if n := len(e.invoices(t)); n != 0 {
			t.Fatalf("preview stored %d invoices", n)
		}
		if _, err := e.svc.Preview(ctx, "bad\x00id"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("NUL in the id: %v", err)
		}
	})
}

// TestResellerSummary: a reseller's summary lists its customers' invoices
// of the period with totals, leaving out other customers.
func TestResellerSummary(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.src.subscribe("child1", "sub_1", hosting, day("2026-02-01"), false)
		e.src.subscribe("child2", "sub_2", hosting, day("2026-02-01"), true)
		e.src.subscribe("other", "sub_3", hosting, day("2026-02-01"), false)
		e.src.customers["child1"].parent, e.src.customers["child2"].parent = "clouder", "clouder"
		e.src.use("child2", day("2026-02-03"), "bandwidth", "110")
		must(e.svc.RunBilling(ctx, invoice.RunInput{}))
		sum := must(e.svc.ResellerSummary(ctx, invoice.SummaryInput{ResellerID: "clouder", PeriodFrom: day("2026-02-01"), PeriodTo: day("2026-03-01")}))
		// child1 10.00 + 10.00; child2's separate invoice 10.00 + 10.00 +
		// 10 × 0.50 = 25.00.
		if len(sum.Invoices) != 2 || sum.Totals["EUR"].String() != "45" {
			t.Fatalf("summary: %+v", sum)
		}
		if sum.Invoices[1].SubscriptionID != "sub_2" && sum.Invoices[0].SubscriptionID != "sub_2" {
			t.Fatalf("child2's separate invoice missing: %+v", sum.Invoices)
		}
		if _, err := e.svc.ResellerSummary(ctx, invoice.SummaryInput{ResellerID: "clouder"}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("no period: %v", err)
		}
	})
}

// TestBadInput: bad times and ids are InvalidArgument naming the field.
func TestBadInput(t *testing.T) {
	t.Parallel()
	each(t, keepDrafts, func(t *testing.T, e *env) {
		ctx := t.Context()
		for _, asOf := range []time.Time{day("2026-03-16"), time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)} {
			if _, err := e.svc.RunBilling(ctx, invoice.RunInput{AsOf: asOf}); !errs.Is(err, errs.Invalid) {
				t.Fatalf("as_of %v: %v", asOf, err)
			}
		}
		if _, err := e.svc.GetInvoice(ctx, strings.Repeat("x", 300)); !errs.Is(err, errs.Invalid) {
			t.Fatalf("long id: %v", err)
		}
		if _, err := e.svc.GetInvoice(ctx, "inv_none"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown id: %v", err)
		}
		in := invoice.ListInput{PeriodFrom: day("2026-03-01"), PeriodTo: day("2026-02-01")}
		if _, err := e.svc.ListInvoices(ctx, in); !errs.Is(err, errs.Invalid) {
			t.Fatalf("reversed period: %v", err)
		}
		in = invoice.ListInput{PeriodFrom: day("2026-03-01"), PeriodTo: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
		if _, err := e.svc.ListInvoices(ctx, in); !errs.Is(err, errs.Invalid) {
			t.Fatalf("year 9999: %v", err)
		}
	})
}
