package main_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meterplane/meterplane/platform/app/apptest"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// TestSplitDeployment runs the five services and the gateway as six
// processes from their own binaries, on loopback ports, on one PostgreSQL
// database (a schema each) and one Redis, as the Helm chart deploys them,
// and takes the whole flow through the gateway: plan (the catalog's demo)
// → customer and backdated subscription → Reserve and Commit of a site →
// bandwidth ingested → billing run → finalized invoice and its PDF.
func TestSplitDeployment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	build := func(path ...string) string {
		t.Helper()
		bin, err := apptest.Build(dir, filepath.Join(append([]string{"..", ".."}, path...)...))
		if err != nil {
			t.Fatal(err)
		}
		return bin
	}
	rdb := redistest.New(t)
	shared := []string{"DATABASE_URL=" + storagetest.EmptyPostgres(t), "MP_DB_MAX_CONNS=4",
		fmt.Sprintf("REDIS_URL=%s/%d", strings.TrimSuffix(redistest.URL(), "/"), rdb.Options().DB)}
	run := func(bin string, env []string, args ...string) *apptest.Proc {
		t.Helper()
		p := apptest.Start(t, bin, append(append([]string{}, shared...), env...), args...)
		t.Cleanup(func() { p.Stop(t) })
		return p
	}
	catalog := run(build("services", "catalog", "cmd", "catalog"), nil, "--demo")
	subscription := run(build("services", "subscription", "cmd", "subscription"), []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr})
	peers := []string{"MP_CATALOG_ADDR=" + catalog.GRPCAddr, "MP_SUBSCRIPTION_ADDR=" + subscription.GRPCAddr}
	metering := run(build("services", "metering", "cmd", "metering"), peers)
	peers = append(peers, "MP_METERING_ADDR="+metering.GRPCAddr)
	quota := run(build("services", "quota", "cmd", "quota"), peers)
	invoice := run(build("services", "invoice", "cmd", "invoice"), peers)
	gateway := run(build("cmd", "gateway"), append(peers, "MP_QUOTA_ADDR="+quota.GRPCAddr, "MP_INVOICE_ADDR="+invoice.GRPCAddr))
	r := &running{Proc: gateway}

	// The meters the all-in-one demo makes: bandwidth, and sites fed by quota.
	for _, m := range []string{
		`{"meter": {"key": "bandwidth", "featureKey": "bandwidth_gib", "aggregation": "AGGREGATION_SUM"}, "idempotencyKey": "split-m1"}`,
		`{"meter": {"key": "sites", "featureKey": "sites", "aggregation": "AGGREGATION_TIME_WEIGHTED", "fedByQuota": true}, "idempotencyKey": "split-m2"}`,
	} {
		if code, out := r.http(t, "POST", "/v1/meters", m); code != 200 {
			t.Fatalf("POST /v1/meters %s = %d %v", m, code, out)
		}
	}
	invoiceFlow(t, r, "split")
}
