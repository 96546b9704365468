package invoice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/textcheck"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// CatchUp is how far before the last completed run's as_of a run looks
// for ended periods without an invoice, such as those of a subscription
// backdated since. A period that appears later than this after it ended
// is not billed by runs.
const CatchUp = 366 * 24 * time.Hour

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// draftBatch is how many drafts a run reads, rates and finalizes at once.
const draftBatch = 500

// RunBilling bills every period that ended at or before in.AsOf and after
// the as_of of the last completed run (every ended period on the first
// run), recomputes the drafts of earlier periods, and finalizes the drafts
// whose grace period has passed. A period or draft that fails is counted
// and logged and does not stop the run; a run that stops half-way is
// completed by the next, which finds what it wrote.
func (s *Service) RunBilling(ctx context.Context, in RunInput) (Run, error) {
	now := s.clock.Now()
	if err := in.Validate(now); err != nil {
		return Run{}, err
	}
	asOf := in.AsOf
	if asOf.IsZero() {
		asOf = now
	}
	run := Run{ID: ids.New("run"), AsOf: asOf.UTC(), Status: RunRunning, Start: now}
	if err := s.store.CreateRun(ctx, run); err != nil {
		return Run{}, err
	}
	s.log.InfoContext(ctx, "invoice: billing run started", "run_id", run.ID, "as_of", run.AsOf)
	started := time.Now()
	err := s.run(ctx, &run)
	run.End = s.clock.Now()
	run.Status = RunCompleted
	if err != nil {
		run.Status, run.Error = RunFailed, errs.Short(err.Error())
	}
	s.recordRun(ctx, run, time.Since(started))
	// The run's own context may be ending; its record is written anyway.
	if uerr := s.store.UpdateRun(context.WithoutCancel(ctx), run); uerr != nil && err == nil {
		err = uerr
	}
	s.log.InfoContext(ctx, "invoice: billing run ended", "run_id", run.ID, "status", run.Status, "periods", run.Periods,
		"created", run.Created, "updated", run.Updated, "unchanged", run.Unchanged, "finalized", run.Finalized,
		"failures", run.Failures, "error", err)
	if err != nil {
		return run, err
	}
	return run, nil
}

func (s *Service) run(ctx context.Context, run *Run) error {
	endedAfter, err := s.store.LastCompletedAsOf(ctx)
	if err != nil {
		return err
	}
	if endedAfter.IsZero() {
		// Unset would ask only each customer's latest period: the first
		// run bills every ended period.
		endedAfter = textcheck.MinTime
	} else {
		// Periods that ended before the last run but appeared since
		// (a subscription backdated into them) are billed too.
		endedAfter = maxTime(textcheck.MinTime, endedAfter.Add(-CatchUp))
	}
	rated := map[string]bool{}
	token := ""
	for {
		dues, next, err := s.src.DuePeriods(ctx, run.AsOf, endedAfter, token)
		if err != nil {
			return err
		}
		run.Periods += int64(len(dues))
		// Periods with invoices are left to the drafts pass (drafts) or
		// were finalized.
		invoiced, err := s.store.Invoiced(ctx, dues)
		if err != nil {
			return err
		}
		var fresh []Due
		for _, d := range dues {
			if !invoiced[dueKey(d)] {
				fresh = append(fresh, d)
				rated[dueKey(d)] = true
			}
		}
		s.bill(ctx, run, fresh, true)
		if next == "" {
			break
		}
		token = next
	}
	// Drafts of earlier periods: late usage or a backdated change may
	// have changed them.
	finalBy := run.AsOf.Add(-s.cfg.Grace)
	after := ""
	for {
		drafts, err := s.store.Drafts(ctx, run.AsOf, after, draftBatch)
		if err != nil {
			return err
		}
		var dues []Due
		for _, inv := range drafts {
			// The finalizing pass rates these again after closing their
			// periods: rating them here too would be wasted.
			if !s.cfg.RequireComplete && !inv.Period.To.After(finalBy) {
				continue
			}
			if d := inv.Due(); !rated[dueKey(d)] {
				rated[dueKey(d)] = true
				dues = append(dues, d)
			}
		}
		s.bill(ctx, run, dues, false)
		if len(drafts) < draftBatch {
			break
		}
		after = drafts[len(drafts)-1].ID
	}
	return s.finalizeDue(ctx, run)
}

// finalizeDue finalizes the drafts whose period ended a grace period or
// more before the run's as_of.
func (s *Service) finalizeDue(ctx context.Context, run *Run) error {
	after := ""
	for {
		drafts, err := s.store.Drafts(ctx, run.AsOf.Add(-s.cfg.Grace), after, draftBatch)
		if err != nil {
			return err
		}
		var page []Invoice
		for _, inv := range drafts {
			if s.cfg.RequireComplete {
				complete, err := s.src.Complete(ctx, inv.Due())
				if err != nil {
					run.Failures++
					s.log.WarnContext(ctx, "invoice: cannot ask completeness", "invoice_id", inv.ID, "error", err)
					continue
				}
				if !complete {
					continue
				}
			}
			page = append(page, inv)
		}
		_, failed := s.finalizePage(ctx, run.ID, page)
		for i, err := range failed {
			if err != nil {
				run.Failures++
				s.log.WarnContext(ctx, "invoice: cannot finalize", "invoice_id", page[i].ID, "error", err)
				continue
			}
			run.Finalized++
		}
		if len(drafts) < draftBatch {
			return nil
		}
		after = drafts[len(drafts)-1].ID
	}
}

func dueKey(d Due) string { return DueKey(d.CustomerID, d.Currency.Code, d.Period.From) }

// DueKey identifies a customer's period in a currency.
func DueKey(customerID, currency string, periodStart time.Time) string {
	return customerID + "\x00" + currency + "\x00" + periodStart.UTC().Format(time.RFC3339)
}

// bill rates dues with one batch of reads and writes each one's invoices,
// counting what it did in run. Dues that fresh says had no invoice are
// written together, in one transaction; if another writer created one
// meanwhile, each due is compared with what is stored instead.
func (s *Service) bill(ctx context.Context, run *Run, dues []Due, fresh bool) {
	if len(dues) == 0 {
		return
	}
	results, err := s.rate(ctx, dues)
	if err != nil {
		run.Failures += int64(len(dues))
		s.log.WarnContext(ctx, "invoice: cannot read the periods' inputs", "periods", len(dues), "error", err)
		return
	}
	fail := func(d Due, err error) {
		run.Failures++
		s.log.WarnContext(ctx, "invoice: cannot bill a period", "customer_id", d.CustomerID, "currency", d.Currency.Code,
			"period_start", d.Period.From, "error", err)
	}
	var okDues []Due
	var okResults []rated
	for i, d := range dues {
		if results[i].err != nil {
			fail(d, results[i].err)
			continue
		}
		okDues, okResults = append(okDues, d), append(okResults, results[i])
	}
	if fresh {
		now := s.clock.Now()
		var invs []Invoice
		for i, d := range okDues {
			for _, key := range okResults[i].order {
				if lines := okResults[i].lines[key]; len(lines) > 0 {
					invs = append(invs, newDraft(run.ID, d, key, lines, now))
				}
			}
		}
		err := s.store.CreateInvoices(ctx, invs)
		if err == nil {
			run.Created += int64(len(invs))
			return
		}
		if !errs.Is(err, errs.AlreadyExists) {
			for _, d := range okDues {
				fail(d, err)
			}
			return
		}
	}
	// Periods whose drafts would not change are not written: one read
	// for the page finds them.
	stored, err := s.store.PeriodInvoices(ctx, okDues)
	if err != nil {
		for _, d := range okDues {
			fail(d, err)
		}
		return
	}
	for i, d := range okDues {
		if have := stored[dueKey(d)]; len(have) > 0 && !changes(have, okResults[i]) {
			run.Unchanged += int64(len(have))
			continue
		}
		c, err := s.write(ctx, run.ID, d, okResults[i])
		if err != nil {
			fail(d, err)
			continue
		}
		run.Created, run.Updated, run.Unchanged = run.Created+c.Created, run.Updated+c.Updated, run.Unchanged+c.Unchanged
	}
}

// newDraft returns a new draft of the due with lines, for the separate
// subscription key ("" for the consolidated invoice).
func newDraft(runID string, d Due, key string, lines []rating.Line, now time.Time) Invoice {
	inv := Invoice{ID: ids.New("inv"), CustomerID: d.CustomerID, SubscriptionID: key, Currency: d.Currency,
		Period: d.Period, Status: StatusDraft, RunID: runID, Created: now, Updated: now}
	inv.Lines = assignIDs(inv.ID, lines)
	inv.setDraftTotals()
	return inv
}

// rated is one due rated: its invoices' lines by separate subscription
// ("" for the consolidated invoice), adjustments of the previous period
// included.
type rated struct {
	lines map[string][]rating.Line
	order []string
	err   error
}

// rate reads the inputs of dues, and of the previous periods whose
// invoices are finalized (to adjust them), in one batch, and rates them.
// A due that cannot be rated has its error in its result; the error
// returned is the batch's.
func (s *Service) rate(ctx context.Context, dues []Due) ([]rated, error) {
	all := append([]Due(nil), dues...)
	prevOf := make([]int, len(dues))
	billed := make([][]Invoice, len(dues))
	final, err := s.store.Finalized(ctx, dues)
	if err != nil {
		return nil, err
	}
	for i, d := range dues {
		prevOf[i] = -1
		if prev := final[dueKey(d)]; len(prev) > 0 {
			billed[i] = prev
			prevOf[i] = len(all)
			all = append(all, Due{CustomerID: d.CustomerID, Currency: d.Currency, Period: prev[0].Period})
		}
	}
	inputs, err := s.src.Inputs(ctx, all)
	if err != nil {
		return nil, err
	}
	if len(inputs) != len(all) {
		return nil, fmt.Errorf("invoice: %d inputs for %d periods", len(inputs), len(all))
	}
	out := make([]rated, len(dues))
	for i := range dues {
		out[i] = rateOne(inputs[i])
		if out[i].err != nil || prevOf[i] < 0 {
			continue
		}
		again := rateOne(inputs[prevOf[i]])
		if again.err != nil {
			out[i].err = again.err
			continue
		}
		out[i].adjust(billed[i], again)
	}
	return out, nil
}

// rateOne rates one period, leaving out rating's credit lines: the credit
// balance is applied when an invoice is finalized.
func rateOne(in rating.Input) rated {
	in.CreditBalance = money.Zero
	res, err := rating.Rate(in)
	if err != nil {
		return rated{err: errs.New(errs.FailedPrecondition, "the period cannot be rated: %v", err)}
	}
	r := rated{lines: map[string][]rating.Line{}}
	for _, inv := range res.Invoices {
		r.order = append(r.order, inv.SubscriptionID)
		r.lines[inv.SubscriptionID] = withoutCredit(inv.Lines)
	}
	return r
}

func withoutCredit(lines []rating.Line) []rating.Line {
	out := make([]rating.Line, 0, len(lines))
	for _, l := range lines {
		if l.Kind != rating.KindCredit {
			out = append(out, l)
		}
	}
	return out
}

// adjust adds to r the difference between the previous period rated again
// and what its finalized invoices billed, line by line, as adjustment lines
// on the invoice of the same subscription (or the consolidated one). A
// voided or draft invoice of the previous period is not adjusted.
func (r *rated) adjust(billed []Invoice, again rated) {
	for _, inv := range billed {
		if inv.Status == StatusDraft || inv.Status == StatusVoid {
			continue
		}
		was := map[string]Decimal{}
		lines := map[string]rating.Line{}
		var order []string
		for _, l := range inv.Lines {
			if l.Kind == rating.KindCredit || l.Kind == KindAdjustment {
				continue
			}
			id := identity(l.Line)
			if _, ok := lines[id]; !ok {
				order = append(order, id)
				lines[id] = l.Line
			}
			was[id] = was[id].Add(l.Amount)
		}
		now := map[string]Decimal{}
		for _, l := range again.lines[inv.SubscriptionID] {
			id := identity(l)
			if _, ok := lines[id]; !ok {
				order = append(order, id)
			}
			lines[id] = l
			now[id] = now[id].Add(l.Amount)
		}
		key := inv.SubscriptionID
		if _, ok := r.lines[key]; !ok {
			key = ""
		}
		for _, id := range order {
			delta := now[id].Sub(was[id])
			if delta.IsZero() {
				continue
			}
			l := lines[id]
			r.lines[key] = append(r.lines[key], rating.Line{Kind: KindAdjustment,
				Description: fmt.Sprintf("Adjustment of %s (%s), rated again: %s", inv.Number, l.Period, l.Description),
				Feature:     l.Feature, Quantity: money.MustParse("1"), UnitPrice: delta, Amount: delta, Period: l.Period,
				SubscriptionID: l.SubscriptionID, PlanKey: l.PlanKey, PlanVersion: l.PlanVersion,
				ERPProductID: l.ERPProductID, ERPUnitID: l.ERPUnitID})
		}
	}
}

// errRaced says another writer created an invoice of the due first.
var errRaced = errors.New("invoice: created concurrently")

// write stores the invoices of one rated due in one transaction: new ones
// as drafts, drafts with only the lines that differ, and finalized ones
// left as they are.
func (s *Service) write(ctx context.Context, runID string, d Due, r rated) (Counts, error) {
	var c Counts
	for attempt := 0; ; attempt++ {
		c = Counts{}
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			stored, err := s.store.LockPeriod(ctx, d)
			if err != nil {
				return err
			}
			existing := map[string]Invoice{}
			keys := append([]string(nil), r.order...)
			for _, inv := range stored {
				existing[inv.SubscriptionID] = inv
				if _, ok := r.lines[inv.SubscriptionID]; !ok {
					keys = append(keys, inv.SubscriptionID)
				}
			}
			now := s.clock.Now()
			for _, key := range keys {
				lines := r.lines[key]
				inv, ok := existing[key]
				switch {
				case ok && inv.Status != StatusDraft:
					c.Unchanged++
				case ok:
					next := assignIDs(inv.ID, lines)
					diff := diffLines(inv.Lines, next)
					if diff.Empty() {
						c.Unchanged++
						continue
					}
					inv.Lines = next
					inv.setDraftTotals()
					inv.Updated = now
					if runID != "" {
						inv.RunID = runID
					}
					if err := s.store.WriteDraft(ctx, inv, diff); err != nil {
						return err
					}
					c.Updated++
				case len(lines) > 0:
					if err := s.store.CreateInvoice(ctx, newDraft(runID, d, key, lines, now)); err != nil {
						if errs.Is(err, errs.AlreadyExists) {
							return errRaced
						}
						return err
					}
					c.Created++
				}
			}
			return nil
		})
		if !errors.Is(err, errRaced) || attempt > 0 {
			return c, err
		}
	}
}

// setDraftTotals sums a draft's lines; a draft has no credit applied yet.
func (inv *Invoice) setDraftTotals() {
	sum := money.Zero
	for _, l := range inv.Lines {
		if l.Kind != rating.KindCredit {
			sum = sum.Add(l.Amount)
		}
	}
	inv.Subtotal, inv.CreditApplied, inv.Credited = sum, money.Zero, money.Zero
	inv.Total = money.Zero
	if sum.IsPositive() {
		inv.Total = sum
	}
}

// GetRun returns a billing run.
func (s *Service) GetRun(ctx context.Context, id string) (Run, error) {
	var v errs.Violations
	checkID(&v, "run_id", id)
	if err := v.Err(); err != nil {
		return Run{}, err
	}
	return s.store.GetRun(ctx, id)
}

// ListRuns returns a page of billing runs, newest first.
func (s *Service) ListRuns(ctx context.Context, p page.Request) (page.Page[Run], error) {
	var v errs.Violations
	p.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[Run]{}, err
	}
	after, limit := p.Cursor()
	runs, err := s.store.ListRuns(ctx, after, limit+1)
	if err != nil {
		return page.Page[Run]{}, err
	}
	return page.New(runs, limit, func(r Run) string { return r.ID }), nil
}
