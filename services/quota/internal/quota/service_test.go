package quota_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/quota/internal/live"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
	"github.com/meterplane/meterplane/services/quota/internal/store"
	"github.com/meterplane/meterplane/services/quota/migrations"
)

var start = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

// fakeEntitlements answers limits set by the test, like the subscription
// service: per customer a list of steps, each holding from its time until
// the next one's (its valid until); unknown customers are not found.
type fakeEntitlements struct {
	mu    sync.Mutex
	steps map[string][]step
	calls int
}

type step struct {
	from   time.Time
	limits quota.Limits
}

func (f *fakeEntitlements) Limits(_ context.Context, customerID string, at time.Time) (quota.Limits, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	steps, ok := f.steps[customerID]
	if !ok {
		return quota.Limits{}, errs.New(errs.NotFound, "customer %q not found", customerID)
	}
	var l quota.Limits
	for _, s := range steps {
		if s.from.After(at) {
			l.ValidUntil = s.from
			break
		}
		l = s.limits
	}
	return l, nil
}

// set replaces the customer's limits, at every time.
func (f *fakeEntitlements) set(customerID string, l quota.Limits) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps[customerID] = []step{{limits: l}}
}

// schedule changes the customer's limits to l from a later time on.
func (f *fakeEntitlements) schedule(customerID string, from time.Time, l quota.Limits) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.steps[customerID] = append(f.steps[customerID], step{from: from, limits: l})
}

// fakeFeatures knows sites and disk_gib (gauges) and bandwidth_gib (a
// counter).
type fakeFeatures struct{}

func (fakeFeatures) IsGauge(_ context.Context, f string) (bool, error) {
	switch f {
	case "sites", "disk_gib":
		return true, nil
	case "bandwidth_gib":
		return false, nil
	}
	return false, quota.ErrUnknownFeature
}

type env struct {
	svc   *quota.Service
	clk   *clock.Fake
	ents  *fakeEntitlements
	rdb   redis.UniversalClient
	live  *live.Live
	store *store.Store
	// flush drops every Redis key of the test, as FLUSHDB does on a
	// database of its own.
	flush func(ctx context.Context) error
	// keys lists every Redis key of the test.
	keys func(ctx context.Context) ([]string, error)
}

// each runs fn on SQLite with the in-process Redis (the embedded
// defaults), on PostgreSQL with the real Redis, and on PostgreSQL with
// the three-master Redis Cluster, where the test's keys carry a prefix of
// their own (the cluster is shared by every test).
func each(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	storagetest.Each(t, "quota", migrations.FS, func(t *testing.T, db *storage.DB) {
		if db.Dialect() != storage.Postgres {
			r, err := redisx.Open(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			fn(t, newEnv(db, r.Client, ""))
			return
		}
		t.Run("redis", func(t *testing.T) { fn(t, newEnv(db, redistest.New(t), "")) })
		t.Run("cluster", func(t *testing.T) {
			// A database of its own: the redis case above used this one.
			db := storagetest.Postgres(t, "quota", migrations.FS)
			c, prefix := redistest.Cluster(t)
			fn(t, newEnv(db, c, prefix))
		})
	})
}

func newEnv(db *storage.DB, rdb redis.UniversalClient, prefix string) *env {
	e := &env{clk: clock.NewFake(start), ents: &fakeEntitlements{steps: map[string][]step{}}, rdb: rdb,
		live: live.New(rdb).WithPrefix(prefix), store: store.New(db)}
	e.svc = quota.NewService(e.store, e.live, e.ents, fakeFeatures{}, e.clk, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.keys = func(ctx context.Context) ([]string, error) { return e.rdb.Keys(ctx, "*").Result() }
	e.flush = func(ctx context.Context) error { return e.rdb.FlushDB(ctx).Err() }
	if c, ok := rdb.(*redis.ClusterClient); ok {
		e.keys = func(ctx context.Context) ([]string, error) {
			var mu sync.Mutex
			var all []string
			err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
				ks, err := node.Keys(ctx, prefix+"*").Result()
				mu.Lock()
				defer mu.Unlock()
				all = append(all, ks...)
				return err
			})
			return all, err
		}
		e.flush = func(ctx context.Context) error {
			ks, err := e.keys(ctx)
			for _, k := range ks {
				if err == nil {
					err = c.Del(ctx, k).Err()
				}
			}
			return err
		}
	}
	return e
}

func sites(policy quota.Policy, n int64) quota.Limits {
	return quota.Limits{HasPlan: true, ByFeature: map[string]quota.Limit{"sites": {Policy: policy, Limit: quota.Units(n * 1000)}}}
}

func one(feature, q string) []quota.ItemInput {
	return []quota.ItemInput{{Feature: feature, Quantity: q}}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// reserveCommit reserves and commits n single sites.
func (e *env) reserveCommit(t *testing.T, customerID string, n int) {
	t.Helper()
	for i := range n {
		res, r, err := e.svc.Reserve(t.Context(), quota.ReserveInput{CustomerID: customerID, Items: one("sites", "1")})
		must(t, err)
		if !res.Allowed {
			t.Fatalf("reserve %d denied: %+v", i, res.Items)
		}
		_, err = e.svc.Commit(t.Context(), quota.CommitInput{ReservationID: r.ID, Subjects: []string{fmt.Sprintf("site-%d", i)}})
		must(t, err)
	}
}

// redisState returns used and reserved sites as Redis holds them.
func (e *env) redisState(t *testing.T, customerID string) (used, reserved int64) {
	t.Helper()
	k := e.live.Keys(customerID)
	used, _ = e.rdb.HGet(t.Context(), k[2], "sites").Int64()
	reserved, _ = e.rdb.HGet(t.Context(), k[3], "sites").Int64()
	return used, reserved
}

// dbState returns used and held sites as the database holds them.
func (e *env) dbState(t *testing.T, customerID string) (used, held int64) {
	t.Helper()
	snap, err := e.store.Snapshot(t.Context(), customerID, e.clk.Now())
	must(t, err)
	for _, r := range snap.Live {
		if r.Status != quota.StatusHeld {
			t.Errorf("reservation %s is %s after every call returned", r.ID, r.Status)
		}
		for _, it := range r.Items {
			held += int64(it.Quantity)
		}
	}
	return int64(snap.Used["sites"]), held
}

// TestStorm: 200 concurrent Reserves of one site for a customer with 10
// sites left admit exactly 10, also when Redis is flushed in the middle,
// and afterwards Redis holds what the database holds.
func TestStorm(t *testing.T) {
	t.Parallel()
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flush=%v", flush), func(t *testing.T) {
			t.Parallel()
			each(t, func(t *testing.T, e *env) {
				e.ents.set("cus_a", sites(quota.PolicyHard, 15))
				e.reserveCommit(t, "cus_a", 5)
				const callers = 200
				var allowed, started atomic.Int64
				flushed := make(chan struct{})
				var wg sync.WaitGroup
				for range callers {
					wg.Go(func() {
						if started.Add(1) == callers/3 && flush {
							if err := e.flush(context.Background()); err != nil {
								t.Error(err)
							}
							close(flushed)
						}
						res, _, err := e.svc.Reserve(t.Context(), quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1")})
						if err != nil {
							t.Error(err)
							return
						}
						if res.Allowed {
							allowed.Add(1)
						}
					})
				}
				wg.Wait()
				if flush {
					<-flushed
				}
				if got := allowed.Load(); got != 10 {
					t.Errorf("allowed %d of %d, want 10", got, callers)
				}
				// A check rebuilds the keys if the flush came last.
				res, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("sites", "1")})
				must(t, err)
				if res.Allowed || res.Items[0].Reason != quota.ReasonOverLimit {
					t.Errorf("check after the storm: %+v", res)
				}
				ru, rr := e.redisState(t, "cus_a")
				du, dh := e.dbState(t, "cus_a")
				if ru != du || rr != dh || du != 5000 || dh != 10000 {
					t.Errorf("redis used %d reserved %d, database used %d held %d; want 5000 and 10000", ru, rr, du, dh)
				}
			})
		})
	}
}
