package store

import (
	"fmt"
	"time"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

type runRow struct {
	ID                string `gorm:"primaryKey"`
	AsOf              time.Time
	Status            string
	Periods           int64
	InvoicesCreated   int64
	InvoicesUpdated   int64
	InvoicesUnchanged int64
	InvoicesFinalized int64
	Failures          int64
	Error             string
	StartTime         time.Time
	EndTime           *time.Time
}

func (runRow) TableName() string { return "billing_runs" }

func fromRun(r invoice.Run) runRow {
	return runRow{ID: r.ID, AsOf: r.AsOf.UTC(), Status: string(r.Status), Periods: r.Periods, InvoicesCreated: r.Created,
		InvoicesUpdated: r.Updated, InvoicesUnchanged: r.Unchanged, InvoicesFinalized: r.Finalized, Failures: r.Failures,
		Error: r.Error, StartTime: r.Start.UTC(), EndTime: timePtr(r.End)}
}

func (r runRow) toDomain() invoice.Run {
	return invoice.Run{ID: r.ID, AsOf: r.AsOf.UTC(), Status: invoice.RunStatus(r.Status),
		Counts: invoice.Counts{Periods: r.Periods, Created: r.InvoicesCreated, Updated: r.InvoicesUpdated,
			Unchanged: r.InvoicesUnchanged, Finalized: r.InvoicesFinalized, Failures: r.Failures},
		Error: r.Error, Start: r.StartTime.UTC(), End: timeOf(r.EndTime)}
}

type invoiceRow struct {
	ID               string `gorm:"primaryKey"`
	Number           *string
	CustomerID       string
	SubscriptionID   string
	Currency         string
	Minor            int32
	PeriodStart      time.Time
	PeriodEnd        time.Time
	Status           string
	Subtotal         string
	CreditApplied    string
	Total            string
	Credited         string
	BillingRunID     string
	CreateTime       time.Time
	UpdateTime       time.Time
	FinalizeTime     *time.Time
	PaidTime         *time.Time
	VoidTime         *time.Time
	BillToName       string
	BillToEmail      string
	BillToExternalID string
}

func (invoiceRow) TableName() string { return "invoices" }

func fromInvoice(inv invoice.Invoice) invoiceRow {
	var number *string
	if inv.Number != "" {
		number = &inv.Number
	}
	return invoiceRow{ID: inv.ID, Number: number, CustomerID: inv.CustomerID, SubscriptionID: inv.SubscriptionID,
		Currency: inv.Currency.Code, Minor: inv.Currency.Minor, PeriodStart: inv.Period.From.UTC(), PeriodEnd: inv.Period.To.UTC(),
		Status: string(inv.Status), Subtotal: inv.Subtotal.String(), CreditApplied: inv.CreditApplied.String(),
		Total: inv.Total.String(), Credited: inv.Credited.String(), BillingRunID: inv.RunID,
		CreateTime: inv.Created.UTC(), UpdateTime: inv.Updated.UTC(), FinalizeTime: timePtr(inv.Finalized),
		PaidTime: timePtr(inv.Paid), VoidTime: timePtr(inv.Voided),
		BillToName: inv.BillTo.Name, BillToEmail: inv.BillTo.Email, BillToExternalID: inv.BillTo.ExternalID}
}

func (r invoiceRow) toDomain() (invoice.Invoice, error) {
	inv := invoice.Invoice{ID: r.ID, CustomerID: r.CustomerID, SubscriptionID: r.SubscriptionID,
		Currency: money.Currency{Code: r.Currency, Minor: r.Minor}, Period: rating.Period{From: r.PeriodStart.UTC(), To: r.PeriodEnd.UTC()},
		Status: invoice.Status(r.Status), RunID: r.BillingRunID, Created: r.CreateTime.UTC(), Updated: r.UpdateTime.UTC(),
		Finalized: timeOf(r.FinalizeTime), Paid: timeOf(r.PaidTime), Voided: timeOf(r.VoidTime),
		BillTo: invoice.BillTo{Name: r.BillToName, Email: r.BillToEmail, ExternalID: r.BillToExternalID}}
	if r.Number != nil {
		inv.Number = *r.Number
	}
	var err error
	for _, f := range []struct {
		dst *money.Decimal
		src string
	}{{&inv.Subtotal, r.Subtotal}, {&inv.CreditApplied, r.CreditApplied}, {&inv.Total, r.Total}, {&inv.Credited, r.Credited}} {
		if *f.dst, err = money.Parse(f.src); err != nil {
			return invoice.Invoice{}, fmt.Errorf("store: invoice %s: %w", r.ID, err)
		}
	}
	return inv, nil
}

type lineRow struct {
	InvoiceID      string `gorm:"primaryKey"`
	LineID         string `gorm:"primaryKey"`
	Seq            int
	Kind           int
	Description    string
	FeatureKey     string
	Quantity       string
	UnitPrice      string
	Amount         string
	PeriodStart    time.Time
	PeriodEnd      time.Time
	SubscriptionID string
	PlanKey        string
	PlanVersion    int
	ErpProductID   string
	ErpUnitID      string
}

func (lineRow) TableName() string { return "invoice_lines" }

func fromLine(invoiceID string, seq int, l invoice.Line) lineRow {
	return lineRow{InvoiceID: invoiceID, LineID: l.ID, Seq: seq, Kind: int(l.Kind), Description: l.Description,
		FeatureKey: l.Feature, Quantity: l.Quantity.String(), UnitPrice: l.UnitPrice.String(), Amount: l.Amount.String(),
		PeriodStart: l.Period.From.UTC(), PeriodEnd: l.Period.To.UTC(), SubscriptionID: l.SubscriptionID,
		PlanKey: l.PlanKey, PlanVersion: l.PlanVersion, ErpProductID: l.ERPProductID, ErpUnitID: l.ERPUnitID}
}

func (r lineRow) toDomain() (invoice.Line, error) {
	l := invoice.Line{ID: r.LineID, Line: rating.Line{Kind: rating.Kind(r.Kind), Description: r.Description, Feature: r.FeatureKey,
		Period: rating.Period{From: r.PeriodStart.UTC(), To: r.PeriodEnd.UTC()}, SubscriptionID: r.SubscriptionID,
		PlanKey: r.PlanKey, PlanVersion: r.PlanVersion, ERPProductID: r.ErpProductID, ERPUnitID: r.ErpUnitID}}
	var err error
	for _, f := range []struct {
		dst *money.Decimal
		src string
	}{{&l.Quantity, r.Quantity}, {&l.UnitPrice, r.UnitPrice}, {&l.Amount, r.Amount}} {
		if *f.dst, err = money.Parse(f.src); err != nil {
			return invoice.Line{}, fmt.Errorf("store: line %s: %w", r.LineID, err)
		}
	}
	return l, nil
}

type creditNoteRow struct {
	ID         string `gorm:"primaryKey"`
	Number     string
	InvoiceID  string
	CustomerID string
	Currency   string
	Amount     string
	Reason     string
	CreateTime time.Time
}

func (creditNoteRow) TableName() string { return "credit_notes" }

type balanceRow struct {
	CustomerID string `gorm:"primaryKey"`
	Currency   string `gorm:"primaryKey"`
	Balance    string
}

func (balanceRow) TableName() string { return "credit_balances" }

type ledgerRow struct {
	ID         string `gorm:"primaryKey"`
	CustomerID string
	Currency   string
	Amount     string
	Reason     string
	InvoiceID  string
	CreateTime time.Time
}

func (ledgerRow) TableName() string { return "credit_ledger" }

type seriesRow struct {
	Series string `gorm:"primaryKey"`
	Last   int64
}

func (seriesRow) TableName() string { return "number_series" }

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
