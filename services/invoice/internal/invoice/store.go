package invoice

import (
	"context"
	"time"
)

// Store keeps the service's invoices, runs, credit notes and balances.
// Methods named Lock… lock what they return until the transaction that ctx
// carries ends; every write joins that transaction.
type Store interface {
	// InTx runs fn in a transaction carried by its context.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error

	// CreateRun records a new billing run.
	CreateRun(ctx context.Context, r Run) error
	// UpdateRun stores a run's status, counts, error and end.
	UpdateRun(ctx context.Context, r Run) error
	// GetRun returns a run; NotFound if none.
	GetRun(ctx context.Context, id string) (Run, error)
	// ListRuns returns up to limit runs older than the run id after
	// ("" for the newest), newest first.
	ListRuns(ctx context.Context, after string, limit int) ([]Run, error)
	// LastCompletedAsOf returns the latest as_of of a run that completed
	// without failures, zero if none did: the periods that ended after it
	// are the next run's.
	LastCompletedAsOf(ctx context.Context) (time.Time, error)

	// LockPeriod returns the invoices of a customer's period and currency,
	// with their lines.
	LockPeriod(ctx context.Context, d Due) ([]Invoice, error)
	// PeriodInvoices returns the invoices of dues' periods with their
	// lines, by the due's key (dueKey), without locking them.
	PeriodInvoices(ctx context.Context, dues []Due) (map[string][]Invoice, error)
	// Invoiced returns the keys (dueKey) of the dues that have an invoice.
	Invoiced(ctx context.Context, dues []Due) (map[string]bool, error)
	// Finalized returns, with their lines, the invoices other than drafts
	// whose period ends where one of dues starts, in the due's currency,
	// by the due's key (DueKey of the due).
	Finalized(ctx context.Context, dues []Due) (map[string][]Invoice, error)
	// CreateInvoice inserts an invoice with its lines; AlreadyExists when
	// its key is taken.
	CreateInvoice(ctx context.Context, inv Invoice) error
	// CreateInvoices inserts invoices with their lines, all or none;
	// AlreadyExists when a key is taken.
	CreateInvoices(ctx context.Context, invs []Invoice) error
	// WriteDraft stores a draft's totals, run and update time, and the
	// lines diff changes.
	WriteDraft(ctx context.Context, inv Invoice, diff LineDiff) error
	// GetInvoice returns an invoice with its lines; NotFound if none.
	GetInvoice(ctx context.Context, id string) (Invoice, error)
	// LockInvoice is GetInvoice with the invoice locked.
	LockInvoice(ctx context.Context, id string) (Invoice, error)
	// LockInvoices returns the invoices ids that exist, with their lines,
	// locked in the order of their ids, by id.
	LockInvoices(ctx context.Context, ids []string) ([]Invoice, error)
	// ListInvoices returns up to limit invoices (without lines) matching f
	// and older than the invoice id after ("" for the newest), newest
	// first.
	ListInvoices(ctx context.Context, f InvoiceFilter, after string, limit int) ([]Invoice, error)
	// Drafts returns up to limit drafts (without lines) whose period ended
	// at or before end, by id after the id after.
	Drafts(ctx context.Context, end time.Time, after string, limit int) ([]Invoice, error)
	// SetInvoice stores an invoice's number, status, totals, credited
	// amount and times, not its lines.
	SetInvoice(ctx context.Context, inv Invoice) error
	// SetInvoices does what SetInvoice does for many invoices, in one
	// statement.
	SetInvoices(ctx context.Context, invs []Invoice) error
	// AddLines appends lines to an invoice, the first at position seq.
	AddLines(ctx context.Context, invoiceID string, lines []Line, seq int) error

	// NextNumber returns the next number of a gapless series, counting
	// from 1; the transaction that takes it holds the series until it ends.
	NextNumber(ctx context.Context, series string) (int64, error)
	// NextNumbers takes the next n numbers of a gapless series at once
	// and returns the last of them; the transaction holds the series.
	NextNumbers(ctx context.Context, series string, n int) (int64, error)
	// CreateCreditNote inserts a credit note.
	CreateCreditNote(ctx context.Context, cn CreditNote) error
	// ListCreditNotes returns an invoice's credit notes, oldest first.
	ListCreditNotes(ctx context.Context, invoiceID string) ([]CreditNote, error)

	// Balance returns a customer's credit balance in a currency.
	Balance(ctx context.Context, customerID, currency string) (Decimal, error)
	// LockBalance is Balance with the balance locked.
	LockBalance(ctx context.Context, customerID, currency string) (Decimal, error)
	// LockBalances is LockBalance for several balances at once, locked in
	// the order of customer and currency.
	LockBalances(ctx context.Context, keys []BalanceKey) (map[BalanceKey]Decimal, error)
	// AddCredit records a ledger entry and adds its amount to the balance
	// (which LockBalance locked), returning the new balance.
	AddCredit(ctx context.Context, e LedgerEntry) (Decimal, error)

	// AddEvent writes an outbox event in the transaction.
	AddEvent(ctx context.Context, topic, key string, payload []byte, at time.Time) error
	// AddEvents writes outbox events of one topic in the transaction, in
	// few statements.
	AddEvents(ctx context.Context, topic string, events []Event, at time.Time) error
}

// BalanceKey names a customer's credit balance in a currency.
type BalanceKey struct {
	CustomerID string
	Currency   string
}

// Event is an outbox event's key and payload.
type Event struct {
	Key     string
	Payload []byte
}
