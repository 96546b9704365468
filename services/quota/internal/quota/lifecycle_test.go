package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

func (e *env) reserve(t *testing.T, in quota.ReserveInput) quota.Reservation {
	t.Helper()
	res, r, err := e.svc.Reserve(t.Context(), in)
	must(t, err)
	if !res.Allowed {
		t.Fatalf("reserve denied: %+v", res.Items)
	}
	return r
}

func (e *env) check(t *testing.T, q string) quota.ItemResult {
	t.Helper()
	res, err := e.svc.Check(t.Context(), quota.CheckInput{CustomerID: "cus_a", Items: one("sites", q)})
	must(t, err)
	return res.Items[0]
}

// TestExpiry: an unclaimed reservation stops holding at its expiry, and
// can still be committed after it, then counting as used even above the
// limit.
func TestExpiry(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		r := e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1"), TTL: time.Minute})
		if got := e.check(t, "1"); got.Allowed || got.Reserved != 1000 {
			t.Errorf("while held: %+v", got)
		}
		e.clk.Advance(time.Minute)
		if got := e.check(t, "1"); !got.Allowed || got.Reserved != 0 {
			t.Errorf("after expiry: %+v", got)
		}
		other := e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1")})
		got, err := e.svc.Get(t.Context(), r.ID)
		must(t, err)
		if got.Status != quota.StatusExpired {
			t.Errorf("status %s, want expired", got.Status)
		}
		n, err := e.store.ExpireDue(t.Context(), e.clk.Now())
		must(t, err)
		if n != 1 {
			t.Errorf("expired %d rows, want 1", n)
		}
		// The site of the expired reservation exists: it is recorded.
		c, err := e.svc.Commit(t.Context(), quota.CommitInput{ReservationID: r.ID, Subjects: []string{"site-1"}})
		must(t, err)
		if c.Status != quota.StatusCommitted {
			t.Errorf("commit after expiry: %+v", c)
		}
		if got := e.check(t, "1"); got.Allowed || got.Used != 1000 || got.Reserved != 1000 {
			t.Errorf("after the late commit: %+v", got)
		}
		_, err = e.svc.Commit(t.Context(), quota.CommitInput{ReservationID: other.ID, Subjects: []string{"site-2"}})
		must(t, err)
		if got := e.check(t, "1"); got.Allowed || got.Used != 2000 || got.Remaining() != 0 {
			t.Errorf("used above the limit: %+v", got)
		}
	})
}

// TestLifecycle: each row is a sequence of calls on one reservation and
// what the last answers.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	commit := func(e *env, t *testing.T, id string) error {
		_, err := e.svc.Commit(t.Context(), quota.CommitInput{ReservationID: id, Subjects: []string{"site-1"}})
		return err
	}
	release := func(e *env, t *testing.T, id string) error {
		_, err := e.svc.Release(t.Context(), id)
		return err
	}
	type step func(e *env, t *testing.T, id string) error
	tests := []struct {
		name     string
		steps    []step
		kind     errs.Kind // of the last step's error; -1: none
		used     quota.Units
		reserved quota.Units
	}{
		{"a commit uses the held site", []step{commit}, -1, 1000, 0},
		{"a commit again answers the same and counts once", []step{commit, commit}, -1, 1000, 0},
		{"a release gives the site back", []step{release}, -1, 0, 0},
		{"a release again answers the same", []step{release, release}, -1, 0, 0},
		{"a commit after a release is refused", []step{release, commit}, errs.FailedPrecondition, 0, 0},
		{"a release after a commit is refused", []step{commit, release}, errs.FailedPrecondition, 1000, 0},
		{"a commit to another subject is refused", []step{commit, func(e *env, t *testing.T, id string) error {
			_, err := e.svc.Commit(t.Context(), quota.CommitInput{ReservationID: id, Subjects: []string{"site-2"}})
			return err
		}}, errs.FailedPrecondition, 1000, 0},
		{"an unknown reservation is not found", []step{func(e *env, t *testing.T, _ string) error { return commit(e, t, "res_nope") }}, errs.NotFound, 0, 1000},
		{"an unknown reservation is not found on release", []step{func(e *env, t *testing.T, _ string) error { return release(e, t, "res_nope") }}, errs.NotFound, 0, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			each(t, func(t *testing.T, e *env) {
				e.ents.set("cus_a", sites(quota.PolicyHard, 5))
				r := e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1")})
				var err error
				for _, s := range tt.steps {
					err = s(e, t, r.ID)
				}
				switch {
				case tt.kind == -1 && err != nil:
					t.Errorf("got %v", err)
				case tt.kind != -1 && !errs.Is(err, tt.kind):
					t.Errorf("got %v, want kind %d", err, tt.kind)
				}
				if got := e.check(t, "1"); got.Used != tt.used || got.Reserved != tt.reserved {
					t.Errorf("used %d reserved %d, want %d and %d", got.Used, got.Reserved, tt.used, tt.reserved)
				}
			})
		})
	}
}

// TestKey: a retry of an allowed Reserve with the same request id
// returns the same reservation and holds nothing more; a denied one
// stores nothing, so its retry is evaluated afresh.
func TestKey(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		in := quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1"), Key: "req-1"}
		first := e.reserve(t, in)
		again := e.reserve(t, in)
		if again.ID != first.ID || again.Status != quota.StatusHeld {
			t.Errorf("retry answered %+v, want %+v", again, first)
		}
		if got := e.check(t, "1"); got.Reserved != 1000 {
			t.Errorf("after the retry: %+v", got)
		}
		denied := quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1"), Key: "req-2"}
		res, _, err := e.svc.Reserve(t.Context(), denied)
		must(t, err)
		if res.Allowed {
			t.Fatal("a second site is allowed with a limit of 1")
		}
		_, err = e.svc.Release(t.Context(), first.ID)
		must(t, err)
		retried := e.reserve(t, denied)
		if retried.ID == first.ID || retried.Key != "req-2" {
			t.Errorf("retry of the denied call: %+v", retried)
		}
		// A retry of a released reservation answers it as it is.
		gone := e.reserve(t, in)
		if gone.ID != first.ID || gone.Status != quota.StatusReleased {
			t.Errorf("retry after release: %+v", gone)
		}
	})
}

// TestUpgrade: a raised limit is admitted once the limits in Redis are
// older than the freshness, without any event.
func TestUpgrade(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 1))
		e.reserveCommit(t, "cus_a", 1)
		e.ents.set("cus_a", sites(quota.PolicyHard, 2))
		if got := e.check(t, "1"); got.Allowed || got.Limit != 1000 {
			t.Errorf("within the freshness: %+v", got)
		}
		e.clk.Advance(quota.Freshness + time.Millisecond)
		if got := e.check(t, "1"); !got.Allowed || got.Limit != 2000 {
			t.Errorf("after the freshness: %+v", got)
		}
		// A downgrade below use keeps the allocations and denies more.
		e.ents.set("cus_a", sites(quota.PolicyHard, 0))
		e.clk.Advance(quota.Freshness + time.Millisecond)
		if got := e.check(t, "1"); got.Allowed || got.Used != 1000 || got.Limit != 0 {
			t.Errorf("after the downgrade: %+v", got)
		}
	})
}

// TestCrashes: the database rows a caller that died leaves behind are
// completed or taken over by a retry.
func TestCrashes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 2))
		ctx := t.Context()

		// A Reserve that died after writing its intent: a retry with its
		// request id within 10 s is refused as in flight, after that it is
		// taken over.
		intent := quota.Reservation{ID: "res_dead", CustomerID: "cus_a", Key: "req-dead", Status: quota.StatusPending,
			Items: []quota.Item{{Feature: "sites", Quantity: 1000}}, ExpireTime: e.clk.Now().Add(time.Hour),
			CreateTime: e.clk.Now(), UpdateTime: e.clk.Now()}
		must(t, e.store.AddIntent(ctx, intent))
		in := quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1"), Key: "req-dead"}
		if _, _, err := e.svc.Reserve(ctx, in); !errs.Is(err, errs.Conflict) {
			t.Errorf("retry while in flight: %v", err)
		}
		e.clk.Advance(11 * time.Second)
		r := e.reserve(t, in)
		if r.ID == intent.ID {
			t.Errorf("the abandoned intent was answered: %+v", r)
		}

		// A Commit that died after its transaction, before its script:
		// its retry completes it, counting the site once.
		must(t, e.store.InTx(ctx, func(ctx context.Context) error {
			if _, err := e.store.SetStatus(ctx, r.ID, []quota.Status{quota.StatusHeld}, quota.StatusCommitted, []string{"site-1"}, e.clk.Now()); err != nil {
				return err
			}
			return e.store.AddAllocations(ctx, r, []string{"site-1"}, e.clk.Now())
		}))
		if got := e.check(t, "1"); got.Used != 0 || got.Reserved != 1000 {
			t.Errorf("before the retry: %+v", got)
		}
		for range 2 {
			_, err := e.svc.Commit(ctx, quota.CommitInput{ReservationID: r.ID, Subjects: []string{"site-1"}})
			must(t, err)
			if got := e.check(t, "1"); got.Used != 1000 || got.Reserved != 0 {
				t.Errorf("after the retry: %+v", got)
			}
		}

		// A Commit that died after its transaction and is never retried:
		// the sweep before its hold expires runs its script, so that the
		// site is counted as used after the expiry, once.
		dead := e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1"), TTL: time.Minute})
		must(t, e.store.InTx(ctx, func(ctx context.Context) error {
			if _, err := e.store.SetStatus(ctx, dead.ID, []quota.Status{quota.StatusHeld}, quota.StatusCommitted, []string{"site-2"}, e.clk.Now()); err != nil {
				return err
			}
			return e.store.AddAllocations(ctx, dead, []string{"site-2"}, e.clk.Now())
		}))
		must(t, e.svc.Sweep(ctx, 30*time.Second))
		if got := e.check(t, "1"); got.Used != 1000 || got.Reserved != 1000 {
			t.Errorf("a sweep long before the expiry settled the commit: %+v", got)
		}
		e.clk.Advance(time.Minute - 50*time.Second)
		for range 2 {
			must(t, e.svc.Sweep(ctx, 30*time.Second))
		}
		e.clk.Advance(time.Minute)
		if got := e.check(t, "1"); got.Used != 2000 || got.Reserved != 0 || got.Allowed {
			t.Errorf("after the sweep and the expiry: %+v", got)
		}

		// An intent past its expiry is deleted by the expiry sweep.
		late := intent
		late.ID, late.Key, late.ExpireTime = "res_late", "req-late", e.clk.Now().Add(time.Second)
		must(t, e.store.AddIntent(ctx, late))
		e.clk.Advance(time.Second)
		_, err := e.store.ExpireDue(ctx, e.clk.Now())
		must(t, err)
		if _, found, err := e.store.ByKey(ctx, "cus_a", "req-late"); err != nil || found {
			t.Errorf("an expired intent is kept: %v %v", found, err)
		}
	})
}
