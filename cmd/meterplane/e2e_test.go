package main_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	catalogv1 "github.com/meterplane/meterplane/gen/meterplane/catalog/v1"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// binary is the all-in-one binary, built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meterplane-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "meterplane")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type running struct {
	grpcAddr, httpAddr string
	conn               *grpc.ClientConn
	log                *bytes.Buffer
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs the binary with env and args and waits until /readyz answers.
func start(t *testing.T, env []string, args ...string) *running {
	t.Helper()
	r := &running{grpcAddr: freePort(t), httpAddr: freePort(t), log: &bytes.Buffer{}}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "MP_GRPC_ADDR="+r.grpcAddr, "MP_HTTP_ADDR="+r.httpAddr, "MP_DATA_DIR="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("binary exited with %v after SIGTERM; log:\n%s", err, r.log)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("binary did not stop within 20s of SIGTERM")
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + r.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && (!slices.Contains(args, "--demo") || strings.Contains(r.log.String(), "demo data seeded")) {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("binary exited early: %v; log:\n%s", err, r.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("binary not ready after 60s; log:\n%s", r.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	conn, err := grpc.NewClient(r.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r.conn = conn
	return r
}

func (r *running) http(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+r.httpAddr+path, strings.NewReader(body))
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

// exercise creates, publishes and lists a plan through gRPC and through HTTP.
func exercise(t *testing.T, r *running) {
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
	for _, want := range []string{"meterplane.catalog.v1.CatalogService", "grpc.health.v1.Health"} {
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
}

func TestEmbeddedDefaults(t *testing.T) {
	t.Parallel()
	r := start(t, []string{"DATABASE_URL=", "REDIS_URL="})
	exercise(t, r)
	for _, path := range []string{"/healthz", "/metrics"} {
		resp, err := http.Get("http://" + r.httpAddr + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s = %v, %v", path, resp, err)
		}
		resp.Body.Close()
	}
}

func TestPostgresAndRedis(t *testing.T) {
	t.Parallel()
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
	redistest.New(t) // fails the test when Redis is down
	u, err := url.Parse(storagetest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	dbURL := u.String()
	r := start(t, []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redistest.URL()})
	exercise(t, r)
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
		})
	}
}
