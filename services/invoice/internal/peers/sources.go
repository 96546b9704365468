// Package peers reads what the invoice service needs from the subscription,
// catalog and metering services over gRPC, as the invoice.Sources port: in
// batches of up to 500 customers per call, with the catalog's published
// plan versions cached, since they never change.
package peers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/pbtime"
	"github.com/meterplane/meterplane/platform/peer"
	"github.com/meterplane/meterplane/platform/periods"
	"github.com/meterplane/meterplane/services/invoice/internal/invoice"
	"github.com/meterplane/meterplane/services/invoice/internal/rating"
)

// batchSize is how many customers one batch call asks for: the bound of
// the subscription and metering batch calls.
const batchSize = 500

// sources implements invoice.Sources.
type sources struct {
	subscription subscriptionv1.SubscriptionServiceClient
	catalog      catalogv1.CatalogServiceClient
	metering     meteringv1.MeteringServiceClient
	plans        *planCache
}

// NewSources returns the invoice service's Sources over the connections to
// the subscription, catalog and metering services.
func NewSources(subscription, catalog, metering grpc.ClientConnInterface) invoice.Sources {
	return &sources{
		subscription: subscriptionv1.NewSubscriptionServiceClient(subscription),
		catalog:      catalogv1.NewCatalogServiceClient(catalog),
		metering:     meteringv1.NewMeteringServiceClient(metering),
		plans:        newPlanCache(maxCachedPlans),
	}
}

// DuePeriods implements invoice.Sources over ListDuePeriods.
func (s *sources) DuePeriods(ctx context.Context, asOf, endedAfter time.Time, pageToken string) ([]invoice.Due, string, error) {
	res, err := s.subscription.ListDuePeriods(ctx, &subscriptionv1.ListDuePeriodsRequest{
		AsOf: pbtime.New(asOf), EndedAfter: pbtime.New(endedAfter), PageSize: batchSize, PageToken: pageToken})
	if err != nil {
		return nil, "", peer.Failed("subscription", "ListDuePeriods", err)
	}
	out := make([]invoice.Due, len(res.GetDuePeriods()))
	for i, d := range res.GetDuePeriods() {
		cur, err := currency(d.GetCurrency())
		if err != nil {
			return nil, "", err
		}
		out[i] = invoice.Due{CustomerID: d.GetCustomerId(), Currency: cur, Period: periodIn(d.GetPeriod())}
	}
	return out, res.GetNextPageToken(), nil
}

// CurrentPeriod implements invoice.Sources over GetBillingPeriod and
// BatchGetBillingData (for the currency).
func (s *sources) CurrentPeriod(ctx context.Context, customerID string, at time.Time) (invoice.Due, error) {
	res, err := s.subscription.GetBillingPeriod(ctx, &subscriptionv1.GetBillingPeriodRequest{CustomerId: customerID, At: pbtime.New(at)})
	if err != nil {
		return invoice.Due{}, customerFailed("GetBillingPeriod", customerID, err)
	}
	cs, err := s.Customers(ctx, []string{customerID})
	if err != nil {
		return invoice.Due{}, err
	}
	return invoice.Due{CustomerID: customerID, Currency: cs[0].Currency, Period: periodIn(res.GetPeriod())}, nil
}

// Inputs implements invoice.Sources: per 500 periods, one BatchGetBillingData,
// one BatchQueryUsage, and catalog calls only for plan versions and
// features not seen before.
func (s *sources) Inputs(ctx context.Context, due []invoice.Due) ([]rating.Input, error) {
	out := make([]rating.Input, 0, len(due))
	for start := 0; start < len(due); start += batchSize {
		chunk := due[start:min(start+batchSize, len(due))]
		ins, err := s.inputs(ctx, chunk)
		if err != nil {
			return nil, err
		}
		out = append(out, ins...)
	}
	return out, nil
}

func (s *sources) inputs(ctx context.Context, due []invoice.Due) ([]rating.Input, error) {
	billingReq := &subscriptionv1.BatchGetBillingDataRequest{Queries: make([]*subscriptionv1.BillingDataQuery, len(due))}
	usageReq := &meteringv1.BatchQueryUsageRequest{Queries: make([]*meteringv1.UsageQuery, len(due))}
	for i, d := range due {
		billingReq.Queries[i] = &subscriptionv1.BillingDataQuery{CustomerId: d.CustomerID, Period: periodOut(d.Period)}
		usageReq.Queries[i] = &meteringv1.UsageQuery{CustomerId: d.CustomerID, Period: periodOut(d.Period)}
	}
	billing, err := s.subscription.BatchGetBillingData(ctx, billingReq)
	if err != nil {
		return nil, customerFailed("BatchGetBillingData", "", err)
	}
	usage, err := s.metering.BatchQueryUsage(ctx, usageReq)
	if err != nil {
		return nil, peer.Failed("metering", "BatchQueryUsage", err)
	}
	if len(billing.GetResults()) != len(due) || len(usage.GetResults()) != len(due) {
		return nil, fmt.Errorf("peers: %d billing and %d usage results for %d periods",
			len(billing.GetResults()), len(usage.GetResults()), len(due))
	}
	var segs []*subscriptionv1.Segment
	var meters []*meteringv1.Meter
	for i := range due {
		segs = append(segs, billing.GetResults()[i].GetSegments()...)
		for _, u := range usage.GetResults()[i].GetUsage() {
			meters = append(meters, u.GetMeter())
		}
	}
	plans, err := s.plans.get(ctx, s.catalog, segs)
	if err != nil {
		return nil, err
	}
	units, err := s.plans.units(ctx, s.catalog, meters)
	if err != nil {
		return nil, err
	}
	out := make([]rating.Input, len(due))
	for i, d := range due {
		b := billing.GetResults()[i]
		in := rating.Input{Currency: d.Currency, Period: d.Period, Next: periodIn(b.GetNextPeriod()),
			Schedule: schedule(b.GetCustomer()), CreditBalance: money.Zero}
		for _, sg := range b.GetSegments() {
			n := len(in.Subscriptions)
			if n == 0 || in.Subscriptions[n-1].ID != sg.GetSubscriptionId() {
				in.Subscriptions = append(in.Subscriptions, rating.Subscription{ID: sg.GetSubscriptionId(), BillSeparately: sg.GetBillSeparately()})
				n++
			}
			in.Subscriptions[n-1].Segments = append(in.Subscriptions[n-1].Segments, rating.Segment{
				Plan: plans[versionOf(sg)], Quantity: sg.GetQuantity(), Trial: sg.GetTrial(),
				From: pbtime.Time(sg.GetStartTime()), To: pbtime.Time(sg.GetEndTime())})
		}
		for _, u := range usage.GetResults()[i].GetUsage() {
			q, err := money.Parse(u.GetTotal())
			if err != nil {
				return nil, fmt.Errorf("peers: metering total %q of %s: %w", u.GetTotal(), u.GetMeter().GetKey(), err)
			}
			m := u.GetMeter()
			in.Usage = append(in.Usage, rating.Usage{Feature: m.GetFeatureKey(), Unit: units[m.GetFeatureKey()],
				Gauge: m.GetAggregation() == meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED, Quantity: q})
		}
		out[i] = in
	}
	return out, nil
}

// Complete implements invoice.Sources over GetCompleteness. Metering
// answers not complete when no source reported usage in the period; such
// a customer has nothing to wait for, so it is complete here.
func (s *sources) Complete(ctx context.Context, d invoice.Due) (bool, error) {
	res, err := s.metering.GetCompleteness(ctx, &meteringv1.GetCompletenessRequest{CustomerId: d.CustomerID, Period: periodOut(d.Period)})
	if err != nil {
		return false, customerFailed("GetCompleteness", d.CustomerID, err)
	}
	return res.GetComplete() || len(res.GetSources()) == 0, nil
}

// ClosePeriod implements invoice.Sources over metering's ClosePeriod, with
// an idempotency key naming the customer and the period's end, so a retry
// replays.
func (s *sources) ClosePeriod(ctx context.Context, d invoice.Due) error {
	_, err := s.metering.ClosePeriod(ctx, &meteringv1.ClosePeriodRequest{CustomerId: d.CustomerID, ClosedBefore: pbtime.New(d.Period.To),
		IdempotencyKey: fmt.Sprintf("invoice-close-%s-%d", d.CustomerID, d.Period.To.Unix())})
	if err != nil {
		return customerFailed("ClosePeriod", d.CustomerID, err)
	}
	return nil
}

// ClosePeriods implements invoice.Sources over metering's
// BatchClosePeriod, 500 periods a call, each call with an idempotency key
// derived from the customers and period ends it closes, so a retry
// replays.
func (s *sources) ClosePeriods(ctx context.Context, dues []invoice.Due) error {
	for start := 0; start < len(dues); start += batchSize {
		req := &meteringv1.BatchClosePeriodRequest{}
		h := sha256.New()
		for _, d := range dues[start:min(start+batchSize, len(dues))] {
			req.Closings = append(req.Closings, &meteringv1.PeriodClosing{CustomerId: d.CustomerID, ClosedBefore: pbtime.New(d.Period.To)})
			fmt.Fprintf(h, "%s\x00%d\x00", d.CustomerID, d.Period.To.UnixNano())
		}
		req.IdempotencyKey = "invoice-close-batch-" + hex.EncodeToString(h.Sum(nil))
		if _, err := s.metering.BatchClosePeriod(ctx, req); err != nil {
			return customerFailed("BatchClosePeriod", "", err)
		}
	}
	return nil
}

// Customers implements invoice.Sources over BatchGetBillingData without
// periods, 500 at a time.
func (s *sources) Customers(ctx context.Context, ids []string) ([]invoice.Customer, error) {
	out := make([]invoice.Customer, 0, len(ids))
	for start := 0; start < len(ids); start += batchSize {
		req := &subscriptionv1.BatchGetBillingDataRequest{}
		for _, id := range ids[start:min(start+batchSize, len(ids))] {
			req.Queries = append(req.Queries, &subscriptionv1.BillingDataQuery{CustomerId: id})
		}
		res, err := s.subscription.BatchGetBillingData(ctx, req)
		if err != nil {
			return nil, customerFailed("BatchGetBillingData", "", err)
		}
		for _, r := range res.GetResults() {
			c := r.GetCustomer()
			cur, err := currency(c.GetCurrency())
			if err != nil {
				return nil, err
			}
			out = append(out, invoice.Customer{ID: c.GetCustomerId(), ExternalID: c.GetExternalId(), Name: c.GetName(),
				Email: c.GetEmail(), Currency: cur, ParentID: c.GetParentCustomerId()})
		}
	}
	return out, nil
}

// Children implements invoice.Sources over ListCustomers by parent.
func (s *sources) Children(ctx context.Context, parentID string) ([]string, error) {
	var out []string
	for token := ""; ; {
		res, err := s.subscription.ListCustomers(ctx, &subscriptionv1.ListCustomersRequest{ParentCustomerId: parentID,
			PageSize: batchSize, PageToken: token})
		if err != nil {
			return nil, peer.Failed("subscription", "ListCustomers", err)
		}
		for _, c := range res.GetCustomers() {
			out = append(out, c.GetCustomerId())
		}
		if token = res.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// customerFailed maps a failed call about customers: an unknown customer
// is NotFound for the caller, bad input InvalidArgument, the rest
// peer.Failed.
func customerFailed(call, customerID string, err error) error {
	switch status.Code(err) {
	case codes.NotFound:
		if customerID != "" {
			return errs.New(errs.NotFound, "customer %q not found", errs.Short(customerID))
		}
		return errs.New(errs.NotFound, "%s", status.Convert(err).Message())
	case codes.InvalidArgument:
		return errs.New(errs.Invalid, "%s", status.Convert(err).Message())
	}
	service := "subscription"
	if call == "GetCompleteness" || call == "ClosePeriod" || call == "BatchClosePeriod" {
		service = "metering"
	}
	return peer.Failed(service, call, err)
}

// schedule returns the customer's periods of any interval, by the same
// rule the subscription service bills by.
func schedule(c *subscriptionv1.Customer) rating.Schedule {
	a := periods.Anchor{Kind: periods.Calendar}
	if c.GetBillingAnchor() == subscriptionv1.BillingAnchor_BILLING_ANCHOR_ANNIVERSARY {
		a = periods.Anchor{Kind: periods.Anniversary, Date: pbtime.Time(c.GetAnchorTime())}
	}
	return func(iv rating.Interval, at time.Time) rating.Period {
		p := periods.PeriodAt(a, periods.Interval{Unit: unitOf[iv.Unit], Count: iv.Count}, at)
		return rating.Period{From: p.Start, To: p.End}
	}
}

var unitOf = map[rating.IntervalUnit]periods.IntervalUnit{
	rating.Day: periods.Day, rating.Week: periods.Week, rating.Month: periods.Month,
	rating.Quarter: periods.Quarter, rating.Year: periods.Year,
}

func currency(code string) (money.Currency, error) {
	c, ok := money.LookupCurrency(code)
	if !ok {
		return money.Currency{}, fmt.Errorf("peers: unknown currency %q", code)
	}
	return c, nil
}

func periodIn(p *commonv1.Period) rating.Period {
	return rating.Period{From: pbtime.Time(p.GetStart()), To: pbtime.Time(p.GetEnd())}
}

func periodOut(p rating.Period) *commonv1.Period {
	return &commonv1.Period{Start: pbtime.New(p.From), End: pbtime.New(p.To)}
}
