package live_test

import (
	"sync"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/services/quota/internal/live"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// TestPipelinedScripts: the scripts of many concurrent calls share
// pipelines, and each call still gets its own answer, also right after
// Redis forgot the scripts (SCRIPT FLUSH, as after a restart).
func TestPipelinedScripts(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t)
	l := live.New(rdb)
	ctx := t.Context()
	now := time.Now()
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	const n = 200
	outcomes := make([]quota.Outcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			customer := "cus_a"
			if i%2 == 1 {
				customer = "cus_b" // limits set below: only its calls are fresh
			}
			if i == 1 {
				errs[i] = l.SetLimits(ctx, customer, quota.Limits{HasPlan: true}, now, 0)
				return
			}
			_, outcomes[i], errs[i] = l.Check(ctx, customer, []quota.Item{{Feature: "sites", Quantity: 1000}}, now)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if i%2 == 0 && outcomes[i] != quota.Stale {
			t.Errorf("call %d for a customer without limits: outcome %v, want Stale", i, outcomes[i])
		}
	}
	// Once the limits are there, a check of the customer whose keys were
	// never loaded asks for a rebuild.
	if _, out, err := l.Check(ctx, "cus_b", []quota.Item{{Feature: "sites", Quantity: 1000}}, now); err != nil || out != quota.Rebuild {
		t.Errorf("check after the limits: outcome %v, %v; want Rebuild", out, err)
	}
}
