package main_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/meterplane/meterplane/gen/meterplane/common/v1"
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/money"
)

// TestQuotaDemo is the Aegir flow through the all-in-one binary, over
// gRPC and HTTP: the demo customer with the 50-sites package, who has the
// demo's sites, provisions sites by Reserve + Commit until it has 50; the
// 51st is denied with limit 50 and used 50; one site is deleted
// (Deallocate) and the next Reserve is allowed; metering's sites meter,
// fed by quota, shows every site's level. A second --demo start on the
// same data allocates nothing more.
func TestQuotaDemo(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=", "REDIS_URL=", "MP_DATA_DIR=" + t.TempDir()}
	// Started without start's cleanup, to be stopped in the middle.
	p := apptest.Start(t, binary, env, "--demo")
	conn, err := grpc.NewClient(p.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()), apptest.Credential())
	if err != nil {
		t.Fatal(err)
	}
	r := &running{Proc: p, conn: conn}
	code, body := r.http(t, "GET", "/v1/customers?externalId=aegir-client-acme", "")
	customers, _ := body["customers"].([]any)
	if code != 200 || len(customers) != 1 {
		t.Fatalf("GET /v1/customers?externalId=aegir-client-acme = %d %v", code, body)
	}
	acme := customers[0].(map[string]any)["customerId"].(string)
	client := quotav1.NewQuotaServiceClient(r.conn)
	used := func() string {
		t.Helper()
		st, err := client.GetQuotaStatus(t.Context(), &quotav1.GetQuotaStatusRequest{CustomerId: acme})
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		for _, f := range st.GetFeatures() {
			if f.GetFeatureKey() == "sites" {
				return f.GetUsed()
			}
		}
		t.Fatalf("status without sites: %v", st)
		return ""
	}
	if got := used(); got != "2" {
		t.Fatalf("the demo gave acme %s sites, want 2", got)
	}
	demo, err := client.ListAllocations(t.Context(), &quotav1.ListAllocationsRequest{CustomerId: acme, FeatureKey: "sites"})
	if err != nil || len(demo.GetAllocations()) != 2 {
		t.Fatalf("the demo's allocations: %v, %v", demo, err)
	}

	item := []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}
	var committed7 time.Time
	for i := 3; i <= 50; i++ {
		if i == 8 {
			committed7 = time.Now()
		}
		if i%10 == 0 { // every tenth over HTTP
			code, body := r.http(t, "POST", "/v1/customers/"+acme+"/quota:reserve",
				`{"items":[{"featureKey":"sites","quantity":"1"}],"ttl":"60s","idempotencyKey":"`+fmt.Sprint("req-", i)+`"}`)
			if code != 200 || body["allowed"] != true {
				t.Fatalf("reserve %d over HTTP = %d %v", i, code, body)
			}
			id := body["reservation"].(map[string]any)["reservationId"].(string)
			code, body = r.http(t, "POST", "/v1/reservations/"+id+":commit", fmt.Sprintf(`{"subjects":["site-%d"],"idempotencyKey":"c-%d"}`, i, i))
			if code != 200 || body["reservation"].(map[string]any)["status"] != "RESERVATION_STATUS_COMMITTED" {
				t.Fatalf("commit %d over HTTP = %d %v", i, code, body)
			}
			continue
		}
		res, err := client.Reserve(t.Context(), &quotav1.ReserveRequest{CustomerId: acme, Items: item})
		if err != nil || !res.GetAllowed() {
			t.Fatalf("reserve %d = %v, %v", i, res, err)
		}
		if _, err := client.Commit(t.Context(), &quotav1.CommitRequest{ReservationId: res.GetReservation().GetReservationId(),
			Subjects: []string{fmt.Sprint("site-", i)}, IdempotencyKey: fmt.Sprint("c-", i)}); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	res, err := client.Reserve(t.Context(), &quotav1.ReserveRequest{CustomerId: acme, Items: item})
	if err != nil {
		t.Fatal(err)
	}
	got := res.GetItems()[0]
	if res.GetAllowed() || got.GetReason() != quotav1.Reason_REASON_OVER_LIMIT || got.GetLimit() != "50" || got.GetUsed() != "50" ||
		got.GetRemaining() != "0" || res.GetReservation() != nil {
		t.Fatalf("the 51st site = %v", res)
	}
	code, body = r.http(t, "POST", "/v1/customers/"+acme+"/quota:check", `{"items":[{"featureKey":"sites","quantity":"1"}]}`)
	if code != 200 || body["allowed"] != false {
		t.Fatalf("check over HTTP = %d %v", code, body)
	}
	code, body = r.http(t, "GET", "/v1/customers/"+acme+"/quota", "")
	features, _ := body["features"].([]any)
	if code != 200 || body["hasPlan"] != true || len(features) != 2 {
		t.Fatalf("GET quota = %d %v", code, body)
	}
	// Bandwidth is a counter: its use is the demo's metered usage of the
	// billing period, which says when it resets.
	if f := features[0].(map[string]any); f["featureKey"] != "bandwidth_gib" || f["used"] == "0" || f["resetTime"] == nil {
		t.Fatalf("GET quota = %v", body)
	}
	if f := features[1].(map[string]any); f["featureKey"] != "sites" || f["limit"] != "50" || f["used"] != "50" {
		t.Fatalf("GET quota = %v", body)
	}
	code, body = r.http(t, "POST", "/v1/customers/"+acme+"/quota:reserve", `{"items":[{"featureKey":"nope","quantity":"1"}]}`)
	if code != 400 {
		t.Fatalf("an unknown feature over HTTP = %d %v", code, body)
	}

	// Site 7 is deleted: the next site is admitted.
	code, body = r.http(t, "POST", "/v1/customers/"+acme+"/quota:deallocate", `{"featureKey":"sites","subject":"site-7","idempotencyKey":"d-7"}`)
	if code != 200 {
		t.Fatalf("deallocate over HTTP = %d %v", code, body)
	}
	deallocated7 := time.Now()
	next, err := client.Reserve(t.Context(), &quotav1.ReserveRequest{CustomerId: acme, Items: item, IdempotencyKey: "req-51"})
	if err != nil || !next.GetAllowed() {
		t.Fatalf("the Reserve after a deletion = %v, %v", next, err)
	}
	if _, err := client.Commit(t.Context(), &quotav1.CommitRequest{ReservationId: next.GetReservation().GetReservationId(),
		Subjects: []string{"site-51"}, IdempotencyKey: "c-51"}); err != nil {
		t.Fatal(err)
	}

	// Metering's sites meter has every site's level, reported by quota:
	// the 50 sites have usage this month, and site-7 stopped counting when
	// it was deleted, so it has less than site-51 once site-51 has
	// existed longer than site-7 did.
	metering := meteringv1.NewMeteringServiceClient(r.conn)
	now := time.Now().UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	period := &commonv1.Period{Start: timestamppb.New(month), End: timestamppb.New(month.AddDate(0, 1, 0))}
	time.Sleep(time.Until(deallocated7.Add(deallocated7.Sub(committed7) + 2*time.Second)))
	var usage *meteringv1.QueryUsageResponse
	bySubject := map[string]string{}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		usage, err = metering.QueryUsage(t.Context(), &meteringv1.QueryUsageRequest{CustomerId: acme, MeterKey: "sites", Period: period, GroupBySubject: true})
		if err != nil {
			t.Fatal(err)
		}
		clear(bySubject)
		for _, v := range usage.GetValues() {
			bySubject[v.GetSubject()] = v.GetQuantity()
		}
		delete(bySubject, "site-7")
		if len(bySubject) == 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sites usage of acme has %d live subjects, want 50: %v", len(bySubject), usage)
		}
	}
	if usage.GetTotal() == "0" || !usage.GetMeter().GetFedByQuota() {
		t.Errorf("sites usage: %v", usage)
	}
	for _, v := range usage.GetValues() {
		if v.GetSubject() == "site-7" && !money.MustParse(v.GetQuantity()).LessThan(money.MustParse(bySubject["site-51"])) {
			t.Errorf("site-7 was used %s site-months after its deletion, site-51 %s", v.GetQuantity(), bySubject["site-51"])
		}
	}
	// The meter takes no sites from another source.
	batch, err := metering.IngestBatch(t.Context(), &meteringv1.IngestBatchRequest{Events: []*meteringv1.UsageEvent{{CustomerId: acme,
		MeterKey: "sites", Quantity: "1", Time: timestamppb.Now(), Subject: "site-x", IdempotencyKey: "collector-1", Source: "collector"}}})
	if err != nil || batch.GetResults()[0].GetError() != meteringv1.EventError_EVENT_ERROR_SOURCE_NOT_ALLOWED {
		t.Errorf("a collector's sites event: %v, %v", batch, err)
	}

	// Again with --demo on the same data (and a new in-process Redis,
	// rebuilt from the database): nothing more is allocated.
	conn.Close()
	p.Stop(t)
	r = start(t, env, "--demo")
	client = quotav1.NewQuotaServiceClient(r.conn)
	if got := used(); got != "50" {
		t.Errorf("after a second --demo start acme uses %s sites, want 50", got)
	}
}
