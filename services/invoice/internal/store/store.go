// Package store keeps the invoice service's data in its SQL database
// through gorm. It implements invoice.Store on PostgreSQL and SQLite alike.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/meterplane/meterplane/platform/auth"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
)

// Store is the invoice service's database.
type Store struct {
	db *storage.DB
}

var _ invoice.Store = (*Store)(nil)

// New returns a Store on db, which must be migrated with the service's
// migrations and have the outbox tables.
func New(db *storage.DB) *Store { return &Store{db: db} }

// InTx runs fn in a transaction carried by its context.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.db.InTx(ctx, fn)
}

// CreateRun records a new billing run.
func (s *Store) CreateRun(ctx context.Context, r invoice.Run) error {
	return translate(s.db.Conn(ctx).Create(fromRun(r)).Error, "billing run", r.ID)
}

// UpdateRun stores a run's status, counts, error and end.
func (s *Store) UpdateRun(ctx context.Context, r invoice.Run) error {
	row := fromRun(r)
	err := s.db.Conn(ctx).Model(&runRow{}).Where("id = ?", r.ID).
		Select("status", "periods", "invoices_created", "invoices_updated", "invoices_unchanged", "invoices_finalized",
			"failures", "error", "end_time").Updates(&row).Error
	return translate(err, "billing run", r.ID)
}

// GetRun returns a run.
func (s *Store) GetRun(ctx context.Context, id string) (invoice.Run, error) {
	var row runRow
	if err := s.db.Conn(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return invoice.Run{}, translate(err, "billing run", id)
	}
	return row.toDomain(), nil
}

// ListRuns returns up to limit runs before after, newest first.
func (s *Store) ListRuns(ctx context.Context, after string, limit int) ([]invoice.Run, error) {
	q := s.db.Conn(ctx)
	if after != "" {
		q = q.Where("id < ?", after)
	}
	var rows []runRow
	if err := q.Order("id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list billing runs: %w", err)
	}
	out := make([]invoice.Run, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// LastCompletedAsOf returns the latest as_of of a run that completed
// without failures.
func (s *Store) LastCompletedAsOf(ctx context.Context) (time.Time, error) {
	var rows []runRow
	err := s.db.Conn(ctx).Where("status = ? AND failures = 0", string(invoice.RunCompleted)).Order("as_of DESC").Limit(1).Find(&rows).Error
	if err != nil {
		return time.Time{}, fmt.Errorf("store: last completed run: %w", err)
	}
	if len(rows) == 0 {
		return time.Time{}, nil
	}
	return rows[0].AsOf.UTC(), nil
}

// LockPeriod returns the invoices of a customer's period and currency,
// locked, with their lines.
func (s *Store) LockPeriod(ctx context.Context, d invoice.Due) ([]invoice.Invoice, error) {
	q := s.lock(s.db.Conn(ctx)).Where("customer_id = ? AND period_start = ? AND currency = ?",
		d.CustomerID, d.Period.From.UTC(), d.Currency.Code)
	return s.invoicesWithLines(ctx, q.Order("subscription_id"))
}

// PeriodInvoices returns the invoices of dues' periods with their lines,
// by the due's key: one query for the invoices, one for their lines.
func (s *Store) PeriodInvoices(ctx context.Context, dues []invoice.Due) (map[string][]invoice.Invoice, error) {
	out := map[string][]invoice.Invoice{}
	if len(dues) == 0 {
		return out, nil
	}
	customers, from, to := span(dues)
	want := map[string]bool{}
	for _, d := range dues {
		want[invoice.DueKey(d.CustomerID, d.Currency.Code, d.Period.From)] = true
	}
	q := s.db.Conn(ctx).Where("customer_id IN ? AND period_start >= ? AND period_start <= ?", customers, from.UTC(), to.UTC()).
		Order("customer_id, subscription_id")
	invs, err := s.invoicesWithLines(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		key := invoice.DueKey(inv.CustomerID, inv.Currency.Code, inv.Period.From)
		if want[key] {
			out[key] = append(out[key], inv)
		}
	}
	return out, nil
}

// span returns the customers of dues and the first and last start of
// their periods: what a page's lookups select by.
func span(dues []invoice.Due) (customers []string, from, to time.Time) {
	customers = make([]string, len(dues))
	from, to = dues[0].Period.From, dues[0].Period.From
	for i, d := range dues {
		customers[i] = d.CustomerID
		if d.Period.From.Before(from) {
			from = d.Period.From
		}
		if d.Period.From.After(to) {
			to = d.Period.From
		}
	}
	return customers, from, to
}

// Invoiced returns the keys of the dues that have an invoice, in one
// query.
func (s *Store) Invoiced(ctx context.Context, dues []invoice.Due) (map[string]bool, error) {
	out := map[string]bool{}
	if len(dues) == 0 {
		return out, nil
	}
	customers, from, to := span(dues)
	var rows []invoiceRow
	err := s.db.Conn(ctx).Select("customer_id", "currency", "period_start").
		Where("customer_id IN ? AND period_start >= ? AND period_start <= ?", customers, from.UTC(), to.UTC()).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("store: invoiced periods: %w", err)
	}
	for _, r := range rows {
		out[invoice.DueKey(r.CustomerID, r.Currency, r.PeriodStart)] = true
	}
	return out, nil
}

// Finalized returns the invoices other than drafts that end where one of
// dues starts, with their lines, by the due's key: one query for the
// invoices, one for their lines.
func (s *Store) Finalized(ctx context.Context, dues []invoice.Due) (map[string][]invoice.Invoice, error) {
	out := map[string][]invoice.Invoice{}
	if len(dues) == 0 {
		return out, nil
	}
	customers, from, to := span(dues)
	want := map[string]bool{}
	for _, d := range dues {
		want[invoice.DueKey(d.CustomerID, d.Currency.Code, d.Period.From)] = true
	}
	q := s.db.Conn(ctx).Where("customer_id IN ? AND period_end >= ? AND period_end <= ? AND status <> ?",
		customers, from.UTC(), to.UTC(), string(invoice.StatusDraft)).Order("customer_id, subscription_id")
	invs, err := s.invoicesWithLines(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, inv := range invs {
		key := invoice.DueKey(inv.CustomerID, inv.Currency.Code, inv.Period.To)
		if want[key] {
			out[key] = append(out[key], inv)
		}
	}
	return out, nil
}

// lock adds FOR UPDATE on PostgreSQL; SQLite has one writer, and every
// transaction that locks also writes.
func (s *Store) lock(q *gorm.DB) *gorm.DB {
	if s.db.Dialect() == storage.Postgres {
		return q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return q
}

func (s *Store) invoicesWithLines(ctx context.Context, q *gorm.DB) ([]invoice.Invoice, error) {
	var rows []invoiceRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: read invoices: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var lines []lineRow
	if err := s.db.Conn(ctx).Where("invoice_id IN ?", ids).Order("invoice_id, seq").Find(&lines).Error; err != nil {
		return nil, fmt.Errorf("store: read invoice lines: %w", err)
	}
	byInvoice := map[string][]invoice.Line{}
	for _, lr := range lines {
		l, err := lr.toDomain()
		if err != nil {
			return nil, err
		}
		byInvoice[lr.InvoiceID] = append(byInvoice[lr.InvoiceID], l)
	}
	out := make([]invoice.Invoice, len(rows))
	for i, r := range rows {
		inv, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		inv.Lines = byInvoice[r.ID]
		out[i] = inv
	}
	return out, nil
}

// CreateInvoice inserts an invoice with its lines.
func (s *Store) CreateInvoice(ctx context.Context, inv invoice.Invoice) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		res := s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(ptr(fromInvoice(inv)))
		if res.Error != nil {
			return translate(res.Error, "invoice", inv.ID)
		}
		if res.RowsAffected == 0 {
			return errs.New(errs.AlreadyExists, "an invoice of this customer, period, currency and subscription exists")
		}
		return s.AddLines(ctx, inv.ID, inv.Lines, 0)
	})
}

// CreateInvoices inserts invoices with their lines in one transaction,
// in multi-row statements.
func (s *Store) CreateInvoices(ctx context.Context, invs []invoice.Invoice) error {
	if len(invs) == 0 {
		return nil
	}
	return s.db.InTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		rows := make([]invoiceRow, len(invs))
		var lines []lineRow
		for i, inv := range invs {
			rows[i] = fromInvoice(inv)
			for j, l := range inv.Lines {
				lines = append(lines, fromLine(inv.ID, j, l))
			}
		}
		res := conn.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, 500)
		if res.Error != nil {
			return fmt.Errorf("store: insert invoices: %w", res.Error)
		}
		if res.RowsAffected != int64(len(rows)) {
			return errs.New(errs.AlreadyExists, "an invoice of one of these customers, periods, currencies and subscriptions exists")
		}
		return s.insertLines(conn, lines)
	})
}

// WriteDraft stores a draft's totals and the changes of its lines.
func (s *Store) WriteDraft(ctx context.Context, inv invoice.Invoice, diff invoice.LineDiff) error {
	return s.db.InTx(ctx, func(ctx context.Context) error {
		conn := s.db.Conn(ctx)
		row := fromInvoice(inv)
		err := conn.Model(&invoiceRow{}).Where("id = ? AND status = ?", inv.ID, string(invoice.StatusDraft)).
			Select("subtotal", "credit_applied", "total", "billing_run_id", "update_time").Updates(&row).Error
		if err != nil {
			return translate(err, "invoice", inv.ID)
		}
		if len(diff.Delete) > 0 {
			if err := conn.Where("invoice_id = ? AND line_id IN ?", inv.ID, diff.Delete).Delete(&lineRow{}).Error; err != nil {
				return fmt.Errorf("store: delete lines: %w", err)
			}
		}
		for _, l := range diff.Update {
			lr := fromLine(inv.ID, diff.Seq[l.ID], l)
			if err := conn.Model(&lineRow{}).Where("invoice_id = ? AND line_id = ?", inv.ID, l.ID).
				Select("*").Omit("invoice_id", "line_id").Updates(&lr).Error; err != nil {
				return fmt.Errorf("store: update line: %w", err)
			}
		}
		rows := make([]lineRow, len(diff.Insert))
		for i, l := range diff.Insert {
			rows[i] = fromLine(inv.ID, diff.Seq[l.ID], l)
		}
		return s.insertLines(conn, rows)
	})
}

func (s *Store) insertLines(conn *gorm.DB, rows []lineRow) error {
	if len(rows) == 0 {
		return nil
	}
	if err := conn.CreateInBatches(rows, 500).Error; err != nil {
		return fmt.Errorf("store: insert lines: %w", err)
	}
	return nil
}

// AddLines appends lines to an invoice, the first at position seq.
func (s *Store) AddLines(ctx context.Context, invoiceID string, lines []invoice.Line, seq int) error {
	rows := make([]lineRow, len(lines))
	for i, l := range lines {
		rows[i] = fromLine(invoiceID, seq+i, l)
	}
	return s.insertLines(s.db.Conn(ctx), rows)
}

// GetInvoice returns an invoice with its lines.
func (s *Store) GetInvoice(ctx context.Context, id string) (invoice.Invoice, error) {
	return s.oneInvoice(ctx, s.db.Conn(ctx).Scopes(auth.Scope(ctx, "customer_id")), id)
}

// LockInvoice returns an invoice with its lines, locked.
func (s *Store) LockInvoice(ctx context.Context, id string) (invoice.Invoice, error) {
	return s.oneInvoice(ctx, s.lock(s.db.Conn(ctx)), id)
}

// LockInvoices returns the invoices ids that exist, with their lines,
// locked in the order of their ids.
func (s *Store) LockInvoices(ctx context.Context, ids []string) ([]invoice.Invoice, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.invoicesWithLines(ctx, s.lock(s.db.Conn(ctx)).Where("id IN ?", ids).Order("id"))
}

func (s *Store) oneInvoice(ctx context.Context, q *gorm.DB, id string) (invoice.Invoice, error) {
	invs, err := s.invoicesWithLines(ctx, q.Where("id = ?", id))
	if err != nil {
		return invoice.Invoice{}, err
	}
	if len(invs) == 0 {
		return invoice.Invoice{}, errs.New(errs.NotFound, "invoice %q not found", errs.Short(id))
	}
	return invs[0], nil
}

// ListInvoices returns up to limit invoices matching f before after,
// newest first, without lines.
func (s *Store) ListInvoices(ctx context.Context, f invoice.InvoiceFilter, after string, limit int) ([]invoice.Invoice, error) {
	q := s.db.Conn(ctx).Scopes(auth.Scope(ctx, "customer_id"))
	if after != "" {
		q = q.Where("id < ?", after)
	}
	if len(f.CustomerIDs) > 0 {
		q = q.Where("customer_id IN ?", f.CustomerIDs)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if !f.PeriodFrom.IsZero() {
		q = q.Where("period_start >= ?", f.PeriodFrom.UTC())
	}
	if !f.PeriodTo.IsZero() {
		q = q.Where("period_start < ?", f.PeriodTo.UTC())
	}
	return s.invoices(q.Order("id DESC").Limit(limit))
}

// Drafts returns up to limit drafts whose period ended by end, by id.
func (s *Store) Drafts(ctx context.Context, end time.Time, after string, limit int) ([]invoice.Invoice, error) {
	q := s.db.Conn(ctx).Where("status = ? AND period_end <= ? AND id > ?", string(invoice.StatusDraft), end.UTC(), after)
	return s.invoices(q.Order("id").Limit(limit))
}

func (s *Store) invoices(q *gorm.DB) ([]invoice.Invoice, error) {
	var rows []invoiceRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list invoices: %w", err)
	}
	out := make([]invoice.Invoice, len(rows))
	for i, r := range rows {
		inv, err := r.toDomain()
		if err != nil {
			return nil, err
		}
		out[i] = inv
	}
	return out, nil
}

// SetInvoice stores an invoice's number, status, totals and times.
func (s *Store) SetInvoice(ctx context.Context, inv invoice.Invoice) error {
	row := fromInvoice(inv)
	res := s.db.Conn(ctx).Model(&invoiceRow{}).Where("id = ?", inv.ID).
		Select("number", "status", "subtotal", "credit_applied", "total", "credited", "update_time",
			"finalize_time", "paid_time", "void_time", "bill_to_name", "bill_to_email", "bill_to_external_id").Updates(&row)
	if res.Error != nil {
		return translate(res.Error, "invoice", inv.ID)
	}
	if res.RowsAffected == 0 {
		return errs.New(errs.NotFound, "invoice %q not found", errs.Short(inv.ID))
	}
	return nil
}

// SetInvoices stores the number, status, totals, credited amount, times
// and bill-to of many invoices with one UPDATE … FROM a list of values,
// and fails unless every invoice is found.
func (s *Store) SetInvoices(ctx context.Context, invs []invoice.Invoice) error {
	if len(invs) == 0 {
		return nil
	}
	// A parameter in VALUES is text to PostgreSQL, so numbers and times
	// are cast there; SQLite keeps them as text, as its columns do.
	num, ts := "?", "?"
	if s.db.Dialect() == storage.Postgres {
		num, ts = "CAST(? AS NUMERIC)", "CAST(? AS TIMESTAMPTZ)"
	}
	row := "(?, ?, ?, " + num + ", " + num + ", " + num + ", " + num + ", " + ts + ", " + ts + ", " + ts + ", " + ts + ", ?, ?, ?)"
	var sql strings.Builder
	sql.WriteString(`WITH v (id, number, status, subtotal, credit_applied, total, credited, update_time, finalize_time, paid_time, void_time,
		bill_to_name, bill_to_email, bill_to_external_id) AS (VALUES `)
	args := make([]any, 0, 14*len(invs))
	for i, inv := range invs {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString(row)
		r := fromInvoice(inv)
		args = append(args, r.ID, r.Number, r.Status, r.Subtotal, r.CreditApplied, r.Total, r.Credited, r.UpdateTime,
			r.FinalizeTime, r.PaidTime, r.VoidTime, r.BillToName, r.BillToEmail, r.BillToExternalID)
	}
	sql.WriteString(`) UPDATE invoices SET number = v.number, status = v.status, subtotal = v.subtotal,
		credit_applied = v.credit_applied, total = v.total, credited = v.credited, update_time = v.update_time,
		finalize_time = v.finalize_time, paid_time = v.paid_time, void_time = v.void_time, bill_to_name = v.bill_to_name,
		bill_to_email = v.bill_to_email, bill_to_external_id = v.bill_to_external_id FROM v WHERE invoices.id = v.id`)
	res := s.db.Conn(ctx).Exec(sql.String(), args...)
	if res.Error != nil {
		return translate(res.Error, "invoice", invs[0].ID)
	}
	if res.RowsAffected != int64(len(invs)) {
		return errs.New(errs.NotFound, "%d of %d invoices not found", int64(len(invs))-res.RowsAffected, len(invs))
	}
	return nil
}

// NextNumber returns the next number of a gapless series.
func (s *Store) NextNumber(ctx context.Context, series string) (int64, error) {
	return s.NextNumbers(ctx, series, 1)
}

// NextNumbers takes the next n numbers of a gapless series with one
// upsert, which locks the series row until the transaction ends, and
// returns the last of them.
func (s *Store) NextNumbers(ctx context.Context, series string, n int) (int64, error) {
	if n < 1 {
		return 0, fmt.Errorf("store: %d numbers of %s asked", n, series)
	}
	var row seriesRow
	err := s.db.Conn(ctx).Raw(`INSERT INTO number_series (series, last) VALUES (?, ?)
		ON CONFLICT (series) DO UPDATE SET last = number_series.last + excluded.last RETURNING series, last`, series, n).Scan(&row).Error
	if err != nil {
		return 0, fmt.Errorf("store: next numbers of %s: %w", series, err)
	}
	return row.Last, nil
}

// CreateCreditNote inserts a credit note.
func (s *Store) CreateCreditNote(ctx context.Context, cn invoice.CreditNote) error {
	row := creditNoteRow{ID: cn.ID, Number: cn.Number, InvoiceID: cn.InvoiceID, CustomerID: cn.CustomerID,
		Currency: cn.Currency.Code, Amount: cn.Amount.String(), Reason: cn.Reason, CreateTime: cn.Created.UTC()}
	return translate(s.db.Conn(ctx).Create(&row).Error, "credit note", cn.ID)
}

// ListCreditNotes returns an invoice's credit notes, oldest first.
func (s *Store) ListCreditNotes(ctx context.Context, invoiceID string) ([]invoice.CreditNote, error) {
	var rows []creditNoteRow
	if err := s.db.Conn(ctx).Scopes(auth.Scope(ctx, "customer_id")).Where("invoice_id = ?", invoiceID).
		Order("create_time, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list credit notes: %w", err)
	}
	out := make([]invoice.CreditNote, len(rows))
	for i, r := range rows {
		amount, err := money.Parse(r.Amount)
		if err != nil {
			return nil, fmt.Errorf("store: credit note %s: %w", r.ID, err)
		}
		cur, _ := money.LookupCurrency(r.Currency)
		out[i] = invoice.CreditNote{ID: r.ID, Number: r.Number, InvoiceID: r.InvoiceID, CustomerID: r.CustomerID,
			Currency: cur, Amount: amount, Reason: r.Reason, Created: r.CreateTime.UTC()}
	}
	return out, nil
}

// Balance returns a customer's credit balance in a currency.
func (s *Store) Balance(ctx context.Context, customerID, currency string) (money.Decimal, error) {
	return s.balance(s.db.Conn(ctx), customerID, currency)
}

// LockBalance returns a customer's credit balance, locked: the row is
// created at zero first, so that there is a row to lock.
func (s *Store) LockBalance(ctx context.Context, customerID, currency string) (money.Decimal, error) {
	err := s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).
		Create(&balanceRow{CustomerID: customerID, Currency: currency, Balance: "0"}).Error
	if err != nil {
		return money.Zero, fmt.Errorf("store: create balance: %w", err)
	}
	return s.balance(s.lock(s.db.Conn(ctx)), customerID, currency)
}

// LockBalances returns credit balances, locked in the order of customer
// and currency: the missing rows are created at zero first, in one
// statement, and all are read with one more.
func (s *Store) LockBalances(ctx context.Context, keys []invoice.BalanceKey) (map[invoice.BalanceKey]money.Decimal, error) {
	out := map[invoice.BalanceKey]money.Decimal{}
	if len(keys) == 0 {
		return out, nil
	}
	keys = slices.Clone(keys)
	slices.SortFunc(keys, func(a, b invoice.BalanceKey) int {
		return cmp.Or(strings.Compare(a.CustomerID, b.CustomerID), strings.Compare(a.Currency, b.Currency))
	})
	keys = slices.Compact(keys)
	rows := make([]balanceRow, len(keys))
	pairs := make([][]any, len(keys))
	for i, k := range keys {
		rows[i] = balanceRow{CustomerID: k.CustomerID, Currency: k.Currency, Balance: "0"}
		pairs[i] = []any{k.CustomerID, k.Currency}
	}
	if err := s.db.Conn(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&rows, 500).Error; err != nil {
		return nil, fmt.Errorf("store: create balances: %w", err)
	}
	var got []balanceRow
	err := s.lock(s.db.Conn(ctx)).Where("(customer_id, currency) IN ?", pairs).Order("customer_id, currency").Find(&got).Error
	if err != nil {
		return nil, fmt.Errorf("store: read balances: %w", err)
	}
	for _, r := range got {
		bal, err := money.Parse(r.Balance)
		if err != nil {
			return nil, fmt.Errorf("store: balance of %s: %w", r.CustomerID, err)
		}
		out[invoice.BalanceKey{CustomerID: r.CustomerID, Currency: r.Currency}] = bal
	}
	return out, nil
}

func (s *Store) balance(q *gorm.DB, customerID, currency string) (money.Decimal, error) {
	var rows []balanceRow
	if err := q.Where("customer_id = ? AND currency = ?", customerID, currency).Find(&rows).Error; err != nil {
		return money.Zero, fmt.Errorf("store: read balance: %w", err)
	}
	if len(rows) == 0 {
		return money.Zero, nil
	}
	return money.Parse(rows[0].Balance)
}

// AddCredit records a ledger entry and adds it to the balance.
func (s *Store) AddCredit(ctx context.Context, e invoice.LedgerEntry) (money.Decimal, error) {
	conn := s.db.Conn(ctx)
	bal, err := s.balance(conn, e.CustomerID, e.Currency)
	if err != nil {
		return money.Zero, err
	}
	bal = bal.Add(e.Amount)
	if bal.IsNegative() {
		return money.Zero, errs.New(errs.FailedPrecondition, "the credit balance of customer %q would be negative", errs.Short(e.CustomerID))
	}
	row := ledgerRow{ID: e.ID, CustomerID: e.CustomerID, Currency: e.Currency, Amount: e.Amount.String(),
		Reason: e.Reason, InvoiceID: e.InvoiceID, CreateTime: e.Created.UTC()}
	if err := conn.Create(&row).Error; err != nil {
		return money.Zero, fmt.Errorf("store: ledger entry: %w", err)
	}
	err = conn.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "customer_id"}, {Name: "currency"}},
		DoUpdates: clause.AssignmentColumns([]string{"balance"})}).
		Create(&balanceRow{CustomerID: e.CustomerID, Currency: e.Currency, Balance: bal.String()}).Error
	if err != nil {
		return money.Zero, fmt.Errorf("store: update balance: %w", err)
	}
	return bal, nil
}

// AddEvent writes an outbox event in the transaction ctx carries.
func (s *Store) AddEvent(ctx context.Context, topic, key string, payload []byte, at time.Time) error {
	_, err := outbox.Add(ctx, s.db, topic, key, payload, at)
	return err
}

// AddEvents writes outbox events of one topic in the transaction ctx
// carries, in multi-row statements.
func (s *Store) AddEvents(ctx context.Context, topic string, events []invoice.Event, at time.Time) error {
	if len(events) == 0 {
		return nil
	}
	msgs := make([]outbox.Message, len(events))
	for i, e := range events {
		msgs[i] = outbox.Message{Topic: topic, Key: e.Key, Payload: e.Payload}
	}
	_, err := outbox.AddAll(ctx, s.db, msgs, at)
	return err
}

func ptr[T any](v T) *T { return &v }

func translate(err error, what, id string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return errs.New(errs.NotFound, "%s %q not found", what, errs.Short(id))
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return errs.New(errs.AlreadyExists, "%s %q exists", what, errs.Short(id))
	}
	return fmt.Errorf("store: %s %s: %w", what, errs.Short(id), err)
}
