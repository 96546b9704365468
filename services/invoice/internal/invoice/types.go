package invoice

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// Decimal is the exact decimal of every amount and quantity.
type Decimal = money.Decimal

// Status is where an invoice is in its lifecycle.
type Status string

// The invoice statuses.
const (
	StatusDraft     Status = "draft"
	StatusFinalized Status = "finalized"
	StatusPaid      Status = "paid"
	StatusVoid      Status = "void"
)

// KindAdjustment is the kind of a line that corrects a finalized period on
// a later invoice; the rating kinds are the others.
const KindAdjustment rating.Kind = rating.KindCredit + 1

// Line is one stored invoice line: a rated line with its stable id.
type Line struct {
	ID string
	rating.Line
}

// Invoice is one invoice: the consolidated one of a customer, period and
// currency (SubscriptionID empty), or a separate one of a subscription.
type Invoice struct {
	ID             string
	Number         string // set when finalized
	CustomerID     string
	SubscriptionID string
	Currency       money.Currency
	Period         rating.Period
	Status         Status
	Lines          []Line
	// Subtotal is the sum of the lines other than credit lines.
	Subtotal Decimal
	// CreditApplied is what the customer's balance paid, >= 0.
	CreditApplied Decimal
	// Total is what the customer pays, >= 0.
	Total Decimal
	// Credited is what credit notes gave back so far, <= Total.
	Credited  Decimal
	RunID     string
	Created   time.Time
	Updated   time.Time
	Finalized time.Time
	Paid      time.Time
	Voided    time.Time
	// BillTo is the customer as the invoice names it, copied when it is
	// finalized; zero on drafts, whose documents show the customer as it
	// is now.
	BillTo BillTo
}

// BillTo is what an invoice document shows of its customer.
type BillTo struct {
	Name       string
	Email      string
	ExternalID string
}

// Due returns the rating unit the invoice belongs to.
func (inv Invoice) Due() Due {
	return Due{CustomerID: inv.CustomerID, Currency: inv.Currency, Period: inv.Period}
}

// Key identifies an invoice among those of a customer.
type Key struct {
	CustomerID     string
	Currency       string
	PeriodStart    time.Time
	SubscriptionID string
}

// Key returns the invoice's unique key.
func (inv Invoice) Key() Key {
	return Key{inv.CustomerID, inv.Currency.Code, inv.Period.From.UTC(), inv.SubscriptionID}
}

// CreditNote gives back part or all of a finalized invoice to the
// customer's credit balance.
type CreditNote struct {
	ID         string
	Number     string
	InvoiceID  string
	CustomerID string
	Currency   money.Currency
	Amount     Decimal
	Reason     string
	Created    time.Time
}

// RunStatus is where a billing run is.
type RunStatus string

// The run statuses.
const (
	RunRunning   RunStatus = "running"
	RunCompleted RunStatus = "completed"
	RunFailed    RunStatus = "failed"
)

// Counts are what a billing run did.
type Counts struct {
	Periods, Created, Updated, Unchanged, Finalized, Failures int64
}

// Run is one billing run.
type Run struct {
	ID     string
	AsOf   time.Time
	Status RunStatus
	Counts
	Error string
	Start time.Time
	End   time.Time
}

// LedgerEntry is one change of a customer's credit balance.
type LedgerEntry struct {
	ID         string
	CustomerID string
	Currency   string
	Amount     Decimal // > 0 adds credit, < 0 uses it
	Reason     string
	InvoiceID  string
	Created    time.Time
}

// InvoiceFilter selects invoices in a list.
type InvoiceFilter struct {
	CustomerIDs []string // empty for all
	Status      Status   // empty for all
	// PeriodFrom and PeriodTo, when not zero, keep invoices whose period
	// starts inside [PeriodFrom, PeriodTo).
	PeriodFrom, PeriodTo time.Time
}

// identity is what makes a line the same line when a draft is recomputed:
// kind, subscription, feature, period, plan and description. Usage lines
// are named by their feature, since their descriptions state the
// quantities that change.
func identity(l rating.Line) string {
	desc := l.Description
	if l.Kind == rating.KindUsage || l.Kind == rating.KindOverage {
		desc = ""
	}
	return strings.Join([]string{fmt.Sprint(int(l.Kind)), l.SubscriptionID, l.Feature,
		l.Period.From.UTC().Format(time.RFC3339), l.Period.To.UTC().Format(time.RFC3339),
		l.PlanKey, fmt.Sprint(l.PlanVersion), desc}, "\x00")
}

// assignIDs gives each line the id derived from the invoice and the line's
// identity (with an ordinal for identical ones), so that the same line
// rated again gets the same id.
func assignIDs(invoiceID string, lines []rating.Line) []Line {
	out := make([]Line, len(lines))
	seen := map[string]int{}
	for i, l := range lines {
		id := identity(l)
		n := seen[id]
		seen[id] = n + 1
		sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d", invoiceID, id, n))
		out[i] = Line{ID: "li_" + hex.EncodeToString(sum[:13]), Line: l}
	}
	return out
}

// sameLine reports whether two lines with one id hold the same values.
func sameLine(a, b Line) bool {
	return a.Kind == b.Kind && a.Description == b.Description && a.Feature == b.Feature &&
		a.Quantity.Equal(b.Quantity) && a.UnitPrice.Equal(b.UnitPrice) && a.Amount.Equal(b.Amount) &&
		a.Period.From.Equal(b.Period.From) && a.Period.To.Equal(b.Period.To) &&
		a.SubscriptionID == b.SubscriptionID && a.PlanKey == b.PlanKey && a.PlanVersion == b.PlanVersion &&
		a.ERPProductID == b.ERPProductID && a.ERPUnitID == b.ERPUnitID
}

// LineDiff is what a recomputed draft changes in its stored lines. A
// line's position is its index in the new lines.
type LineDiff struct {
	Insert []Line   // new lines
	Update []Line   // lines whose values or position changed
	Delete []string // ids of lines that are gone
	// Seq holds the position of each inserted and updated line.
	Seq map[string]int
}

// Empty reports whether nothing changes.
func (d LineDiff) Empty() bool {
	return len(d.Insert) == 0 && len(d.Update) == 0 && len(d.Delete) == 0
}

// diffLines compares the stored lines with the recomputed ones.
func diffLines(old, next []Line) LineDiff {
	index := make(map[string]int, len(old))
	for i, l := range old {
		index[l.ID] = i
	}
	d := LineDiff{Seq: map[string]int{}}
	kept := make(map[string]bool, len(next))
	for i, l := range next {
		kept[l.ID] = true
		j, ok := index[l.ID]
		switch {
		case !ok:
			d.Insert = append(d.Insert, l)
			d.Seq[l.ID] = i
		case j != i || !sameLine(old[j], l):
			d.Update = append(d.Update, l)
			d.Seq[l.ID] = i
		}
	}
	for _, l := range old {
		if !kept[l.ID] {
			d.Delete = append(d.Delete, l.ID)
		}
	}
	return d
}
