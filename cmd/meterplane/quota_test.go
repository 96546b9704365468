package main_test

import (
	"fmt"
	"testing"

	quotav1 "github.com/meterplane/meterplane/gen/meterplane/quota/v1"
)

// TestQuotaDemo: the demo customer with the 50-sites package provisions
// sites by Reserve + Commit, over gRPC and HTTP, until the 51st is denied
// with limit 50 and used 50.
func TestQuotaDemo(t *testing.T) {
	t.Parallel()
	r := start(t, []string{"DATABASE_URL=", "REDIS_URL=", "MP_DATA_DIR=" + t.TempDir()}, "--demo")
	code, body := r.http(t, "GET", "/v1/customers?externalId=aegir-client-acme", "")
	customers, _ := body["customers"].([]any)
	if code != 200 || len(customers) != 1 {
		t.Fatalf("GET /v1/customers?externalId=aegir-client-acme = %d %v", code, body)
	}
	acme := customers[0].(map[string]any)["customerId"].(string)
	client := quotav1.NewQuotaServiceClient(r.conn)
	item := []*quotav1.Item{{FeatureKey: "sites", Quantity: "1"}}
	for i := range 50 {
		if i%10 == 0 { // every tenth over HTTP
			code, body := r.http(t, "POST", "/v1/customers/"+acme+"/quota:reserve",
				`{"items":[{"featureKey":"sites","quantity":"1"}],"ttl":"60s","requestId":"`+fmt.Sprint("req-", i)+`"}`)
			if code != 200 || body["allowed"] != true {
				t.Fatalf("reserve %d over HTTP = %d %v", i, code, body)
			}
			id := body["reservation"].(map[string]any)["reservationId"].(string)
			code, body = r.http(t, "POST", "/v1/reservations/"+id+":commit", fmt.Sprintf(`{"subject":"site-%d","idempotencyKey":"c-%d"}`, i, i))
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
	if code != 200 || body["hasPlan"] != true || len(features) != 1 {
		t.Fatalf("GET quota = %d %v", code, body)
	}
	if f := features[0].(map[string]any); f["featureKey"] != "sites" || f["limit"] != "50" || f["used"] != "50" {
		t.Fatalf("GET quota = %v", body)
	}
	code, body = r.http(t, "POST", "/v1/customers/"+acme+"/quota:reserve", `{"items":[{"featureKey":"nope","quantity":"1"}]}`)
	if code != 400 {
		t.Fatalf("an unknown feature over HTTP = %d %v", code, body)
	}
}
