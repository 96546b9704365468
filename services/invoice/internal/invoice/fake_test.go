package invoice_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric/noop"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
	"github.com/meterplane/meterplane/services/invoice/internal/store"
	"github.com/meterplane/meterplane/services/invoice/migrations"
)

var eur = money.Currency{Code: "EUR", Minor: 2}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func dec(s string) money.Decimal { return money.MustParse(s) }

// monthOf is the calendar month containing t.
func monthOf(t time.Time) rating.Period {
	f := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return rating.Period{From: f, To: f.AddDate(0, 1, 0)}
}

// calendar is the schedule of calendar monthly customers.
func calendar(iv rating.Interval, at time.Time) rating.Period {
	if iv.Unit != rating.Month || iv.Count != 1 {
		panic("the fake knows monthly intervals only")
	}
	return monthOf(at)
}

// hosting is a monthly plan: 10.00 in advance, 100 GiB of bandwidth
// included, 0.50 per GiB above.
var hosting = &rating.Plan{Key: "hosting", Version: 1, Interval: rating.Interval{Unit: rating.Month, Count: 1},
	ERPProductID: "P-HOST", ERPUnitID: "U-MONTH",
	Fees:         []rating.RecurringFee{{Description: "Hosting", Amount: dec("10.00"), Timing: rating.InAdvance, Prorated: true}},
	Entitlements: []rating.Entitlement{{Feature: "bandwidth", Included: dec("100"), HasOverage: true, Overage: dec("0.50")}}}

// fakeSources is the subscription, catalog and metering services as the
// invoice service reads them: calendar monthly customers, each with
// subscriptions, and usage by customer, period start and feature.
type fakeSources struct {
	mu        sync.Mutex
	customers map[string]*fakeCustomer
	order     []string
	usage     map[string]map[time.Time]map[string]string
	gauges    map[string]bool
	pageSize  int
	// failPage, when > 0, makes DuePeriods fail on that page (1-based).
	failPage   int
	incomplete map[string]bool
	// failClose names the customers whose periods metering refuses to
	// close.
	failClose map[string]bool
	closed    []string
	inputs    int
	// names renames customers; the others are "Customer <id>".
	names map[string]string
}

type fakeCustomer struct {
	id, parent string
	start      time.Time
	subs       []rating.Subscription
}

func newFake() *fakeSources {
	return &fakeSources{customers: map[string]*fakeCustomer{}, usage: map[string]map[time.Time]map[string]string{},
		pageSize: 2, incomplete: map[string]bool{}, failClose: map[string]bool{}, gauges: map[string]bool{}}
}

// subscribe adds a customer (if new) with a subscription to p from start.
func (f *fakeSources) subscribe(customer, sub string, p *rating.Plan, start time.Time, separate bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.customers[customer]
	if !ok {
		c = &fakeCustomer{id: customer, start: start}
		f.customers[customer] = c
		f.order = append(f.order, customer)
		slices.Sort(f.order)
	}
	c.subs = append(c.subs, rating.Subscription{ID: sub, BillSeparately: separate,
		Segments: []rating.Segment{{Plan: p, Quantity: 1, From: start}}})
}

// use sets the customer's usage of a feature in the month containing at.
func (f *fakeSources) use(customer string, at time.Time, feature, q string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	from := monthOf(at).From
	if f.usage[customer] == nil {
		f.usage[customer] = map[time.Time]map[string]string{}
	}
	if f.usage[customer][from] == nil {
		f.usage[customer][from] = map[string]string{}
	}
	f.usage[customer][from][feature] = q
}

// gauge sets the customer's unit-periods of a gauge feature in the month
// containing at.
func (f *fakeSources) gauge(customer string, at time.Time, feature, q string) {
	f.use(customer, at, feature, q)
	f.mu.Lock()
	f.gauges[feature] = true
	f.mu.Unlock()
}

func (f *fakeSources) DuePeriods(ctx context.Context, asOf, endedAfter time.Time, token string) ([]invoice.Due, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []invoice.Due
	for _, id := range f.order {
		for p := monthOf(f.customers[id].start); !p.To.After(asOf); p = monthOf(p.To) {
			if p.To.After(endedAfter) {
				all = append(all, invoice.Due{CustomerID: id, Currency: eur, Period: p})
			}
		}
	}
	start := 0
	if token != "" {
		start, _ = strconv.Atoi(token)
	}
	if f.failPage > 0 && start/f.pageSize+1 == f.failPage {
		return nil, "", errors.New("subscription service unavailable")
	}
	end := min(start+f.pageSize, len(all))
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return all[start:end], next, nil
}

func (f *fakeSources) CurrentPeriod(ctx context.Context, customerID string, at time.Time) (invoice.Due, error) {
	return invoice.Due{CustomerID: customerID, Currency: eur, Period: monthOf(at)}, nil
}

func (f *fakeSources) Inputs(ctx context.Context, due []invoice.Due) ([]rating.Input, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs++
	out := make([]rating.Input, len(due))
	for i, d := range due {
		c := f.customers[d.CustomerID]
		in := rating.Input{Currency: d.Currency, Period: d.Period, Next: monthOf(d.Period.To), Schedule: calendar,
			Subscriptions: slices.Clone(c.subs)}
		for feature, q := range f.usage[d.CustomerID][d.Period.From] {
			in.Usage = append(in.Usage, rating.Usage{Feature: feature, Unit: "GiB", Gauge: f.gauges[feature], Quantity: dec(q)})
		}
		slices.SortFunc(in.Usage, func(a, b rating.Usage) int { return compare(a.Feature, b.Feature) })
		out[i] = in
	}
	return out, nil
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (f *fakeSources) Complete(ctx context.Context, d invoice.Due) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.incomplete[d.CustomerID], nil
}

func (f *fakeSources) ClosePeriod(ctx context.Context, d invoice.Due) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failClose[d.CustomerID] {
		return fmt.Errorf("metering refuses to close %s", d.CustomerID)
	}
	f.closed = append(f.closed, fmt.Sprintf("%s %s", d.CustomerID, d.Period.From.Format("2006-01")))
	return nil
}

func (f *fakeSources) ClosePeriods(ctx context.Context, dues []invoice.Due) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, d := range dues {
		if f.failClose[d.CustomerID] {
			return fmt.Errorf("metering refuses to close %s", d.CustomerID)
		}
	}
	for _, d := range dues {
		f.closed = append(f.closed, fmt.Sprintf("%s %s", d.CustomerID, d.Period.From.Format("2006-01")))
	}
	return nil
}

func (f *fakeSources) Customers(ctx context.Context, ids []string) ([]invoice.Customer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]invoice.Customer, len(ids))
	for i, id := range ids {
		name := f.names[id]
		if name == "" {
			name = "Customer " + id
		}
		out[i] = invoice.Customer{ID: id, Name: name, Currency: eur}
	}
	return out, nil
}

func (f *fakeSources) Children(ctx context.Context, parentID string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, id := range f.order {
		if f.customers[id].parent == parentID {
			out = append(out, id)
		}
	}
	return out, nil
}

// env is a service on a real database with fake sources and clock.
type env struct {
	svc   *invoice.Service
	src   *fakeSources
	clock *clock.Fake
	db    *storage.DB
}

func newEnv(t *testing.T, db *storage.DB, cfg invoice.Config) *env {
	t.Helper()
	src := newFake()
	clk := clock.NewFake(day("2026-03-15"))
	if cfg.EncodeFinalized == nil {
		cfg.EncodeFinalized = func(inv invoice.Invoice) ([]byte, error) { return []byte(inv.Number), nil }
	}
	svc, err := invoice.NewService(store.New(db), src, clk, slog.New(slog.DiscardHandler), noop.NewMeterProvider().Meter("test"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{svc: svc, src: src, clock: clk, db: db}
}

// each runs fn on SQLite and PostgreSQL.
func each(t *testing.T, cfg invoice.Config, fn func(t *testing.T, e *env)) {
	t.Helper()
	storagetest.Each(t, "invoice", migrations.FS, func(t *testing.T, db *storage.DB) {
		fn(t, newEnv(t, db, cfg))
	})
}

// must returns v, or fails the test by panicking with err: for calls
// whose failure ends the test.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// invoices returns every stored invoice with its lines, oldest first.
func (e *env) invoices(t *testing.T) []invoice.Invoice {
	t.Helper()
	ctx := t.Context()
	var out []invoice.Invoice
	p := must(e.svc.ListInvoices(ctx, invoice.ListInput{}))
	for _, inv := range p.Items {
		out = append(out, must(e.svc.GetInvoice(ctx, inv.ID)))
	}
	slices.Reverse(out)
	return out
}

// find returns the customer's invoice of the month starting on first.
func (e *env) find(t *testing.T, customer, first string) invoice.Invoice {
	t.Helper()
	for _, inv := range e.invoices(t) {
		if inv.CustomerID == customer && inv.Period.From.Equal(day(first)) && inv.SubscriptionID == "" {
			return inv
		}
	}
	t.Fatalf("no invoice of %s for %s", customer, first)
	return invoice.Invoice{}
}

func amounts(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		out = append(out, inv.Currency.FormatAmount(l.Amount))
	}
	return out
}

func lineIDs(inv invoice.Invoice) []string {
	var out []string
	for _, l := range inv.Lines {
		out = append(out, l.ID)
	}
	return out
}

func pageOf(size int32) page.Request { return page.Request{Size: size} }
