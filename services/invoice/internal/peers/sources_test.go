package peers_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/peers"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
	"github.com/meterplane/meterplane/services/metering"
	"github.com/meterplane/meterplane/services/subscription"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func day(m time.Month, d int) time.Time { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC) }

// counting counts the calls made through a connection, by method.
type counting struct {
	grpc.ClientConnInterface
	mu    sync.Mutex
	calls map[string]int
}

func count(conn grpc.ClientConnInterface) *counting {
	return &counting{ClientConnInterface: conn, calls: map[string]int{}}
}

func (c *counting) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.mu.Lock()
	c.calls[method]++
	c.mu.Unlock()
	return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

func (c *counting) get(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[method]
}

// stack is catalog, subscription and metering served in this process on
// SQLite, with a fake clock, and their clients.
type stack struct {
	clk     *clock.Fake
	conn    *grpc.ClientConn
	catalog catalogv1.CatalogServiceClient
	subs    subscriptionv1.SubscriptionServiceClient
	meter   meteringv1.MeteringServiceClient
}

func newStack(t testing.TB, d app.Deps) stack {
	t.Helper()
	clk := clock.NewFake(day(4, 1))
	d.Clock, d.Log = clk, slog.New(slog.DiscardHandler)
	if d.Redis == nil {
		r, err := redisx.Open(t.Context(), "")
		must(t, err)
		t.Cleanup(func() { r.Close() })
		d.Redis = r
	}
	srv := apptest.Serve(t, d, catalog.Open, subscription.Open, metering.Open)
	c := srv.Conn()
	return stack{clk: clk, conn: c, catalog: catalogv1.NewCatalogServiceClient(c),
		subs: subscriptionv1.NewSubscriptionServiceClient(c), meter: meteringv1.NewMeteringServiceClient(c)}
}

func (s stack) feature(t testing.TB, key, unit string, kind catalogv1.FeatureKind) {
	t.Helper()
	_, err := s.catalog.CreateFeature(t.Context(), &catalogv1.CreateFeatureRequest{Feature: &catalogv1.Feature{Key: key, Name: key, Unit: unit, Kind: kind}})
	must(t, err)
	agg := meteringv1.Aggregation_AGGREGATION_SUM
	if kind == catalogv1.FeatureKind_FEATURE_KIND_GAUGE {
		agg = meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED
	}
	_, err = s.meter.CreateMeter(t.Context(), &meteringv1.CreateMeterRequest{Meter: &meteringv1.Meter{Key: key, FeatureKey: key, Aggregation: agg}})
	must(t, err)
}

// plan creates and publishes a monthly EUR plan.
func (s stack) plan(t testing.TB, key string, charges []*catalogv1.Charge, ents []*catalogv1.Entitlement) {
	t.Helper()
	_, err := s.catalog.CreatePlan(t.Context(), &catalogv1.CreatePlanRequest{
		Plan: &catalogv1.Plan{Key: key, Name: key, Currency: "EUR",
			BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}},
		Draft: &catalogv1.PlanVersion{Charges: charges, Entitlements: ents}})
	must(t, err)
	_, err = s.catalog.PublishPlan(t.Context(), &catalogv1.PublishPlanRequest{PlanId: key})
	must(t, err)
}

func flatFee(amount string) *catalogv1.Charge {
	return &catalogv1.Charge{Key: "base", Description: "Base fee", Kind: &catalogv1.Charge_Recurring{Recurring: &catalogv1.RecurringFee{
		Amount: amount, Timing: catalogv1.FeeTiming_FEE_TIMING_IN_ADVANCE, Prorated: true}}}
}

func overage(feature, included, price string) *catalogv1.Entitlement {
	return &catalogv1.Entitlement{FeatureKey: feature, IncludedQuantity: included, LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_SOFT, OveragePrice: price,
		ResetPeriod: catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD}
}

func (s stack) ingest(t testing.TB, customer, meter, quantity string, at time.Time, subject string) {
	t.Helper()
	_, err := s.meter.Ingest(t.Context(), &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{CustomerId: customer, MeterKey: meter,
		Quantity: quantity, Time: pbtime.New(at), IdempotencyKey: fmt.Sprintf("%s-%s-%d", meter, subject, at.Unix()), Subject: subject}})
	must(t, err)
}

// TestInputs builds, on the real services, a customer with two
// subscriptions, one upgraded mid-April, and counter and gauge usage, and
// checks the rating input of April field by field and its rated total.
func TestInputs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStack(t, app.Deps{})
	s.feature(t, "bandwidth", "GiB", catalogv1.FeatureKind_FEATURE_KIND_COUNTER)
	s.feature(t, "sites", "site", catalogv1.FeatureKind_FEATURE_KIND_GAUGE)
	s.plan(t, "basic", []*catalogv1.Charge{flatFee("10")}, []*catalogv1.Entitlement{overage("bandwidth", "100", "0.50")})
	s.plan(t, "pro", []*catalogv1.Charge{flatFee("30")}, []*catalogv1.Entitlement{overage("bandwidth", "300", "0.40")})
	s.plan(t, "sites_tiered", []*catalogv1.Charge{{Key: "sites", Description: "Sites", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{
		FeatureKey: "sites", Model: catalogv1.PricingModel_PRICING_MODEL_GRADUATED,
		Tiers: []*catalogv1.PriceTier{{UpTo: "1", UnitPrice: "5"}, {UnitPrice: "4"}}}}}},
		[]*catalogv1.Entitlement{{FeatureKey: "sites", IncludedQuantity: "1", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_NONE}})

	reseller, err := s.subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Reseller", Currency: "EUR"}})
	must(t, err)
	cus, err := s.subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Acme", Email: "billing@acme.test",
		ExternalId: "acme", Currency: "EUR", ParentCustomerId: reseller.GetCustomer().GetCustomerId()}})
	must(t, err)
	id := cus.GetCustomer().GetCustomerId()
	s1, err := s.subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "basic"})
	must(t, err)
	s2, err := s.subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "sites_tiered", BillSeparately: true})
	must(t, err)
	s.ingest(t, id, "sites", "2", day(4, 1), "account")
	s.clk.Set(day(4, 10))
	s.ingest(t, id, "bandwidth", "250", day(4, 10), "")
	s.clk.Set(day(4, 16))
	_, err = s.subs.ChangePlan(ctx, &subscriptionv1.ChangePlanRequest{SubscriptionId: s1.GetSubscription().GetSubscriptionId(), PlanId: "pro"})
	must(t, err)
	s.ingest(t, id, "sites", "4", day(4, 16), "account")
	s.clk.Set(day(5, 1).Add(time.Hour))

	catalogConn := count(s.conn)
	subsConn, meteringConn := count(s.conn), count(s.conn)
	src := peers.NewSources(subsConn, catalogConn, meteringConn)
	due, next, err := src.DuePeriods(ctx, s.clk.Now(), time.Time{}, "")
	must(t, err)
	april := rating.Period{From: day(4, 1), To: day(5, 1)}
	eur, _ := money.LookupCurrency("EUR")
	if want := []invoice.Due{{CustomerID: id, Currency: eur, Period: april}}; !cmp.Equal(due, want) || next != "" {
		t.Fatalf("due periods %+v (next %q), want %+v", due, next, want)
	}

	ins, err := src.Inputs(ctx, due)
	must(t, err)
	if len(ins) != 1 {
		t.Fatalf("%d inputs for one period", len(ins))
	}
	in := ins[0]
	if in.Currency != eur || in.Period != april || in.Next != (rating.Period{From: day(5, 1), To: day(6, 1)}) || !in.CreditBalance.IsZero() {
		t.Errorf("currency %v, period %v, next %v, credit %v", in.Currency, in.Period, in.Next, in.CreditBalance)
	}
	if got := in.Schedule(rating.Interval{Unit: rating.Year, Count: 1}, day(4, 20)); got != (rating.Period{From: day(1, 1), To: day(1, 1).AddDate(1, 0, 0)}) {
		t.Errorf("the calendar schedule gives %v for a year", got)
	}
	type seg struct {
		Plan     string
		Quantity int64
		From, To time.Time
	}
	type sub struct {
		ID             string
		BillSeparately bool
		Segments       []seg
	}
	var gotSubs []sub
	for _, sb := range in.Subscriptions {
		g := sub{ID: sb.ID, BillSeparately: sb.BillSeparately}
		for _, sg := range sb.Segments {
			g.Segments = append(g.Segments, seg{fmt.Sprintf("%s/%d", sg.Plan.Key, sg.Plan.Version), sg.Quantity, sg.From, sg.To})
		}
		gotSubs = append(gotSubs, g)
	}
	id1, id2 := s1.GetSubscription().GetSubscriptionId(), s2.GetSubscription().GetSubscriptionId()
	wantSubs := []sub{
		{ID: id1, Segments: []seg{{"basic/1", 1, day(4, 1), day(4, 16)}, {"pro/1", 1, day(4, 16), time.Time{}}}},
		{ID: id2, BillSeparately: true, Segments: []seg{{"sites_tiered/1", 1, day(4, 1), time.Time{}}}},
	}
	if id2 < id1 {
		wantSubs[0], wantSubs[1] = wantSubs[1], wantSubs[0]
	}
	if diff := cmp.Diff(wantSubs, gotSubs); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
	pro := in.Subscriptions[0].Segments[len(in.Subscriptions[0].Segments)-1].Plan
	if in.Subscriptions[0].ID != id1 {
		pro = in.Subscriptions[1].Segments[1].Plan
	}
	wantPro := &rating.Plan{Key: "pro", Version: 1, Interval: rating.Interval{Unit: rating.Month, Count: 1},
		Fees:         []rating.RecurringFee{{Description: "Base fee", Amount: money.MustParse("30"), Timing: rating.InAdvance, Prorated: true}},
		Entitlements: []rating.Entitlement{{Feature: "bandwidth", Included: money.MustParse("300"), HasOverage: true, Overage: money.MustParse("0.40")}}}
	if diff := cmp.Diff(wantPro, pro, decimalEqual); diff != "" {
		t.Errorf("pro plan (-want +got):\n%s", diff)
	}
	var usage []string
	for _, u := range in.Usage {
		usage = append(usage, fmt.Sprintf("%s %s %v %s", u.Feature, u.Unit, u.Gauge, u.Quantity))
	}
	// 250 GiB; 2 sites for 15 days and 4 for 15 days of 30: 3 site-months.
	if diff := cmp.Diff([]string{"bandwidth GiB false 250", "sites site true 3"}, usage); diff != "" {
		t.Errorf("usage (-want +got):\n%s", diff)
	}

	res, err := rating.Rate(in)
	must(t, err)
	// Consolidated: basic's first fee 10.00 for April, its unused half
	// back -5.00 (10 × 15/30), pro's remainder 15.00 (30 × 15/30), pro's
	// renewal for May 30.00; bandwidth U = 250, Q = 100 × 15/30 + 300 ×
	// 15/30 = 200, B = 50 at the lower overage price 0.40 = 20.00.
	// 10 − 5 + 15 + 30 + 20 = 70.00.
	// Separate (sites_tiered): U = 3, Q = 1, B = 2: graduated 1 × 5 +
	// 1 × 4 = 9.00.
	if len(res.Invoices) != 2 || res.Invoices[0].Total.String() != "70" || res.Invoices[1].Total.String() != "9" {
		for _, inv := range res.Invoices {
			for _, l := range inv.Lines {
				t.Logf("%s %s %s", inv.SubscriptionID, l.Description, l.Amount)
			}
		}
		t.Fatalf("rated %+v, want 70.00 and 9.00", res.Invoices)
	}

	// A second run asks the catalog nothing new: published versions and
	// features are cached. Each run is one batch call per service.
	planCalls, featureCalls := catalogConn.get(getPlanVersion), catalogConn.get(getFeature)
	_, err = src.Inputs(ctx, due)
	must(t, err)
	if planCalls != 3 || catalogConn.get(getPlanVersion) != 3 || featureCalls != 2 || catalogConn.get(getFeature) != 2 {
		t.Errorf("GetPlanVersion %d then %d calls, GetFeature %d then %d; want 3 (one per version) and 2 (one per feature), then none",
			planCalls, catalogConn.get(getPlanVersion), featureCalls, catalogConn.get(getFeature))
	}
	if n, m := subsConn.get(batchGetBillingData), meteringConn.get(batchQueryUsage); n != 2 || m != 2 {
		t.Errorf("two runs made %d BatchGetBillingData and %d BatchQueryUsage calls, want 2 each", n, m)
	}

	cur, err := src.CurrentPeriod(ctx, id, day(5, 3))
	must(t, err)
	if cur != (invoice.Due{CustomerID: id, Currency: eur, Period: rating.Period{From: day(5, 1), To: day(6, 1)}}) {
		t.Errorf("current period %+v", cur)
	}
	customers, err := src.Customers(ctx, []string{id, reseller.GetCustomer().GetCustomerId()})
	must(t, err)
	wantCustomers := []invoice.Customer{
		{ID: id, ExternalID: "acme", Name: "Acme", Email: "billing@acme.test", Currency: eur, ParentID: reseller.GetCustomer().GetCustomerId()},
		{ID: reseller.GetCustomer().GetCustomerId(), Name: "Reseller", Currency: eur},
	}
	if diff := cmp.Diff(wantCustomers, customers); diff != "" {
		t.Errorf("customers (-want +got):\n%s", diff)
	}
	children, err := src.Children(ctx, reseller.GetCustomer().GetCustomerId())
	must(t, err)
	if !cmp.Equal(children, []string{id}) {
		t.Errorf("children %v, want [%s]", children, id)
	}
	_, err = src.Customers(ctx, []string{"cus_nobody"})
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("an unknown customer: %v, want NotFound", err)
	}
	_, err = src.CurrentPeriod(ctx, "cus_nobody", day(5, 3))
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("the current period of an unknown customer: %v, want NotFound", err)
	}

	// No source reported the customer's usage: nothing to wait for.
	complete, err := src.Complete(ctx, due[0])
	must(t, err)
	if !complete {
		t.Error("a period without reporting sources is not complete")
	}
	// Closing twice is one close; an event of April is refused after it.
	must(t, src.ClosePeriod(ctx, due[0]))
	must(t, src.ClosePeriod(ctx, due[0]))
	_, err = s.meter.Ingest(ctx, &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth",
		Quantity: "1", Time: pbtime.New(day(4, 30)), IdempotencyKey: "late"}})
	if err == nil {
		t.Error("an April event is accepted after April was closed")
	}
	// Closing in a batch (twice: a replay) moves the closing to May's end.
	may := invoice.Due{CustomerID: id, Currency: due[0].Currency, Period: rating.Period{From: day(5, 1), To: day(6, 1)}}
	s.clk.Set(day(6, 2))
	must(t, src.ClosePeriods(ctx, []invoice.Due{due[0], may}))
	must(t, src.ClosePeriods(ctx, []invoice.Due{due[0], may}))
	_, err = s.meter.Ingest(ctx, &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth",
		Quantity: "1", Time: pbtime.New(day(6, 1)), IdempotencyKey: "june"}})
	must(t, err)
	_, err = s.meter.Ingest(ctx, &meteringv1.IngestRequest{Event: &meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth",
		Quantity: "1", Time: pbtime.New(day(5, 31)), IdempotencyKey: "late-may"}})
	if err == nil {
		t.Error("a May event is accepted after May was closed in a batch")
	}
}

const (
	getPlanVersion      = "/meterplane.catalog.v1.CatalogService/GetPlanVersion"
	getFeature          = "/meterplane.catalog.v1.CatalogService/GetFeature"
	batchGetBillingData = "/meterplane.subscription.v1.SubscriptionService/BatchGetBillingData"
	batchQueryUsage     = "/meterplane.metering.v1.MeteringService/BatchQueryUsage"
)

var decimalEqual = cmp.Comparer(func(a, b money.Decimal) bool { return a.Equal(b) })

// TestPeerDown checks that services that cannot be reached are
// Unavailable, never an internal error.
func TestPeerDown(t *testing.T) {
	t.Parallel()
	conn, err := grpc.NewClient("127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	defer conn.Close()
	src := peers.NewSources(conn, conn, conn)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	eur, _ := money.LookupCurrency("EUR")
	d := invoice.Due{CustomerID: "cus_a", Currency: eur, Period: rating.Period{From: day(4, 1), To: day(5, 1)}}
	checks := map[string]error{}
	_, _, checks["DuePeriods"] = src.DuePeriods(ctx, day(5, 1), time.Time{}, "")
	_, checks["Inputs"] = src.Inputs(ctx, []invoice.Due{d})
	_, checks["Complete"] = src.Complete(ctx, d)
	checks["ClosePeriod"] = src.ClosePeriod(ctx, d)
	checks["ClosePeriods"] = src.ClosePeriods(ctx, []invoice.Due{d})
	_, checks["Customers"] = src.Customers(ctx, []string{"cus_a"})
	_, checks["Children"] = src.Children(ctx, "cus_a")
	_, checks["CurrentPeriod"] = src.CurrentPeriod(ctx, "cus_a", day(5, 1))
	for name, err := range checks {
		if !errs.Is(err, errs.Unavailable) {
			t.Errorf("%s with the peers down: %v, want Unavailable", name, err)
		}
	}
}

// BenchmarkInputs reads the rating input of 500 customers, each with 3
// subscriptions and 2 metered features (a counter and a gauge), from the
// real services on SQLite and on PostgreSQL: one BatchGetBillingData and
// one BatchQueryUsage per 500, and the catalog only once per plan version.
func BenchmarkInputs(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchInputs(b, app.Deps{}) })
	b.Run("postgres", func(b *testing.B) {
		benchInputs(b, app.Deps{Config: config.Config{DatabaseURL: storagetest.EmptyPostgres(b)}})
	})
}

func benchInputs(b *testing.B, d app.Deps) {
	ctx := b.Context()
	s := newStack(b, d)
	s.feature(b, "bandwidth", "GiB", catalogv1.FeatureKind_FEATURE_KIND_COUNTER)
	s.feature(b, "sites", "site", catalogv1.FeatureKind_FEATURE_KIND_GAUGE)
	s.plan(b, "basic", []*catalogv1.Charge{flatFee("10")}, []*catalogv1.Entitlement{overage("bandwidth", "100", "0.50")})
	s.plan(b, "pro", []*catalogv1.Charge{flatFee("30")}, []*catalogv1.Entitlement{overage("bandwidth", "300", "0.40")})
	s.plan(b, "sites_tiered", []*catalogv1.Charge{{Key: "sites", Description: "Sites", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{
		FeatureKey: "sites", Model: catalogv1.PricingModel_PRICING_MODEL_GRADUATED,
		Tiers: []*catalogv1.PriceTier{{UpTo: "1", UnitPrice: "5"}, {UnitPrice: "4"}}}}}},
		[]*catalogv1.Entitlement{{FeatureKey: "sites", IncludedQuantity: "1", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_NONE}})
	const customers = 500
	var events []*meteringv1.UsageEvent
	for i := range customers {
		c, err := s.subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: fmt.Sprint("c", i), Currency: "EUR"}})
		must(b, err)
		id := c.GetCustomer().GetCustomerId()
		for _, p := range []string{"basic", "pro", "sites_tiered"} {
			_, err := s.subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: p})
			must(b, err)
		}
		events = append(events,
			&meteringv1.UsageEvent{CustomerId: id, MeterKey: "bandwidth", Quantity: "250", Time: pbtime.New(day(4, 1)), IdempotencyKey: "bw"},
			&meteringv1.UsageEvent{CustomerId: id, MeterKey: "sites", Quantity: "2", Time: pbtime.New(day(4, 1)), IdempotencyKey: "s", Subject: "a"})
	}
	_, err := s.meter.IngestBatch(ctx, &meteringv1.IngestBatchRequest{Events: events})
	must(b, err)
	s.clk.Set(day(5, 1).Add(time.Hour))
	subsConn, catalogConn, meteringConn := count(s.conn), count(s.conn), count(s.conn)
	src := peers.NewSources(subsConn, catalogConn, meteringConn)
	var due []invoice.Due
	for token := ""; ; {
		page, next, err := src.DuePeriods(ctx, s.clk.Now(), time.Time{}, token)
		must(b, err)
		due = append(due, page...)
		if token = next; token == "" {
			break
		}
	}
	if len(due) != customers {
		b.Fatalf("%d due periods, want %d", len(due), customers)
	}
	b.ResetTimer()
	for b.Loop() {
		ins, err := src.Inputs(ctx, due)
		must(b, err)
		if len(ins) != customers || len(ins[0].Subscriptions) != 3 || len(ins[0].Usage) != 2 {
			b.Fatalf("inputs %d, first with %d subscriptions and %d usages", len(ins), len(ins[0].Subscriptions), len(ins[0].Usage))
		}
	}
	b.StopTimer()
	rpcs := 0
	for _, c := range []*counting{subsConn, catalogConn, meteringConn} {
		for _, n := range c.calls {
			rpcs += n
		}
	}
	b.ReportMetric(float64(rpcs)/float64(b.N), "rpcs/op")
	b.ReportMetric(float64(subsConn.get(batchGetBillingData))/float64(b.N), "billing-calls/op")
	b.ReportMetric(float64(meteringConn.get(batchQueryUsage))/float64(b.N), "usage-calls/op")
	b.ReportMetric(float64(catalogConn.get(getPlanVersion)), "plan-version-calls")
}

// TestERPIDs: a plan linked to an offering's assignment (Servala) bills its
// fee with the assignment's ERP ids and its stored GiB (a gauge) with the
// offering's storage plan's.
func TestERPIDs(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newStack(t, app.Deps{})
	s.feature(t, "disk", "GiB", catalogv1.FeatureKind_FEATURE_KIND_GAUGE)
	chf := func(a string) *commonv1.Money { return &commonv1.Money{Amount: a, Currency: "CHF"} }
	_, err := s.catalog.CreateStoragePlan(ctx, &catalogv1.CreateStoragePlanRequest{StoragePlan: &catalogv1.StoragePlan{Key: "ssd", Name: "SSD",
		PricePerGib: chf("0.15"), PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_MONTH, ErpProductId: "storage-ssd", ErpUnitId: "gib_month"}})
	must(t, err)
	_, err = s.catalog.CreateComputePlan(ctx, &catalogv1.CreateComputePlanRequest{ComputePlan: &catalogv1.ComputePlan{Key: "small", Name: "Small",
		VcpuRequest: "0.5", VcpuLimit: "1", MemoryRequest: "1Gi", MemoryLimit: "2Gi"}})
	must(t, err)
	_, err = s.catalog.CreateOffering(ctx, &catalogv1.CreateOfferingRequest{Offering: &catalogv1.Offering{Key: "forgejo", Name: "Forgejo",
		Service: "forgejo", ControlPlane: "cloud", StoragePlanKey: "ssd"}})
	must(t, err)
	_, err = s.catalog.CreatePlan(ctx, &catalogv1.CreatePlanRequest{
		Plan: &catalogv1.Plan{Key: "forgejo_small", Name: "Forgejo small", Currency: "CHF", OfferingKey: "forgejo",
			BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}},
		Draft: &catalogv1.PlanVersion{Charges: []*catalogv1.Charge{flatFee("42")},
			Entitlements: []*catalogv1.Entitlement{{FeatureKey: "disk", IncludedQuantity: "10", OveragePrice: "0.15",
				LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_SOFT}}}})
	must(t, err)
	_, err = s.catalog.PublishPlan(ctx, &catalogv1.PublishPlanRequest{PlanId: "forgejo_small"})
	must(t, err)
	_, err = s.catalog.SetOfferingAssignments(ctx, &catalogv1.SetOfferingAssignmentsRequest{OfferingKey: "forgejo",
		Assignments: []*catalogv1.PlanAssignment{{ComputePlanKey: "small", Sla: catalogv1.Sla_SLA_BEST_EFFORT, Price: chf("42"),
			PriceUnit: catalogv1.PriceUnit_PRICE_UNIT_MONTH, MinimumInstances: 1, ErpProductId: "workervcpu-besteffort",
			ErpUnitId: "instance_month", PlanKey: "forgejo_small"}}})
	must(t, err)

	cus, err := s.subs.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Gitea Fans", Currency: "CHF"}})
	must(t, err)
	id := cus.GetCustomer().GetCustomerId()
	_, err = s.subs.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "forgejo_small"})
	must(t, err)
	s.ingest(t, id, "disk", "30", day(4, 1), "volume-1")
	s.clk.Set(day(5, 1).Add(time.Hour))

	src := peers.NewSources(s.conn, s.conn, s.conn)
	chfCur, _ := money.LookupCurrency("CHF")
	ins, err := src.Inputs(ctx, []invoice.Due{{CustomerID: id, Currency: chfCur, Period: rating.Period{From: day(4, 1), To: day(5, 1)}}})
	must(t, err)
	res, err := rating.Rate(ins[0])
	must(t, err)
	// April's fee from the start and May's in advance, 42.00 each, with
	// the assignment's ids; (30 − 10) GiB-months × 0.15 = 3.00 with the
	// storage plan's.
	var got []string
	for _, l := range res.Invoices[0].Lines {
		got = append(got, fmt.Sprintf("%s %s %s/%s", l.Feature, l.Amount.StringFixed(2), l.ERPProductID, l.ERPUnitID))
	}
	want := []string{" 42.00 workervcpu-besteffort/instance_month", " 42.00 workervcpu-besteffort/instance_month", "disk 3.00 storage-ssd/gib_month"}
	if !slices.Equal(got, want) {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
