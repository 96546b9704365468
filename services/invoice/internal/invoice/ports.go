package invoice

import (
	"context"
	"time"

	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// Due is one ended billing period of a customer: the unit a billing run
// invoices.
type Due struct {
	CustomerID string
	Currency   money.Currency
	Period     rating.Period
}

// Customer is what an invoice document and a reseller summary show of a
// customer.
type Customer struct {
	ID         string
	ExternalID string
	Name       string
	Email      string
	Currency   money.Currency
	// ParentID is the reseller the customer belongs to, empty if none.
	ParentID string
}

// Sources is what the invoice service reads from the other services:
// subscription (periods, segments, customers), catalog (the plan versions
// segments bill) and metering (usage, completeness, closing). Every method
// is called with no transaction open and no lock held.
type Sources interface {
	// DuePeriods returns one page of the periods that ended at or before
	// asOf and after endedAfter (a zero endedAfter: only each customer's
	// latest ended period), by customer then period, and the token of the
	// next page ("" on the last).
	DuePeriods(ctx context.Context, asOf, endedAfter time.Time, pageToken string) ([]Due, string, error)
	// CurrentPeriod returns the customer's billing period containing at.
	CurrentPeriod(ctx context.Context, customerID string, at time.Time) (Due, error)
	// Inputs returns the rating input of each period, in the same order,
	// with a batch of reads per service rather than calls per customer and
	// feature. CreditBalance is left zero: the invoice service owns it.
	Inputs(ctx context.Context, due []Due) ([]rating.Input, error)
	// Complete says whether metering holds all of the period's usage; a
	// customer with no metered feature is complete.
	Complete(ctx context.Context, d Due) (bool, error)
	// ClosePeriod makes metering refuse the customer's events before the
	// period's end from now on.
	ClosePeriod(ctx context.Context, d Due) error
	// ClosePeriods is ClosePeriod for several periods, all or none, in
	// few calls.
	ClosePeriods(ctx context.Context, dues []Due) error
	// Customers returns the named customers, in the same order.
	Customers(ctx context.Context, ids []string) ([]Customer, error)
	// Children returns the ids of the reseller's customers.
	Children(ctx context.Context, parentID string) ([]string, error)
}
