package invoice_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	invoicev1 "github.com/meterplane/meterplane/gen/meterplane/invoice/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/invoice"
	"github.com/meterplane/meterplane/services/metering"
	"github.com/meterplane/meterplane/services/subscription"
)

// This file is the plumbing of examples_test.go: a world of the four real
// services on a fake clock, the steps of a timeline, and the comparison of
// the invoices they leave with a row's expectations.

// example is one worked example: the plans it sells, a timeline of steps
// (customers, subscriptions, changes, usage, billing runs), and every
// invoice its customers have at the end.
type example struct {
	name    string
	plans   []planSpec
	steps   []step
	want    []wantInvoice
	summary *wantSummary
}

// wantInvoice is an expected invoice of a customer and period ("[2026-04-01,
// 2026-05-01)"), with its status ("draft", "finalized"), its lines in order
// and its total. A line reads "<kind> <what>: <quantity> × <unit price> =
// <amount> <period> <plan>/<version>", where what is the line's feature or
// a fragment of its description, and the plan is "-" for credit lines.
type wantInvoice struct {
	customer, period, status string
	lines                    []string
	total                    string
}

// wantSummary is an expected GetResellerSummary: the children's invoices
// as "<customer> <total> <currency>" and the totals per currency.
type wantSummary struct {
	reseller, period string
	invoices, totals []string
}

// step is one moment of a timeline: the clock is set to at, then do runs.
type step struct {
	at time.Time
	do func(w *world)
}

// features are the catalog's features in every world; each has a meter of
// the same key.
var features = []*catalogv1.Feature{
	{Key: "api_calls", Name: "API calls", Unit: "call", Kind: catalogv1.FeatureKind_FEATURE_KIND_COUNTER},
	{Key: "bandwidth_gib", Name: "Bandwidth", Unit: "GiB", Kind: catalogv1.FeatureKind_FEATURE_KIND_COUNTER},
	{Key: "sites", Name: "Sites", Unit: "site", Kind: catalogv1.FeatureKind_FEATURE_KIND_GAUGE},
	{Key: "disk_gib", Name: "Disk", Unit: "GiB", Kind: catalogv1.FeatureKind_FEATURE_KIND_GAUGE},
}

// world is the catalog, subscription, metering and invoice services served
// in process on SQLite with a fake clock, and the names a row gives to its
// customers and subscriptions.
type world struct {
	t     *testing.T
	clock *clock.Fake
	cat   catalogv1.CatalogServiceClient
	subs  subscriptionv1.SubscriptionServiceClient
	met   meteringv1.MeteringServiceClient
	inv   invoicev1.InvoiceServiceClient

	customers     map[string]string   // name → customer id
	subscriptions map[string]string   // name → subscription id
	kept          map[string][]string // invoice key → line ids remembered
	keys          int
}

// newWorld starts the four services at start (one hour of grace before a
// run finalizes; no scheduled run) and creates the features, their meters
// and the plans.
func newWorld(t *testing.T, start time.Time, plans []planSpec) *world {
	t.Helper()
	clk := clock.NewFake(start)
	cfg := config.Config{InvoiceGrace: time.Hour, InvoiceRunInterval: 24 * time.Hour}
	srv := apptest.Serve(t, app.Deps{Config: cfg, Clock: clk, Redis: &redisx.Redis{Client: redistest.New(t)}},
		catalog.Open, subscription.Open, metering.Open, invoice.Open)
	conn := srv.Conn()
	w := &world{t: t, clock: clk,
		cat: catalogv1.NewCatalogServiceClient(conn), subs: subscriptionv1.NewSubscriptionServiceClient(conn),
		met: meteringv1.NewMeteringServiceClient(conn), inv: invoicev1.NewInvoiceServiceClient(conn),
		customers: map[string]string{}, subscriptions: map[string]string{}, kept: map[string][]string{}}
	ctx := t.Context()
	for _, f := range features {
		must(t)(w.cat.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{Feature: f, IdempotencyKey: w.key()}))
		agg := meteringv1.Aggregation_AGGREGATION_SUM
		if f.GetKind() == catalogv1.FeatureKind_FEATURE_KIND_GAUGE {
			agg = meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED
		}
		must(t)(w.met.CreateMeter(ctx, &meteringv1.CreateMeterRequest{IdempotencyKey: w.key(),
			Meter: &meteringv1.Meter{Key: f.GetKey(), FeatureKey: f.GetKey(), Aggregation: agg}}))
	}
	for _, p := range plans {
		w.createPlan(p)
	}
	return w
}

// must returns a function that fails the test on err and otherwise
// returns the response.
func must(t *testing.T) func(any, error) any {
	return func(res any, err error) any {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
}

func (w *world) key() string {
	w.keys++
	return fmt.Sprintf("example-%d", w.keys)
}

// play runs the steps in order, then checks the invoices and the summary.
func (w *world) play(tc example) {
	for _, s := range tc.steps {
		w.clock.Set(s.at)
		s.do(w)
	}
	w.checkInvoices(tc.want)
	if tc.summary != nil {
		w.checkSummary(*tc.summary)
	}
}

// runExamples plays each example in a world of its own.
func runExamples(t *testing.T, examples []example) {
	t.Helper()
	for _, tc := range examples {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			newWorld(t, tc.steps[0].at, tc.plans).play(tc)
		})
	}
}

// ts parses "2026-04-01" or "2026-04-01T02:00" as UTC.
func ts(s string) time.Time {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	panic("bad time " + s)
}

// --- Plans ---

// planSpec is a plan a row creates and publishes: monthly in USD unless a
// part says otherwise.
type planSpec struct {
	key, currency string
	interval      catalogv1.IntervalUnit
	charges       []*catalogv1.Charge
	entitlements  []*catalogv1.Entitlement
}

// part is a piece of a plan: a charge, an entitlement, an interval or a
// currency.
type part func(*planSpec)

func plan(key string, parts ...part) planSpec {
	p := planSpec{key: key, currency: "USD", interval: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH}
	for _, f := range parts {
		f(&p)
	}
	return p
}

func charge(c *catalogv1.Charge) part {
	return func(p *planSpec) {
		c.Key = fmt.Sprintf("c%d", len(p.charges)+1)
		p.charges = append(p.charges, c)
	}
}

// Whether a recurring fee is prorated by the second.
const (
	prorated = true
	whole    = false
)

func fee(desc, amount string, timing catalogv1.FeeTiming, prorate bool) part {
	return charge(&catalogv1.Charge{Description: desc, Kind: &catalogv1.Charge_Recurring{
		Recurring: &catalogv1.RecurringFee{Amount: amount, Timing: timing, Prorated: prorate}}})
}

// advance is a recurring fee billed in advance.
func advance(desc, amount string, prorate bool) part {
	return fee(desc, amount, catalogv1.FeeTiming_FEE_TIMING_IN_ADVANCE, prorate)
}

// arrears is a recurring fee billed in arrears.
func arrears(desc, amount string, prorate bool) part {
	return fee(desc, amount, catalogv1.FeeTiming_FEE_TIMING_IN_ARREARS, prorate)
}

func usage(u *catalogv1.UsageCharge) part {
	return charge(&catalogv1.Charge{Kind: &catalogv1.Charge_Usage{Usage: u}})
}

// perUnit prices every unit of feature above its included quantity.
func perUnit(feature, price string) part {
	return usage(&catalogv1.UsageCharge{FeatureKey: feature, Model: catalogv1.PricingModel_PRICING_MODEL_PER_UNIT, UnitPrice: price})
}

// apiTiers: up to 100 at 0.10; up to 1000 at 0.08 plus 1.00 once reached;
// above at 0.05.
var apiTiers = []*catalogv1.PriceTier{
	{UpTo: "100", UnitPrice: "0.10"},
	{UpTo: "1000", UnitPrice: "0.08", FlatPrice: "1.00"},
	{UnitPrice: "0.05"},
}

func tiered(feature string, model catalogv1.PricingModel) part {
	return usage(&catalogv1.UsageCharge{FeatureKey: feature, Model: model, Tiers: apiTiers})
}

// packages of size units at price each, the first free ones given.
func packages(feature, size, price string, free int64) part {
	return usage(&catalogv1.UsageCharge{FeatureKey: feature, Model: catalogv1.PricingModel_PRICING_MODEL_PACKAGE,
		Package: &catalogv1.PackagePrice{Size: size, Price: price, FreePackages: free}})
}

// includes grants q of feature and sells overage above it at o; with o
// empty, a usage charge of the feature prices what is above q.
func includes(feature, q, o string) part {
	e := &catalogv1.Entitlement{FeatureKey: feature, IncludedQuantity: q,
		LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_SOFT, OveragePrice: o}
	for _, f := range features {
		if f.GetKey() == feature && f.GetKind() == catalogv1.FeatureKind_FEATURE_KIND_COUNTER {
			e.ResetPeriod = catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD // counters reset
		}
	}
	return func(p *planSpec) { p.entitlements = append(p.entitlements, e) }
}

func every(unit catalogv1.IntervalUnit) part { return func(p *planSpec) { p.interval = unit } }

func inCurrency(code string) part { return func(p *planSpec) { p.currency = code } }

// createPlan creates and publishes p (a copy: the plans are shared by
// examples that run in parallel).
func (w *world) createPlan(p planSpec) {
	ctx := w.t.Context()
	draft := proto.CloneOf(&catalogv1.PlanVersion{Charges: p.charges, Entitlements: p.entitlements})
	must(w.t)(w.cat.CreatePlan(ctx, &catalogv1.CreatePlanRequest{IdempotencyKey: w.key(),
		Plan: &catalogv1.Plan{Key: p.key, Name: p.key, Currency: p.currency,
			BillingInterval: &catalogv1.BillingInterval{Unit: p.interval, Count: 1}},
		Draft: draft}))
	must(w.t)(w.cat.PublishPlan(ctx, &catalogv1.PublishPlanRequest{PlanId: p.key, IdempotencyKey: w.key()}))
}

// --- Steps ---

// customerOpt changes a customer before it is created.
type customerOpt func(*subscriptionv1.Customer, *world)

var anniversary customerOpt = func(c *subscriptionv1.Customer, _ *world) {
	c.BillingAnchor = subscriptionv1.BillingAnchor_BILLING_ANCHOR_ANNIVERSARY
}

func payingIn(code string) customerOpt {
	return func(c *subscriptionv1.Customer, _ *world) { c.Currency = code }
}

func childOf(parent string) customerOpt {
	return func(c *subscriptionv1.Customer, w *world) { c.ParentCustomerId = w.customers[parent] }
}

// customer creates a calendar customer paying in USD, unless opts say
// otherwise.
func customer(at, name string, opts ...customerOpt) step {
	return step{ts(at), func(w *world) {
		c := &subscriptionv1.Customer{ExternalId: name, Name: name, Currency: "USD"}
		for _, o := range opts {
			o(c, w)
		}
		res := must(w.t)(w.subs.CreateCustomer(w.t.Context(), &subscriptionv1.CreateCustomerRequest{Customer: c, IdempotencyKey: w.key()}))
		w.customers[name] = res.(*subscriptionv1.CreateCustomerResponse).GetCustomer().GetCustomerId()
	}}
}

// subscribe subscribes the customer to the plan from at, and names the
// subscription sub.
func subscribe(at, cus, sub, planKey string) step {
	return step{ts(at), func(w *world) {
		res := must(w.t)(w.subs.Subscribe(w.t.Context(), &subscriptionv1.SubscribeRequest{
			CustomerId: w.customers[cus], PlanId: planKey, Quantity: 1, IdempotencyKey: w.key()}))
		w.subscriptions[sub] = res.(*subscriptionv1.SubscribeResponse).GetSubscription().GetSubscriptionId()
	}}
}

// changePlan moves sub to the plan at at: now, or at the period's end.
func changePlan(at, sub, planKey string, timing subscriptionv1.ChangeTiming) step {
	return step{ts(at), func(w *world) {
		must(w.t)(w.subs.ChangePlan(w.t.Context(), &subscriptionv1.ChangePlanRequest{
			SubscriptionId: w.subscriptions[sub], PlanId: planKey, Timing: timing, IdempotencyKey: w.key()}))
	}}
}

// backdatedChangePlan records at at a move of sub to the plan that took
// effect at effective, in the past.
func backdatedChangePlan(at, sub, planKey, effective string) step {
	return step{ts(at), func(w *world) {
		must(w.t)(w.subs.ChangePlan(w.t.Context(), &subscriptionv1.ChangePlanRequest{
			SubscriptionId: w.subscriptions[sub], PlanId: planKey, Timing: subscriptionv1.ChangeTiming_CHANGE_TIMING_AT,
			EffectiveTime: timestamppb.New(ts(effective)), BackdateReason: "contract signed earlier", IdempotencyKey: w.key()}))
	}}
}

// cancel cancels sub at at: now, or at the period's end.
func cancel(at, sub string, timing subscriptionv1.ChangeTiming) step {
	return step{ts(at), func(w *world) {
		must(w.t)(w.subs.CancelSubscription(w.t.Context(), &subscriptionv1.CancelSubscriptionRequest{
			SubscriptionId: w.subscriptions[sub], Timing: timing, IdempotencyKey: w.key()}))
	}}
}

const (
	now         = subscriptionv1.ChangeTiming_CHANGE_TIMING_IMMEDIATE
	atPeriodEnd = subscriptionv1.ChangeTiming_CHANGE_TIMING_END_OF_PERIOD
)

// ingest sends events and expects each to be accepted, or each rejected.
func (w *world) ingest(accept bool, events ...*meteringv1.UsageEvent) {
	w.t.Helper()
	for _, e := range events {
		e.IdempotencyKey = w.key()
	}
	res := must(w.t)(w.met.IngestBatch(w.t.Context(), &meteringv1.IngestBatchRequest{Events: events})).(*meteringv1.IngestBatchResponse)
	if accept && res.GetAccepted() != int32(len(events)) || !accept && res.GetRejected() != int32(len(events)) {
		w.t.Fatalf("ingest (accept %v): %v", accept, res)
	}
}

// used reports n events of one unit of the counter, spread evenly over
// [from, to); the clock is at to.
func used(cus, feature string, n int, from, to string) step {
	return step{ts(to), func(w *world) {
		f, gap := ts(from), ts(to).Sub(ts(from))/time.Duration(n)
		var events []*meteringv1.UsageEvent
		for i := range n {
			events = append(events, &meteringv1.UsageEvent{CustomerId: w.customers[cus], MeterKey: feature, Quantity: "1",
				Time: timestamppb.New(f.Add(time.Duration(i) * gap))})
		}
		w.ingest(true, events...)
	}}
}

// usedAt reports q of the counter at when, sent at at.
func usedAt(at, cus, feature, q, when string) step {
	return step{ts(at), func(w *world) {
		w.ingest(true, &meteringv1.UsageEvent{CustomerId: w.customers[cus], MeterKey: feature, Quantity: q, Time: timestamppb.New(ts(when))})
	}}
}

// refusedAt sends q of the counter at when, at at, and expects metering to
// refuse it: the period is invoiced and closed.
func refusedAt(at, cus, feature, q, when string) step {
	return step{ts(at), func(w *world) {
		w.ingest(false, &meteringv1.UsageEvent{CustomerId: w.customers[cus], MeterKey: feature, Quantity: q, Time: timestamppb.New(ts(when))})
	}}
}

// level sets the gauge's subject to level q from at.
func level(at, cus, feature, subject, q string) step {
	return step{ts(at), func(w *world) {
		w.ingest(true, &meteringv1.UsageEvent{CustomerId: w.customers[cus], MeterKey: feature, Subject: subject, Quantity: q, Time: timestamppb.New(ts(at))})
	}}
}

// sites adds n sites from at, site-<first> to site-<first+n-1>, each at
// level 1 of the sites gauge.
func sites(at, cus string, first, n int) step {
	return step{ts(at), func(w *world) {
		var events []*meteringv1.UsageEvent
		for i := first; i < first+n; i++ {
			events = append(events, &meteringv1.UsageEvent{CustomerId: w.customers[cus], MeterKey: "sites",
				Subject: fmt.Sprintf("site-%d", i), Quantity: "1", Time: timestamppb.New(ts(at))})
		}
		w.ingest(true, events...)
	}}
}

// run is a billing run as of at. Its counts, when given, are "created
// updated unchanged finalized", for example "1 0 0 1".
func run(at string, counts ...string) step {
	return step{ts(at), func(w *world) {
		res := must(w.t)(w.inv.RunBilling(w.t.Context(), &invoicev1.RunBillingRequest{AsOf: timestamppb.New(ts(at)), IdempotencyKey: w.key()}))
		r := res.(*invoicev1.RunBillingResponse).GetBillingRun()
		if r.GetStatus() != invoicev1.BillingRunStatus_BILLING_RUN_STATUS_COMPLETED || r.GetFailures() != 0 {
			w.t.Fatalf("run as of %s: %v", at, r)
		}
		got := fmt.Sprintf("%d %d %d %d", r.GetInvoicesCreated(), r.GetInvoicesUpdated(), r.GetInvoicesUnchanged(), r.GetInvoicesFinalized())
		if len(counts) > 0 && got != counts[0] {
			w.t.Fatalf("run as of %s: created updated unchanged finalized = %s, want %s", at, got, counts[0])
		}
	}}
}

// remember keeps the line ids of the customer's invoice of period.
func remember(at, cus, period string) step {
	return step{ts(at), func(w *world) {
		inv := w.invoices()[cus+" "+period]
		if inv == nil {
			w.t.Fatalf("%s has no invoice of %s to remember", cus, period)
		}
		w.kept[cus+" "+period] = lineIDs(inv)
	}}
}

// sameLineIDs checks that the invoice's lines keep the ids remembered.
func sameLineIDs(at, cus, period string) step {
	return step{ts(at), func(w *world) {
		got := lineIDs(w.invoices()[cus+" "+period])
		if want := w.kept[cus+" "+period]; len(want) == 0 || !slices.Equal(got, want) {
			w.t.Fatalf("%s %s: line ids %v, want those remembered %v", cus, period, got, want)
		}
	}}
}

func lineIDs(inv *invoicev1.Invoice) []string {
	var ids []string
	for _, l := range inv.GetLines() {
		ids = append(ids, l.GetLineId())
	}
	return ids
}

// --- Checks ---

// invoices returns every invoice of the world's customers, with lines, by
// "<customer> <period>".
func (w *world) invoices() map[string]*invoicev1.Invoice {
	w.t.Helper()
	ctx := w.t.Context()
	out := map[string]*invoicev1.Invoice{}
	for name, id := range w.customers {
		res := must(w.t)(w.inv.ListInvoices(ctx, &invoicev1.ListInvoicesRequest{CustomerId: id, PageSize: 500})).(*invoicev1.ListInvoicesResponse)
		for _, inv := range res.GetInvoices() {
			got := must(w.t)(w.inv.GetInvoice(ctx, &invoicev1.GetInvoiceRequest{InvoiceId: inv.GetInvoiceId()}))
			out[name+" "+period(inv.GetPeriod())] = got.(*invoicev1.GetInvoiceResponse).GetInvoice()
		}
	}
	return out
}

// checkInvoices compares the world's invoices with want: the same
// invoices, each with the status, lines and total expected.
func (w *world) checkInvoices(want []wantInvoice) {
	w.t.Helper()
	got := w.invoices()
	for _, wi := range want {
		key := wi.customer + " " + wi.period
		inv := got[key]
		delete(got, key)
		if inv == nil {
			w.t.Errorf("no invoice of %s", key)
			continue
		}
		status := strings.ToLower(strings.TrimPrefix(inv.GetStatus().String(), "INVOICE_STATUS_"))
		if status != wi.status || inv.GetTotal() != wi.total || !linesMatch(inv.GetLines(), wi.lines) {
			w.t.Errorf("invoice of %s: %s, total %s, lines:\n%s\nwant %s, total %s, lines:\n  %s",
				key, status, inv.GetTotal(), showLines(inv.GetLines()), wi.status, wi.total, strings.Join(wi.lines, "\n  "))
		}
	}
	for key, inv := range got {
		w.t.Errorf("unexpected invoice of %s, total %s:\n%s", key, inv.GetTotal(), showLines(inv.GetLines()))
	}
}

// checkSummary compares the reseller summary of the period with want.
func (w *world) checkSummary(want wantSummary) {
	w.t.Helper()
	from, to, _ := strings.Cut(strings.Trim(want.period, "[)"), ", ")
	res := must(w.t)(w.inv.GetResellerSummary(w.t.Context(), &invoicev1.GetResellerSummaryRequest{CustomerId: w.customers[want.reseller],
		Period: &commonv1.Period{Start: timestamppb.New(ts(from)), End: timestamppb.New(ts(to))}})).(*invoicev1.GetResellerSummaryResponse)
	names := map[string]string{}
	for name, id := range w.customers {
		names[id] = name
	}
	var invoices, totals []string
	for _, inv := range res.GetInvoices() {
		invoices = append(invoices, fmt.Sprintf("%s %s %s", names[inv.GetCustomerId()], inv.GetTotal(), inv.GetCurrency()))
	}
	for _, m := range res.GetTotals() {
		totals = append(totals, m.GetAmount()+" "+m.GetCurrency())
	}
	slices.Sort(invoices)
	slices.Sort(totals)
	if !slices.Equal(invoices, want.invoices) || !slices.Equal(totals, want.totals) {
		w.t.Errorf("reseller summary: invoices %q totals %q, want %q and %q", invoices, totals, want.invoices, want.totals)
	}
}

// linesMatch says whether got are the lines want describes, in order.
func linesMatch(got []*invoicev1.InvoiceLine, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	for i, l := range got {
		kind, rest, _ := strings.Cut(want[i], " ")
		what, values, _ := strings.Cut(rest, ": ")
		if kind != lineKind(l) || values != lineValues(l) ||
			what != l.GetFeatureKey() && !strings.Contains(l.GetDescription(), what) {
			return false
		}
	}
	return true
}

func lineKind(l *invoicev1.InvoiceLine) string {
	return strings.ToLower(strings.TrimPrefix(l.GetKind().String(), "LINE_KIND_"))
}

// lineValues writes a line as a row's expectation does after "what: ".
func lineValues(l *invoicev1.InvoiceLine) string {
	plan := "-"
	if l.GetPlanKey() != "" {
		plan = fmt.Sprintf("%s/%d", l.GetPlanKey(), l.GetPlanVersion())
	}
	return fmt.Sprintf("%s × %s = %s %s %s", l.GetQuantity(), l.GetUnitPrice(), l.GetAmount(), period(l.GetPeriod()), plan)
}

func showLines(lines []*invoicev1.InvoiceLine) string {
	var b strings.Builder
	for _, l := range lines {
		fmt.Fprintf(&b, "  %s %s: %s\n", lineKind(l), l.GetFeatureKey(), lineValues(l))
		fmt.Fprintf(&b, "      (%s)\n", l.GetDescription())
	}
	return b.String()
}

// period writes p as "[2026-04-01, 2026-05-01)", with times where a bound
// is not at midnight.
func period(p *commonv1.Period) string {
	show := func(t time.Time) string {
		if t.Equal(t.Truncate(24 * time.Hour)) {
			return t.Format("2006-01-02")
		}
		return t.Format("2006-01-02T15:04")
	}
	return fmt.Sprintf("[%s, %s)", show(p.GetStart().AsTime()), show(p.GetEnd().AsTime()))
}
