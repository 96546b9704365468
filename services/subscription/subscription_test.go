package subscription_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/timestamppb"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/config"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/catalog"
	"github.com/meterplane/meterplane/services/subscription"
)

// suite runs the catalog and the subscription service each on its own
// server, as deployed, on PostgreSQL and real Redis, with the demo catalog.
type suite struct {
	catalog catalogv1.CatalogServiceClient
	client  subscriptionv1.SubscriptionServiceClient
	http    string
	redis   *redisx.Redis
	clk     *clock.Fake
}

var t0 = time.Date(2026, 1, 10, 9, 0, 0, 0, time.UTC)

func newSuite(t *testing.T) suite {
	t.Helper()
	ctx := t.Context()
	url := storageURL(t)
	clk := clock.NewFake(t0)
	rc := redistest.New(t)
	rdb := &redisx.Redis{Client: rc}
	d := app.Deps{Config: config.Config{DatabaseURL: url}, Clock: clk, Redis: rdb}
	catSrv := apptest.Serve(t, d, catalog.Open)
	d.Catalog = catSrv.Conn()
	srv := apptest.Serve(t, d, subscription.Open)
	s := suite{
		catalog: catalogv1.NewCatalogServiceClient(catSrv.Conn()),
		client:  subscriptionv1.NewSubscriptionServiceClient(srv.Conn()),
		http:    "http://" + srv.HTTPAddr(), redis: rdb, clk: clk,
	}
	must(t, catalog.Seed(ctx, s.catalog))
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code codes.Code, text string) {
	t.Helper()
	if status.Code(err) != code || !strings.Contains(status.Convert(err).Message(), text) {
		t.Fatalf("got %v, want %v containing %q", err, code, text)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	st := status.Convert(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 && br.GetFieldViolations()[0].GetField() == field {
			return
		}
	}
	t.Fatalf("got %v, want InvalidArgument on %s", err, field)
}

func TestAPI(t *testing.T) {
	t.Parallel()
	s := newSuite(t)
	ctx := t.Context()

	cus, err := s.client.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{
		Customer:       &subscriptionv1.Customer{ExternalId: "aegir-42", Name: "Acme", Currency: "EUR"},
		IdempotencyKey: "create-acme",
	})
	must(t, err)
	again, err := s.client.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{
		Customer:       &subscriptionv1.Customer{ExternalId: "aegir-42", Name: "Acme", Currency: "EUR"},
		IdempotencyKey: "create-acme",
	})
	must(t, err)
	if diff := cmp.Diff(cus, again, protocmp.Transform()); diff != "" {
		t.Errorf("a retried create is not replayed (-first +retry):\n%s", diff)
	}
	id := cus.GetCustomer().GetCustomerId()

	_, err = s.client.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "x", Currency: "EURO"}})
	wantField(t, err, "customer.currency")

	sub, err := s.client.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50", IdempotencyKey: "sub-1"})
	must(t, err)
	got := sub.GetSubscription()
	want := &subscriptionv1.Subscription{
		SubscriptionId: got.GetSubscriptionId(), CustomerId: id, PlanId: got.GetPlanId(), PlanKey: "hosting_50", PlanVersion: 1,
		Quantity: 1, Status: subscriptionv1.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE, StartTime: timestamppb.New(t0),
		Currency: "EUR", BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1},
		CreateTime: timestamppb.New(t0),
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("subscription (-want +got):\n%s", diff)
	}

	// Refusals name their reason.
	draft, err := s.catalog.CreatePlan(ctx, &catalogv1.CreatePlanRequest{Plan: &catalogv1.Plan{Key: "draft_only", Name: "Draft", Currency: "EUR",
		BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}}})
	must(t, err)
	_, err = s.client.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: draft.GetPlan().GetKey()})
	wantCode(t, err, codes.FailedPrecondition, "has no published version")
	_, err = s.catalog.ArchivePlan(ctx, &catalogv1.ArchivePlanRequest{PlanId: "hosting_single"})
	must(t, err)
	_, err = s.client.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_single"})
	wantCode(t, err, codes.FailedPrecondition, "is archived")
	redis, err := s.catalog.CreatePlan(ctx, &catalogv1.CreatePlanRequest{Plan: &catalogv1.Plan{Key: "redis_small", Name: "Redis", Currency: "EUR",
		OfferingKey: "redis-exoscale", BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}},
		Draft: &catalogv1.PlanVersion{Charges: []*catalogv1.Charge{{Key: "base", Kind: &catalogv1.Charge_Recurring{
			Recurring: &catalogv1.RecurringFee{Amount: "10", Timing: catalogv1.FeeTiming_FEE_TIMING_IN_ADVANCE}}}}}})
	must(t, err)
	_, err = s.catalog.PublishPlan(ctx, &catalogv1.PublishPlanRequest{PlanId: redis.GetPlan().GetKey()})
	must(t, err)
	_, err = s.client.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "redis_small"})
	wantCode(t, err, codes.FailedPrecondition, "offering redis-exoscale cannot be ordered")
	// The catalog's NotFound for the plan is the caller's bad plan_id, not
	// a missing subscription resource.
	_, err = s.client.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "nope"})
	wantCode(t, err, codes.InvalidArgument, "nope")
	wantField(t, err, "plan_id")

	// A downgrade is scheduled for the period's end and can be withdrawn.
	ch, err := s.client.ChangePlan(ctx, &subscriptionv1.ChangePlanRequest{SubscriptionId: got.GetSubscriptionId(), PlanId: "hosting_payg", IdempotencyKey: "down"})
	must(t, err)
	if !ch.GetChange().GetEffectiveTime().AsTime().Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("downgrade at %v, want Feb 1", ch.GetChange().GetEffectiveTime().AsTime())
	}
	sched, err := s.client.ListScheduledChanges(ctx, &subscriptionv1.ListScheduledChangesRequest{SubscriptionId: got.GetSubscriptionId()})
	must(t, err)
	if len(sched.GetChanges()) != 1 {
		t.Fatalf("scheduled %v", sched.GetChanges())
	}
	segs, err := s.client.ListSegments(ctx, &subscriptionv1.ListSegmentsRequest{CustomerId: id,
		Period: &commonv1.Period{Start: timestamppb.New(t0), End: timestamppb.New(t0.AddDate(0, 2, 0))}})
	must(t, err)
	if len(segs.GetSegments()) != 2 || segs.GetSegments()[1].GetPlanKey() != "hosting_payg" || segs.GetSegments()[1].GetEndTime() != nil {
		t.Errorf("segments %v", segs.GetSegments())
	}
	_, err = s.client.CancelScheduledChange(ctx, &subscriptionv1.CancelScheduledChangeRequest{SubscriptionId: got.GetSubscriptionId(), ChangeId: ch.GetChange().GetChangeId()})
	must(t, err)
	_, err = s.client.ChangeQuantity(ctx, &subscriptionv1.ChangeQuantityRequest{SubscriptionId: got.GetSubscriptionId(), Quantity: 2,
		Timing: subscriptionv1.ChangeTiming_CHANGE_TIMING_AT})
	wantField(t, err, "effective_time")

	// Entitlements and billing period over HTTP.
	var ents struct {
		Entitlements []struct {
			FeatureKey       string `json:"featureKey"`
			IncludedQuantity string `json:"includedQuantity"`
			LimitPolicy      string `json:"limitPolicy"`
			OveragePrice     *struct{ Amount, Currency string }
		} `json:"entitlements"`
		ActiveSubscriptions int `json:"activeSubscriptions"`
	}
	getJSON(t, s.http+"/v1/customers/"+id+"/entitlements", &ents)
	if ents.ActiveSubscriptions != 1 || len(ents.Entitlements) != 2 || ents.Entitlements[0].FeatureKey != "bandwidth_gib" ||
		ents.Entitlements[0].IncludedQuantity != "500" || ents.Entitlements[0].OveragePrice == nil || ents.Entitlements[1].IncludedQuantity != "50" {
		t.Errorf("entitlements over HTTP: %+v", ents)
	}
	var period struct {
		Period struct{ Start, End string } `json:"period"`
	}
	getJSON(t, s.http+"/v1/customers/"+id+"/billingPeriod?at=2026-01-31T23:59:59Z", &period)
	if period.Period.Start != "2026-01-01T00:00:00Z" || period.Period.End != "2026-02-01T00:00:00Z" {
		t.Errorf("billing period over HTTP: %+v", period)
	}
	res, err := http.Post(s.http+"/v1/subscriptions/"+got.GetSubscriptionId()+":cancel", "application/json",
		strings.NewReader(`{"timing":"CHANGE_TIMING_END_OF_PERIOD","idempotencyKey":"cancel-1"}`))
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("cancel over HTTP: %s", res.Status)
	}
	res, err = http.Post(s.http+"/v1/customers/"+id+"/subscriptions", "application/json", strings.NewReader(`{"planId":"hosting_50","quantity":"-1"}`))
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("a negative quantity over HTTP: %s, want 400", res.Status)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	must(t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %s %s", url, res.Status, b)
	}
	must(t, json.NewDecoder(res.Body).Decode(v))
}

// TestEventsReachTheBus checks the relay publishes every change's event and
// a consumer that remembers event ids applies each effect once, even when
// the bus delivers an event again.
func TestEventsReachTheBus(t *testing.T) {
	t.Parallel()
	s := newSuite(t)
	ctx := t.Context()
	cus, err := s.client.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Acme", Currency: "EUR"}})
	must(t, err)
	id := cus.GetCustomer().GetCustomerId()
	sub, err := s.client.Subscribe(ctx, &subscriptionv1.SubscribeRequest{CustomerId: id, PlanId: "hosting_50"})
	must(t, err)
	for q := int64(2); q <= 4; q++ {
		_, err := s.client.ChangeQuantity(ctx, &subscriptionv1.ChangeQuantityRequest{SubscriptionId: sub.GetSubscription().GetSubscriptionId(), Quantity: q,
			Timing: subscriptionv1.ChangeTiming_CHANGE_TIMING_AT, EffectiveTime: timestamppb.New(t0.Add(time.Duration(q) * time.Hour))})
		must(t, err)
	}

	// A consumer with its own inbox; it fails the first delivery of the
	// second event after applying nothing, and its first try of the third
	// after applying it, so the bus redelivers both.
	inbox := consumerDB(t)
	b := bus.New(s.redis.Client)
	applied := map[string]int{}
	tries := map[string]int{}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(cctx, subscription.TopicChanged, "quota", "quota-1", func(ctx context.Context, m bus.Message) error {
			var ev subscriptionv1.SubscriptionChanged
			if err := protojson.Unmarshal(m.Payload, &ev); err != nil {
				return err
			}
			tries[m.ID]++
			if len(tries) == 2 && tries[m.ID] == 1 {
				return context.DeadlineExceeded
			}
			return inbox.InTx(ctx, func(ctx context.Context) error {
				seen, err := outbox.Seen(ctx, inbox, "quota", m.ID, time.Now())
				if err != nil || seen {
					return err
				}
				applied[ev.GetChangeId()]++
				return nil
			})
		})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := s.redis.XLen(ctx, "mp:"+subscription.TopicChanged).Result()
		must(t, err)
		pending, err := s.redis.XPending(ctx, "mp:"+subscription.TopicChanged, "quota").Result()
		if n == 4 && err == nil && pending.Count == 0 && len(applied) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s: %d events on the stream, applied %v", n, applied)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	must(t, <-done)
	for change, n := range applied {
		if n != 1 {
			t.Errorf("change %s applied %d times", change, n)
		}
	}
}

func storageURL(t *testing.T) string { return storagetest.EmptyPostgres(t) }

// consumerDB is the database of a consumer, with its inbox.
func consumerDB(t *testing.T) *storage.DB {
	t.Helper()
	db := storagetest.SQLite(t, "consumer", emptyFS{})
	return db
}

type emptyFS struct{}

func (emptyFS) Open(string) (fs.File, error) { return nil, fs.ErrNotExist }
