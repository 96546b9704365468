package main_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	subscriptionv1 "github.com/meterplane/meterplane/gen/meterplane/subscription/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/invoice"
)

// binary is the all-in-one binary, built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meterplane-e2e")
	if err != nil {
		panic(err)
	}
	binary, err = apptest.Build(dir, ".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// running is the binary started by start, with a gRPC connection to it.
type running struct {
	*apptest.Proc
	conn *grpc.ClientConn
}

// start runs the binary with env and args until the test ends, when it
// must stop cleanly on SIGTERM.
func start(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	p := apptest.Start(t, binary, env, args...)
	t.Cleanup(func() { p.Stop(t) })
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), apptest.Credential())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &running{Proc: p, conn: conn}
}

func (r *running) http(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+r.HTTPAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %s: not JSON: %v", method, path, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out
}

// exercise creates, publishes and lists a plan through gRPC and through
// HTTP, then subscribes a customer to it (see exerciseSubscriptions, whose
// result it returns).
func exercise(t *testing.T, r *running) subscriptionFlow {
	ctx := t.Context()
	c := catalogv1.NewCatalogServiceClient(r.conn)

	// Reflection lists the services, so grpcurl works without protos.
	stream, err := reflectionpb.NewServerReflectionClient(r.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	got, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"meterplane.catalog.v1.CatalogService", "meterplane.subscription.v1.SubscriptionService", "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}

	// gRPC: feature, plan with a usage charge, publish, list.
	if _, err := c.CreateFeature(ctx, &catalogv1.CreateFeatureRequest{IdempotencyKey: "f1", Feature: &catalogv1.Feature{
		Key: "e2e_bandwidth_gib", Name: "Bandwidth", Unit: "GiB", Kind: catalogv1.FeatureKind_FEATURE_KIND_COUNTER}}); err != nil {
		t.Fatalf("CreateFeature: %v", err)
	}
	created, err := c.CreatePlan(ctx, &catalogv1.CreatePlanRequest{
		IdempotencyKey: "p1",
		Plan: &catalogv1.Plan{Key: "e2e_grpc", Name: "gRPC plan", Currency: "EUR",
			BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}},
		Draft: &catalogv1.PlanVersion{
			Charges: []*catalogv1.Charge{
				{Key: "base", Description: "Base fee", Kind: &catalogv1.Charge_Recurring{Recurring: &catalogv1.RecurringFee{Amount: "49.00", Timing: catalogv1.FeeTiming_FEE_TIMING_IN_ADVANCE, Prorated: true}}},
				{Key: "bandwidth", Description: "Bandwidth", Kind: &catalogv1.Charge_Usage{Usage: &catalogv1.UsageCharge{FeatureKey: "e2e_bandwidth_gib", Model: catalogv1.PricingModel_PRICING_MODEL_PER_UNIT, UnitPrice: "0.10"}}},
			},
			Entitlements: []*catalogv1.Entitlement{{FeatureKey: "e2e_bandwidth_gib", IncludedQuantity: "500", LimitPolicy: catalogv1.LimitPolicy_LIMIT_POLICY_SOFT, ResetPeriod: catalogv1.ResetPeriod_RESET_PERIOD_BILLING_PERIOD}},
		},
	})
	if err != nil {
		t.Fatalf("CreatePlan: %v", err)
	}
	if _, err := c.PublishPlan(ctx, &catalogv1.PublishPlanRequest{PlanId: created.GetPlan().GetPlanId(), IdempotencyKey: "pub1"}); err != nil {
		t.Fatalf("PublishPlan: %v", err)
	}
	// A retried publish with the same key answers the same, without error.
	if _, err := c.PublishPlan(ctx, &catalogv1.PublishPlanRequest{PlanId: created.GetPlan().GetPlanId(), IdempotencyKey: "pub1"}); err != nil {
		t.Fatalf("PublishPlan retried: %v", err)
	}
	// Bad input gets InvalidArgument naming the field.
	_, err = c.CreatePlan(ctx, &catalogv1.CreatePlanRequest{Plan: &catalogv1.Plan{Key: "e2e_bad", Name: "Bad", Currency: "EURO",
		BillingInterval: &catalogv1.BillingInterval{Unit: catalogv1.IntervalUnit_INTERVAL_UNIT_MONTH, Count: 1}}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "plan.currency") {
		t.Fatalf("CreatePlan with bad currency: %v", err)
	}

	// HTTP: the same flow through the gateway.
	code, body := r.http(t, "POST", "/v1/plans", `{"idempotencyKey":"h1","plan":{"key":"e2e_http","name":"HTTP plan","currency":"USD",
		"billingInterval":{"unit":"INTERVAL_UNIT_MONTH","count":1}},
		"draft":{"charges":[{"key":"base","description":"Base","recurring":{"amount":"5","timing":"FEE_TIMING_IN_ADVANCE"}}]}}`)
	if code != 200 {
		t.Fatalf("POST /v1/plans = %d %v", code, body)
	}
	planID := body["plan"].(map[string]any)["planId"].(string)
	if code, body = r.http(t, "POST", "/v1/plans/"+planID+":publish", `{"idempotencyKey":"h2"}`); code != 200 {
		t.Fatalf("publish = %d %v", code, body)
	}
	if code, body = r.http(t, "GET", "/v1/plans?status=PLAN_STATUS_PUBLISHED", ""); code != 200 {
		t.Fatalf("GET /v1/plans = %d %v", code, body)
	}
	var keys []string
	for _, p := range body["plans"].([]any) {
		keys = append(keys, p.(map[string]any)["key"].(string))
	}
	for _, want := range []string{"e2e_grpc", "e2e_http"} {
		if !slices.Contains(keys, want) {
			t.Errorf("published plans %v, missing %s", keys, want)
		}
	}
	if code, body = r.http(t, "GET", "/v1/plans/e2e_missing", ""); code != 404 {
		t.Errorf("GET missing plan = %d %v, want 404", code, body)
	}
	if code, body = r.http(t, "POST", "/v1/plans", `{"plan":{"key":"e2e_bad","name":"x","currency":"EUR"}}`); code != 400 {
		t.Errorf("POST bad plan = %d %v, want 400", code, body)
	}

	// The listing by gRPC sees the plan created over HTTP.
	list, err := c.ListPlans(ctx, &catalogv1.ListPlansRequest{Currency: "USD"})
	if err != nil || len(list.GetPlans()) == 0 || list.GetPlans()[0].GetKey() != "e2e_http" {
		t.Fatalf("ListPlans(USD) = %v, %v", list, err)
	}

	return exerciseSubscriptions(t, r, "e2e_grpc")
}

// subscriptionFlow is what exerciseSubscriptions did: the customer it
// created and the kinds of the subscription changes it recorded, in order,
// each of which the outbox relay publishes on the bus.
type subscriptionFlow struct {
	customerID string
	kinds      []string
}

// exerciseSubscriptions runs a subscription's life against the published
// EUR monthly plan planKey, through gRPC and through HTTP: a customer, a
// subscription (retried with its idempotency key), a quantity change, the
// entitlements and segments that follow, and a cancellation at the end of
// the period.
func exerciseSubscriptions(t *testing.T, r *running, planKey string) subscriptionFlow {
	ctx := t.Context()
	s := subscriptionv1.NewSubscriptionServiceClient(r.conn)
	var flow subscriptionFlow

	// HTTP: create the customer.
	code, body := r.http(t, "POST", "/v1/customers", `{"idempotencyKey":"c1","customer":{"externalId":"e2e-customer",
		"name":"E2E Customer","email":"billing@e2e.example","currency":"EUR"}}`)
	if code != 200 {
		t.Fatalf("POST /v1/customers = %d %v", code, body)
	}
	customer := obj(t, body, "customer")
	flow.customerID, _ = customer["customerId"].(string)
	if !strings.HasPrefix(flow.customerID, "cus_") || customer["billingAnchor"] != "BILLING_ANCHOR_CALENDAR" || customer["currency"] != "EUR" {
		t.Fatalf("created customer = %v", customer)
	}

	// gRPC: subscribe, then retry the same call with the same key.
	subscribe := &subscriptionv1.SubscribeRequest{CustomerId: flow.customerID, PlanId: planKey, IdempotencyKey: "s1"}
	first, err := s.Subscribe(ctx, subscribe)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	flow.kinds = append(flow.kinds, "CHANGE_KIND_SUBSCRIBE")
	sub := first.GetSubscription()
	subID := sub.GetSubscriptionId()
	if !strings.HasPrefix(subID, "sub_") || sub.GetPlanKey() != planKey || sub.GetQuantity() != 1 || sub.GetCurrency() != "EUR" ||
		sub.GetStatus() != subscriptionv1.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE || sub.GetEndTime() != nil {
		t.Fatalf("Subscribe = %v", sub)
	}
	again, err := s.Subscribe(ctx, subscribe)
	if err != nil {
		t.Fatalf("Subscribe retried: %v", err)
	}
	if got := again.GetSubscription().GetSubscriptionId(); got != subID {
		t.Fatalf("Subscribe retried with the same idempotency key = %s, want %s", got, subID)
	}
	subs, err := s.ListSubscriptions(ctx, &subscriptionv1.ListSubscriptionsRequest{CustomerId: flow.customerID})
	if err != nil || len(subs.GetSubscriptions()) != 1 {
		t.Fatalf("ListSubscriptions after a retried Subscribe = %v, %v; want exactly one", subs, err)
	}

	// HTTP: three units from now on.
	code, body = r.http(t, "POST", "/v1/subscriptions/"+subID+":changeQuantity", `{"quantity":"3","timing":"CHANGE_TIMING_IMMEDIATE"}`)
	if code != 200 || obj(t, body, "subscription")["quantity"] != "3" || obj(t, body, "change")["kind"] != "CHANGE_KIND_QUANTITY" {
		t.Fatalf("changeQuantity = %d %v", code, body)
	}
	flow.kinds = append(flow.kinds, "CHANGE_KIND_QUANTITY")

	// HTTP: the plan's included 500 GiB, three times.
	code, body = r.http(t, "GET", "/v1/customers/"+flow.customerID+"/entitlements", "")
	if code != 200 || body["activeSubscriptions"] != 1.0 {
		t.Fatalf("entitlements = %d %v", code, body)
	}
	if got := included(t, body, "e2e_bandwidth_gib"); got != "1500" {
		t.Errorf("e2e_bandwidth_gib included = %q, want 1500 (500 × 3); entitlements %v", got, body)
	}

	// HTTP: the month's segments, the period given as query parameters of
	// the nested message: one with 1 unit, then one with 3 from the change.
	start := sub.GetStartTime().AsTime()
	month := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	q := url.Values{"period.start": {month.Format(time.RFC3339)}, "period.end": {month.AddDate(0, 1, 0).Format(time.RFC3339)}}
	code, body = r.http(t, "GET", "/v1/customers/"+flow.customerID+"/segments?"+q.Encode(), "")
	if code != 200 {
		t.Fatalf("segments = %d %v", code, body)
	}
	segs, _ := body["segments"].([]any)
	if len(segs) != 2 {
		t.Fatalf("segments = %v, want 2", body)
	}
	s0, s1 := segs[0].(map[string]any), segs[1].(map[string]any)
	if s0["subscriptionId"] != subID || s0["quantity"] != "1" || s1["quantity"] != "3" ||
		s0["endTime"] == nil || s0["endTime"] != s1["startTime"] || s1["endTime"] != nil {
		t.Errorf("segments = %v, want [start, change) with 1 unit, then [change, open) with 3", segs)
	}

	// gRPC: cancel at the end of the period, the 1st of next month UTC for
	// a calendar customer on a monthly plan.
	before := time.Now()
	canceled, err := s.CancelSubscription(ctx, &subscriptionv1.CancelSubscriptionRequest{
		SubscriptionId: subID, Timing: subscriptionv1.ChangeTiming_CHANGE_TIMING_END_OF_PERIOD, IdempotencyKey: "x1"})
	if err != nil {
		t.Fatalf("CancelSubscription: %v", err)
	}
	flow.kinds = append(flow.kinds, "CHANGE_KIND_CANCEL")
	end := canceled.GetSubscription().GetEndTime().AsTime()
	if want, alt := nextMonth(before), nextMonth(time.Now()); !end.Equal(want) && !end.Equal(alt) {
		t.Errorf("end_time after cancelling at the end of the period = %v, want %v", end, want)
	}
	if canceled.GetSubscription().GetStatus() != subscriptionv1.SubscriptionStatus_SUBSCRIPTION_STATUS_ACTIVE ||
		canceled.GetChange().GetKind() != subscriptionv1.ChangeKind_CHANGE_KIND_CANCEL || !canceled.GetChange().GetEffectiveTime().AsTime().Equal(end) {
		t.Errorf("CancelSubscription = %v", canceled)
	}

	// Bad input gets InvalidArgument (HTTP 400) naming the field.
	_, err = s.CreateCustomer(ctx, &subscriptionv1.CreateCustomerRequest{Customer: &subscriptionv1.Customer{Name: "Bad", Currency: "EURO"}})
	if status.Code(err) != codes.InvalidArgument || !slices.Contains(violations(err), "customer.currency") {
		t.Errorf("CreateCustomer with currency EURO = %v, violations %v; want InvalidArgument on customer.currency", err, violations(err))
	}
	code, body = r.http(t, "POST", "/v1/customers", `{"customer":{"name":"Bad","currency":"EURO"}}`)
	if code != 400 || body["code"] != float64(codes.InvalidArgument) || !slices.Contains(httpViolations(body), "customer.currency") {
		t.Errorf("POST /v1/customers with currency EURO = %d %v, want 400 with a field violation on customer.currency", code, body)
	}
	return flow
}

// obj returns the JSON object under key of m.
func obj(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	o, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%q is not an object in %v", key, m)
	}
	return o
}

// included returns the included quantity of feature in the JSON of a
// GetEntitlementsResponse, "" if it has none.
func included(t *testing.T, body map[string]any, feature string) string {
	t.Helper()
	ents, _ := body["entitlements"].([]any)
	for _, e := range ents {
		if e, _ := e.(map[string]any); e["featureKey"] == feature {
			q, _ := e["includedQuantity"].(string)
			return q
		}
	}
	return ""
}

// violations returns the fields of the google.rpc.BadRequest details of err.
func violations(err error) []string {
	var fields []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// httpViolations returns the fields of the google.rpc.BadRequest details
// of the JSON of an error status, as the gateway answers it.
func httpViolations(body map[string]any) []string {
	var fields []string
	details, _ := body["details"].([]any)
	for _, d := range details {
		if d, _ := d.(map[string]any); d["@type"] == "type.googleapis.com/google.rpc.BadRequest" {
			vs, _ := d["fieldViolations"].([]any)
			for _, v := range vs {
				if v, _ := v.(map[string]any); v != nil {
					f, _ := v["field"].(string)
					fields = append(fields, f)
				}
			}
		}
	}
	return fields
}

// nextMonth returns the 1st of the month after t's, 00:00 UTC.
func nextMonth(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

func TestEmbeddedDefaults(t *testing.T) {
	t.Parallel()
	r := start(t, []string{"DATABASE_URL=", "REDIS_URL="})
	exercise(t, r)
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get("http://" + r.HTTPAddr + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s = %v, %v", path, resp, err)
		}
		resp.Body.Close()
	}
}

func TestPostgresAndRedis(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t) // a leased, flushed database; fails the test when Redis is down
	redisURL := fmt.Sprintf("%s/%d", strings.TrimSuffix(redistest.URL(), "/"), rdb.Options().DB)
	runOnPostgres(t, redisURL, rdb)
}

// TestPostgresAndRedisCluster runs every service of the binary on a Redis
// Cluster: REDIS_URL names the test cluster, whose nodes the bus's streams
// are spread over.
func TestPostgresAndRedisCluster(t *testing.T) {
	t.Parallel()
	rdb, _ := redistest.Cluster(t) // fails the test when the cluster is down
	r := runOnPostgres(t, redistest.ClusterURL(), rdb)
	resp, err := http.Get("http://" + r.HTTPAddr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /readyz on a cluster = %v, %v", resp, err)
	}
	resp.Body.Close()

	// Metering: an ingested event reaches the bus as usage.recorded.
	code, body := r.http(t, "POST", "/v1/meters", `{"meter":{"key":"e2e_bandwidth","featureKey":"e2e_bandwidth_gib","aggregation":"AGGREGATION_SUM"}}`)
	if code != 200 {
		t.Fatalf("POST /v1/meters = %d %v", code, body)
	}
	code, body = r.http(t, "POST", "/v1/customers", `{"idempotencyKey":"cluster","customer":{"externalId":"e2e-cluster","name":"Cluster","email":"c@e2e.example","currency":"EUR"}}`)
	customerID, _ := obj(t, body, "customer")["customerId"].(string)
	if code != 200 || customerID == "" {
		t.Fatalf("POST /v1/customers = %d %v", code, body)
	}
	code, body = r.http(t, "POST", "/v1/events", fmt.Sprintf(`{"customerId":%q,"meterKey":"e2e_bandwidth","quantity":"7.5","time":%q,"idempotencyKey":"ev1"}`,
		customerID, time.Now().UTC().Format(time.RFC3339)))
	if code != 200 {
		t.Fatalf("POST /v1/events = %d %v", code, body)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		entries, err := rdb.XRange(t.Context(), "mp:usage.recorded", "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(entries, func(e redis.XMessage) bool { return e.Values["key"] == customerID }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no usage.recorded event of %s on the cluster within 10s", customerID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runOnPostgres starts the binary on a new PostgreSQL database and on
// REDIS_URL redisURL, runs the exercise, and waits until the customer's
// subscription.changed events are on the bus, read through rdb. The stream
// may be shared with other tests: only this flow's customer counts.
func runOnPostgres(t *testing.T, redisURL string, rdb redis.UniversalClient) *running {
	t.Helper()
	admin, err := sql.Open("pgx", storagetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("e2e_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres (tests never skip): %v", err)
	}
	t.Cleanup(func() { admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(storagetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	dbURL := u.String()
	r := start(t, []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL})

	// Count what this flow adds to the stream.
	ctx := t.Context()
	const stream = "mp:subscription.changed"
	before, err := rdb.XLen(ctx, stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	from := "-"
	if last, err := rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result(); err != nil {
		t.Fatal(err)
	} else if len(last) == 1 {
		from = "(" + last[0].ID
	}

	flow := exercise(t, r)

	// The outbox relay publishes every recorded change, asynchronously.
	var (
		n     int64
		kinds []string
	)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if n, err = rdb.XLen(ctx, stream).Result(); err != nil {
			t.Fatal(err)
		}
		kinds = publishedKinds(t, rdb, stream, from, flow.customerID)
		if n-before >= int64(len(flow.kinds)) && slices.Equal(kinds, flow.kinds) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("XLEN %s went from %d to %d within 10s, want at least %d more; the customer's events are %v, want %v",
				stream, before, n, len(flow.kinds), kinds, flow.kinds)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

// publishedKinds returns the kinds of the distinct subscription.changed
// events of customerID on stream from the entry from on, in stream order.
func publishedKinds(t *testing.T, rdb redis.UniversalClient, stream, from, customerID string) []string {
	t.Helper()
	entries, err := rdb.XRange(t.Context(), stream, from, "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var kinds, seen []string
	for _, e := range entries {
		id, _ := e.Values["id"].(string)
		if e.Values["key"] != customerID || slices.Contains(seen, id) {
			continue // another customer's, or a repeat of at-least-once delivery
		}
		seen = append(seen, id)
		var ev subscriptionv1.SubscriptionChanged
		payload, _ := e.Values["payload"].(string)
		if err := protojson.Unmarshal([]byte(payload), &ev); err != nil {
			t.Fatalf("entry %s: payload %q is not a SubscriptionChanged: %v", e.ID, payload, err)
		}
		if ev.GetCustomerId() != customerID || ev.GetChangeId() == "" {
			t.Errorf("entry %s: event %v", e.ID, &ev)
		}
		kinds = append(kinds, ev.GetKind().String())
	}
	return kinds
}

func TestDemo(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=", "REDIS_URL=", "MP_DATA_DIR=" + t.TempDir()}
	// The second start seeds the same data again: the seed is idempotent.
	for _, run := range []string{"first start", "second start on the same data"} {
		t.Run(run, func(t *testing.T) {
			r := start(t, env, "--demo")
			code, body := r.http(t, "GET", "/v1/plans", "")
			if code != 200 || len(body["plans"].([]any)) < 3 {
				t.Fatalf("GET /v1/plans after --demo = %d %v", code, body)
			}
			code, body = r.http(t, "GET", "/v1/offerings/forgejo-cloudscale/plans", "")
			if code != 200 || body["orderable"] != true || len(body["plans"].([]any)) < 2 {
				t.Fatalf("forgejo plans = %d %v", code, body)
			}
			code, body = r.http(t, "GET", "/v1/offerings/redis-exoscale/plans", "")
			if code != 200 || body["orderable"] != false || body["notOrderableReason"] == "" {
				t.Fatalf("redis-exoscale plans = %d %v", code, body)
			}

			// Exactly the three demo customers and the invoice demo's,
			// however often seeded.
			code, body = r.http(t, "GET", "/v1/customers", "")
			customers, _ := body["customers"].([]any)
			if code != 200 || len(customers) != 4 {
				t.Fatalf("GET /v1/customers after --demo = %d %v, want 4 customers", code, body)
			}
			byExternal := map[string]map[string]any{}
			for _, c := range customers {
				c := c.(map[string]any)
				byExternal[c["externalId"].(string)] = c
			}
			reseller, bakery := byExternal["aegir-client-reseller"], byExternal["aegir-client-bakery"]
			if byExternal["aegir-client-acme"] == nil || reseller == nil || bakery == nil || bakery["parentCustomerId"] != reseller["customerId"] {
				t.Fatalf("demo customers = %v", customers)
			}
			// The bakery has hosting_single (1 site) three times, in trial.
			code, body = r.http(t, "GET", "/v1/customers/"+bakery["customerId"].(string)+"/entitlements", "")
			if code != 200 || included(t, body, "sites") != "3" {
				t.Fatalf("bakery entitlements = %d %v, want sites included 3", code, body)
			}

			// Demo usage: seeding twice stores each event once, so
			// the month's bandwidth is the same after both starts.
			month := time.Now().UTC()
			start := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
			period := "period.start=" + start.Format(time.RFC3339) + "&period.end=" + start.AddDate(0, 1, 0).Format(time.RFC3339)
			acme := byExternal["aegir-client-acme"]["customerId"].(string)
			code, body = r.http(t, "GET", "/v1/customers/"+acme+"/usage?meterKey=bandwidth&"+period, "")
			if code != 200 {
				t.Fatalf("acme usage = %d %v", code, body)
			}
			if run == "first start" {
				demoBandwidth = body["total"].(string)
			} else if body["total"] != demoBandwidth {
				t.Fatalf("acme bandwidth after seeding again = %v, want %s", body["total"], demoBandwidth)
			}
			code, body = r.http(t, "GET", "/v1/usageReports:export?customerId="+acme+"&format=REPORT_FORMAT_XML&"+period, "")
			if code != 200 || body["contentType"] != "application/xml" {
				t.Fatalf("export = %d %v", code, body)
			}
			checkDemoInvoice(t, r, byExternal[invoice.DemoCustomer]["customerId"].(string))
		})
	}
}

// demoBandwidth is acme's demo bandwidth of the month after the first start.
var demoBandwidth string
