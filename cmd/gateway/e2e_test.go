package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/app/apptest"
)

// The gateway binary and the all-in-one binary it fronts in the tests,
// built once for all tests.
var gatewayBin, backendBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meterplane-gateway-e2e")
	if err != nil {
		panic(err)
	}
	if gatewayBin, err = apptest.Build(dir, "."); err == nil {
		backendBin, err = apptest.Build(dir, "../meterplane")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// call sends a request to the gateway and returns the status and the
// decoded JSON body.
func call(t *testing.T, addr, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
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

// TestGatewayInFrontOfServices runs the all-in-one binary as the services'
// process and the gateway binary in front of it, as separate processes,
// and calls the API through the gateway: routes of several services, an
// error with its field violations, the body limit, /openapi.json, /docs,
// and readiness that follows the services'.
func TestGatewayInFrontOfServices(t *testing.T) {
	backend := apptest.Start(t, backendBin, nil)
	backendStopped := false
	t.Cleanup(func() {
		if !backendStopped {
			backend.Stop(t)
		}
	})
	env := []string{"MP_MAX_REQUEST_BYTES=65536"}
	for _, s := range []string{"CATALOG", "SUBSCRIPTION", "METERING", "QUOTA", "INVOICE"} {
		env = append(env, "MP_"+s+"_ADDR="+backend.GRPCAddr)
	}
	gw := apptest.Start(t, gatewayBin, env) // waits until /readyz answers 200
	t.Cleanup(func() { gw.Stop(t) })

	code, body := call(t, gw.HTTPAddr, "GET", "/v1/plans", "")
	if _, ok := body["plans"]; code != 200 || !ok {
		t.Errorf("GET /v1/plans = %d %v", code, body)
	}
	code, body = call(t, gw.HTTPAddr, "POST", "/v1/customers", `{"idempotencyKey":"gw1","customer":{"name":"Gateway Customer","currency":"EUR"}}`)
	customer, _ := body["customer"].(map[string]any)
	id, _ := customer["customerId"].(string)
	if code != 200 || !strings.HasPrefix(id, "cus_") {
		t.Fatalf("POST /v1/customers = %d %v", code, body)
	}
	if code, body := call(t, gw.HTTPAddr, "GET", "/v1/customers/"+id, ""); code != 200 {
		t.Errorf("GET /v1/customers/%s = %d %v", id, code, body)
	}
	if code, body := call(t, gw.HTTPAddr, "GET", "/v1/customers/"+id+"/quota", ""); code != 200 {
		t.Errorf("GET /v1/customers/%s/quota = %d %v", id, code, body)
	}
	if code, body := call(t, gw.HTTPAddr, "GET", "/v1/invoices?customerId="+id, ""); code != 200 {
		t.Errorf("GET /v1/invoices = %d %v", code, body)
	}
	if code, body := call(t, gw.HTTPAddr, "GET", "/v1/meters", ""); code != 200 {
		t.Errorf("GET /v1/meters = %d %v", code, body)
	}

	// An error: 400, INVALID_ARGUMENT, with the field violation.
	code, body = call(t, gw.HTTPAddr, "POST", "/v1/customers", `{"customer":{"name":"Bad","currency":"euro"}}`)
	if code != 400 || body["code"] != 3.0 || !strings.Contains(fmt.Sprint(body["details"]), "customer.currency") {
		t.Errorf("POST /v1/customers with a bad currency = %d %v, want 400 with a violation of customer.currency", code, body)
	}
	code, body = call(t, gw.HTTPAddr, "GET", "/v1/customers/cus_missing", "")
	if code != 404 || body["code"] != 5.0 {
		t.Errorf("GET a missing customer = %d %v, want 404 NOT_FOUND", code, body)
	}
	// The gateway's body limit (MP_MAX_REQUEST_BYTES), before any call.
	code, body = call(t, gw.HTTPAddr, "POST", "/v1/customers", `{"customer":{"name":"`+strings.Repeat("x", 70_000)+`"}}`)
	if code != 413 || body["code"] != 8.0 {
		t.Errorf("POST of 70 kB = %d %v, want 413 RESOURCE_EXHAUSTED", code, body)
	}

	// The merged document of all five services, and the reference page.
	resp, err := http.Get("http://" + gw.HTTPAddr + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tags []struct{ Name string } `json:"tags"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil || len(doc.Tags) != 5 {
		t.Errorf("GET /openapi.json: tags %v, %v", doc.Tags, err)
	}
	for _, p := range []string{"/docs", "/docs/redoc.standalone.js", "/healthz", "/metrics"} {
		resp, err := http.Get("http://" + gw.HTTPAddr + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s = %v, %v", p, resp, err)
		}
		resp.Body.Close()
	}

	// Without the services the gateway is not ready and calls fail
	// UNAVAILABLE; it still answers /healthz.
	backend.Stop(t)
	backendStopped = true
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + gw.HTTPAddr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz with the services stopped = %d after 10s, want 503", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := call(t, gw.HTTPAddr, "GET", "/v1/plans", ""); code != 503 || body["code"] != 14.0 {
		t.Errorf("GET /v1/plans with the services stopped = %d %v, want 503 UNAVAILABLE", code, body)
	}
	if resp, err := http.Get("http://" + gw.HTTPAddr + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /healthz with the services stopped = %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestGatewayNeedsAddresses checks that the gateway refuses to start
// without the services' addresses, naming the settings.
func TestGatewayNeedsAddresses(t *testing.T) {
	out, err := runOnce(gatewayBin, "MP_CATALOG_ADDR=127.0.0.1:1")
	if err == nil || !strings.Contains(out, "MP_QUOTA_ADDR") || !strings.Contains(out, "MP_INVOICE_ADDR") || strings.Contains(out, "MP_CATALOG_ADDR") {
		t.Errorf("gateway without addresses: %v, output:\n%s", err, out)
	}
}

// runOnce runs bin with env (besides this process's, without its MP_
// settings) and returns its output; it must exit within 10 seconds.
func runOnce(bin string, env ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MP_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "MP_HTTP_ADDR=127.0.0.1:0")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
