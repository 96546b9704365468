package live_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/services/quota/internal/live"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// TestLimitsLifetime: on one Redis and on a Redis Cluster (where the
// invalidation's transaction and every script must stay in the
// customer's slot), limits hold until their freshness or their _until,
// whichever comes first, and a version moved by an invalidation refuses
// limits read before it.
func TestLimitsLifetime(t *testing.T) {
	t.Parallel()
	cluster, prefix := redistest.Cluster(t)
	for name, c := range map[string]struct {
		rdb      redis.UniversalClient
		customer string
	}{
		"redis": {redistest.New(t), "cus_a"},
		// The cluster's one database is shared: the customer id carries
		// the test's unique prefix, and its keys are deleted at the end.
		"cluster": {cluster, "cus_" + strings.TrimSuffix(prefix, ":")},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			t.Cleanup(func() { c.rdb.Del(context.Background(), live.Keys(c.customer)...) })
			lv := live.New(c.rdb)
			t0 := time.Date(2026, 5, 31, 23, 59, 59, 800_000_000, time.UTC)
			until := t0.Add(200*time.Millisecond + 500*time.Microsecond) // rounded up to the millisecond
			l := quota.Limits{HasPlan: true, ValidUntil: until, ByFeature: map[string]quota.Limit{"sites": {Policy: quota.PolicyHard, Limit: 5000}}}
			items := []quota.Item{{Feature: "sites", Quantity: 1000}}
			outcome := func(now time.Time) quota.Outcome {
				t.Helper()
				_, out, err := lv.Check(ctx, c.customer, items, now)
				if err != nil {
					t.Fatal(err)
				}
				return out
			}

			v, err := lv.LimitsVersion(ctx, c.customer)
			if err != nil || v != 0 {
				t.Fatalf("version of no limits: %d, %v", v, err)
			}
			if err := lv.SetLimits(ctx, c.customer, l, t0, v); err != nil {
				t.Fatal(err)
			}
			// Limits are present: a check goes on to ask for a rebuild
			// (there are no other keys), not for the limits.
			for _, tt := range []struct {
				at   time.Time
				want quota.Outcome
			}{
				{t0, quota.Rebuild},
				{until.Truncate(time.Millisecond), quota.Rebuild},
				{until.Truncate(time.Millisecond).Add(time.Millisecond), quota.Stale},
			} {
				if got := outcome(tt.at); got != tt.want {
					t.Errorf("at %v: outcome %v, want %v", tt.at, got, tt.want)
				}
			}
			l.ValidUntil = time.Time{}
			if err := lv.SetLimits(ctx, c.customer, l, t0, v); err != nil {
				t.Fatal(err)
			}
			if got := outcome(t0.Add(quota.Freshness - time.Millisecond)); got != quota.Rebuild {
				t.Errorf("within the freshness: %v", got)
			}
			if got := outcome(t0.Add(quota.Freshness)); got != quota.Stale {
				t.Errorf("one second after: %v, want stale", got)
			}

			if err := lv.SetLimits(ctx, c.customer, l, t0, v); err != nil {
				t.Fatal(err)
			}
			if err := lv.Invalidate(ctx, c.customer); err != nil {
				t.Fatal(err)
			}
			if got := outcome(t0); got != quota.Stale {
				t.Errorf("after an invalidation: %v, want stale", got)
			}
			if err := lv.SetLimits(ctx, c.customer, l, t0, v); err != nil {
				t.Fatal(err)
			}
			if got := outcome(t0); got != quota.Stale {
				t.Errorf("limits of the old version were written: %v", got)
			}
			if v2, err := lv.LimitsVersion(ctx, c.customer); err != nil || v2 != v+1 {
				t.Fatalf("version %d, %v after one invalidation", v2, err)
			}
		})
	}
}
