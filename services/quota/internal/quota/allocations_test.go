package quota_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/page"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// violation returns the field of err's only violation, if err is an
// InvalidArgument.
func violation(err error) string {
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid || len(e.Violations) != 1 {
		return ""
	}
	return e.Violations[0].Field
}

func sitesAndDisk() quota.Limits {
	return quota.Limits{HasPlan: true, ByFeature: map[string]quota.Limit{
		"sites":    {Policy: quota.PolicyHard, Limit: 10_000},
		"disk_gib": {Policy: quota.PolicyHard, Limit: 100_000},
	}}
}

// TestCommitSubjects: one subject takes every item; one per item takes
// each its own; another count is refused on subjects; a retry with the
// same subjects answers the same, with others is refused.
func TestCommitSubjects(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.ents.set("cus_a", sitesAndDisk())
		two := []quota.ItemInput{{Feature: "sites", Quantity: "1"}, {Feature: "disk_gib", Quantity: "10"}}
		r := e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: two})
		_, err := e.svc.Commit(ctx, quota.CommitInput{ReservationID: r.ID, Subjects: []string{"a", "b", "c"}})
		if violation(err) != "subjects" {
			t.Fatalf("three subjects for two items: %v", err)
		}
		_, err = e.svc.Commit(ctx, quota.CommitInput{ReservationID: r.ID, Subjects: []string{"a", ""}})
		if violation(err) != "subjects[1]" {
			t.Fatalf("an empty subject: %v", err)
		}
		c, err := e.svc.Commit(ctx, quota.CommitInput{ReservationID: r.ID, Subjects: []string{"site-1"}})
		must(t, err)
		if !slices.Equal(c.Subjects, []string{"site-1", "site-1"}) {
			t.Errorf("one subject for all: %v", c.Subjects)
		}
		again, err := e.svc.Commit(ctx, quota.CommitInput{ReservationID: r.ID, Subjects: []string{"site-1", "site-1"}})
		if err != nil || again.Status != quota.StatusCommitted {
			t.Errorf("a retry naming the same allocation: %+v, %v", again, err)
		}
		if _, err := e.svc.Commit(ctx, quota.CommitInput{ReservationID: r.ID, Subjects: []string{"site-2"}}); !errs.Is(err, errs.FailedPrecondition) {
			t.Errorf("a retry with another subject: %v", err)
		}

		r2 := e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: two})
		_, err = e.svc.Commit(ctx, quota.CommitInput{ReservationID: r2.ID, Subjects: []string{"site-2", "volume-9"}})
		must(t, err)
		p, err := e.svc.ListAllocations(ctx, "cus_a", "", page.Request{})
		must(t, err)
		var got []string
		for _, a := range p.Items {
			got = append(got, a.Feature+"="+a.Subject+":"+a.Quantity.String())
		}
		// By reservation, then feature.
		want := []string{"disk_gib=site-1:10", "sites=site-1:1", "disk_gib=volume-9:10", "sites=site-2:1"}
		if !slices.Equal(got, want) || p.NextToken != "" {
			t.Errorf("allocations %v (next %q), want %v", got, p.NextToken, want)
		}
	})
}

// TestDeallocate: deallocating a site frees it for the next Reserve, once
// however often it is retried; an unknown subject is NotFound; used never
// goes below 0.
func TestDeallocate(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.ents.set("cus_a", sites(quota.PolicyHard, 3))
		e.reserveCommit(t, "cus_a", 3)
		if got := e.check(t, "1"); got.Allowed || got.Used != 3000 {
			t.Fatalf("full: %+v", got)
		}
		in := quota.DeallocateInput{CustomerID: "cus_a", Feature: "sites", Subject: "site-1", Key: "del-1"}
		d, err := e.svc.Deallocate(ctx, in)
		must(t, err)
		if d.Quantity() != 1000 || len(d.Allocations) != 1 || d.Allocations[0].Subject != "site-1" {
			t.Errorf("deallocation %+v", d)
		}
		for range 2 {
			again, err := e.svc.Deallocate(ctx, in)
			if err != nil || again.ID != d.ID {
				t.Errorf("a retry with the key: %+v, %v; want deallocation %s", again, err, d.ID)
			}
		}
		if got := e.check(t, "1"); !got.Allowed || got.Used != 2000 {
			t.Errorf("after one deallocation and two retries: %+v, want used 2", got)
		}
		e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1")})

		for name, in := range map[string]quota.DeallocateInput{
			"the same subject again without the key": {CustomerID: "cus_a", Feature: "sites", Subject: "site-1"},
			"an unknown subject":                     {CustomerID: "cus_a", Feature: "sites", Subject: "site-9"},
			"a feature the subject does not hold":    {CustomerID: "cus_a", Feature: "disk_gib", Subject: "site-2"},
		} {
			if _, err := e.svc.Deallocate(ctx, in); !errs.Is(err, errs.NotFound) {
				t.Errorf("%s: %v, want NotFound", name, err)
			}
		}
		if _, err := e.svc.Deallocate(ctx, quota.DeallocateInput{CustomerID: "cus_a", Feature: "sites", Subject: "site-2", Key: "del-1"}); !errs.Is(err, errs.FailedPrecondition) {
			t.Errorf("the key of another deallocation: %v", err)
		}
		if _, err := e.svc.Deallocate(ctx, quota.DeallocateInput{CustomerID: "cus_a", Feature: "sites"}); violation(err) != "subject" {
			t.Errorf("no subject: %v", err)
		}

		// Redis undercounting (say, a commit whose script never ran):
		// used stops at 0.
		must(t, e.rdb.HSet(ctx, e.live.Keys("cus_a")[2], "sites", 500).Err())
		_, err = e.svc.Deallocate(ctx, quota.DeallocateInput{CustomerID: "cus_a", Feature: "sites", Subject: "site-2"})
		must(t, err)
		if used, _ := e.redisState(t, "cus_a"); used != 0 {
			t.Errorf("used %d after deallocating more than it held, want 0", used)
		}
	})
}

// TestDeallocateDiedBeforeItsScript: a deallocation whose transaction
// committed but whose script never ran is completed by its retry, once;
// a rebuild in between counts it once too.
func TestDeallocateDiedBeforeItsScript(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.ents.set("cus_a", sites(quota.PolicyHard, 3))
		e.reserveCommit(t, "cus_a", 3)
		dead := func(subject, key string) {
			must(t, e.store.InTx(ctx, func(ctx context.Context) error {
				allocs, err := e.store.RemoveAllocations(ctx, "cus_a", "sites", subject)
				if err != nil {
					return err
				}
				return e.store.AddDeallocation(ctx, quota.Deallocation{ID: "dea_" + subject, CustomerID: "cus_a", Feature: "sites",
					Subject: subject, Key: key, Allocations: allocs, CreateTime: e.clk.Now()})
			}))
		}
		dead("site-0", "k0")
		if got := e.check(t, "1"); got.Used != 3000 {
			t.Fatalf("before the retry: used %d", got.Used)
		}
		for range 2 {
			_, err := e.svc.Deallocate(ctx, quota.DeallocateInput{CustomerID: "cus_a", Feature: "sites", Subject: "site-0", Key: "k0"})
			must(t, err)
		}
		if got := e.check(t, "1"); got.Used != 2000 {
			t.Errorf("after the retries: used %d, want 2", got.Used)
		}
		dead("site-1", "k1")
		_, err := e.svc.Rebuild(ctx, "cus_a")
		must(t, err)
		_, err = e.svc.Deallocate(ctx, quota.DeallocateInput{CustomerID: "cus_a", Feature: "sites", Subject: "site-1", Key: "k1"})
		must(t, err)
		if got := e.check(t, "1"); got.Used != 1000 {
			t.Errorf("a rebuild, then the retry: used %d, want 1", got.Used)
		}

		// Never retried: the sweep after an interval runs its script,
		// once, however often it runs.
		dead("site-2", "")
		must(t, e.svc.Sweep(ctx, 30*time.Second))
		if got := e.check(t, "1"); got.Used != 1000 {
			t.Errorf("a sweep within the interval: used %d, want 1", got.Used)
		}
		e.clk.Advance(31 * time.Second)
		for range 2 {
			must(t, e.svc.Sweep(ctx, 30*time.Second))
		}
		if got := e.check(t, "1"); got.Used != 0 {
			t.Errorf("after the sweeps: used %d, want 0", got.Used)
		}
	})
}

// TestListAllocations pages a customer's allocations, of all features or
// one.
func TestListAllocations(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.ents.set("cus_a", sitesAndDisk())
		e.ents.set("cus_b", sitesAndDisk())
		e.reserveCommit(t, "cus_a", 5)
		e.reserveCommit(t, "cus_b", 1)
		r := e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: one("disk_gib", "2.5")})
		_, err := e.svc.Commit(ctx, quota.CommitInput{ReservationID: r.ID, Subjects: []string{"site-0"}})
		must(t, err)

		var subjects []string
		token, pages := "", 0
		for {
			p, err := e.svc.ListAllocations(ctx, "cus_a", "sites", page.Request{Size: 2, Token: token})
			must(t, err)
			pages++
			for _, a := range p.Items {
				if a.CustomerID != "cus_a" || a.Feature != "sites" || a.Quantity != 1000 || a.ReservationID == "" || a.CreateTime.IsZero() {
					t.Errorf("allocation %+v", a)
				}
				subjects = append(subjects, a.Subject)
			}
			if token = p.NextToken; token == "" {
				break
			}
		}
		if want := []string{"site-0", "site-1", "site-2", "site-3", "site-4"}; !slices.Equal(subjects, want) || pages != 3 {
			t.Errorf("sites in %d pages: %v, want %v in 3", pages, subjects, want)
		}
		all, err := e.svc.ListAllocations(ctx, "cus_a", "", page.Request{})
		must(t, err)
		if n := len(all.Items); n != 6 || all.Items[5].Feature != "disk_gib" || all.Items[5].Quantity.String() != "2.5" {
			t.Errorf("all features: %+v", all.Items)
		}
		if _, err := e.svc.ListAllocations(ctx, "cus_a", "", page.Request{Token: "not a token"}); violation(err) != "page_token" {
			t.Errorf("a bad token: %v", err)
		}
		none, err := e.svc.ListAllocations(ctx, "cus_c", "", page.Request{})
		if err != nil || len(none.Items) != 0 {
			t.Errorf("a customer without allocations: %+v, %v", none, err)
		}
	})
}

// TestRebuildNow: an operator's rebuild replaces whatever Redis holds with
// the database's truth and says what it loaded.
func TestRebuildNow(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.ents.set("cus_a", sites(quota.PolicyHard, 10))
		e.reserveCommit(t, "cus_a", 2)
		e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: one("sites", "1")})
		k := e.live.Keys("cus_a")
		must(t, e.rdb.HSet(ctx, k[2], "sites", 9000).Err())
		must(t, e.rdb.HSet(ctx, k[3], "sites", 0).Err())
		l, err := e.svc.Rebuild(ctx, "cus_a")
		must(t, err)
		want := quota.Loaded{Used: []quota.Item{{Feature: "sites", Quantity: 2000}}, Reserved: []quota.Item{{Feature: "sites", Quantity: 1000}}, Live: 1}
		if fmt.Sprint(l) != fmt.Sprint(want) {
			t.Errorf("loaded %+v, want %+v", l, want)
		}
		if used, reserved := e.redisState(t, "cus_a"); used != 2000 || reserved != 1000 {
			t.Errorf("redis used %d reserved %d after the rebuild, want 2000 and 1000", used, reserved)
		}
		if got := e.check(t, "7"); !got.Allowed {
			t.Errorf("7 more after the rebuild: %+v", got)
		}
		if _, err := e.svc.Rebuild(ctx, "{bad}"); violation(err) != "customer_id" {
			t.Errorf("a bad customer id: %v", err)
		}
	})
}

// fakeMetering stores reported events once per id, as metering does, and
// fails while down is positive.
type fakeMetering struct {
	mu     sync.Mutex
	down   int
	reject map[string]bool
	stored map[string]quota.FeedEvent
	sends  int
}

func (f *fakeMetering) FedMeters(context.Context) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down > 0 {
		f.down--
		return nil, errs.New(errs.Unavailable, "metering is down")
	}
	return map[string]string{"sites": "sites_meter"}, nil
}

func (f *fakeMetering) Report(_ context.Context, events []quota.FeedEvent, meterOf map[string]string) ([]error, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]error, len(events))
	for i, e := range events {
		f.sends++
		if meterOf[e.Feature] != "sites_meter" {
			out[i] = fmt.Errorf("no meter for %s", e.Feature)
			continue
		}
		if f.reject[e.ID] {
			out[i] = errors.New("rejected")
			continue
		}
		f.stored[e.ID] = e
	}
	return out, nil
}

func (f *fakeMetering) levels() map[string][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]string{}
	for _, e := range f.stored {
		out[e.Subject] = append(out[e.Subject], e.Level.String())
	}
	for _, l := range out {
		slices.Sort(l)
	}
	return out
}

// TestFeed: each commit and deallocation reports the subject's level to
// metering once; while metering is down the events wait; a rejected event
// is sent again after a backoff; features without a fed meter are
// dropped.
func TestFeed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		e.ents.set("cus_a", sitesAndDisk())
		m := &fakeMetering{down: 2, stored: map[string]quota.FeedEvent{}, reject: map[string]bool{}}
		e.reserveCommit(t, "cus_a", 2)
		r := e.reserve(t, quota.ReserveInput{CustomerID: "cus_a", Items: []quota.ItemInput{{Feature: "sites", Quantity: "1"}, {Feature: "disk_gib", Quantity: "5"}}})
		_, err := e.svc.Commit(ctx, quota.CommitInput{ReservationID: r.ID, Subjects: []string{"site-9"}})
		must(t, err)
		_, err = e.svc.Deallocate(ctx, quota.DeallocateInput{CustomerID: "cus_a", Feature: "sites", Subject: "site-0"})
		must(t, err)
		for i := range 2 {
			if n, err := e.svc.FeedOnce(ctx, m); !errs.Is(err, errs.Unavailable) || n != 0 {
				t.Fatalf("round %d while metering is down: %d, %v", i, n, err)
			}
		}
		m.reject["quota-commit-"+r.ID+"-sites"] = true
		n, err := e.svc.FeedOnce(ctx, m)
		must(t, err)
		if n != 5 {
			t.Errorf("the first round handled %d events, want 5 (3 commits, 1 deallocation, 1 disk)", n)
		}
		want := map[string][]string{"site-0": {"0", "1"}, "site-1": {"1"}}
		if got := m.levels(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("levels %v, want %v", got, want)
		}
		// The rejected one waits for its backoff.
		if n, err := e.svc.FeedOnce(ctx, m); err != nil || n != 0 {
			t.Errorf("before the backoff: %d, %v", n, err)
		}
		delete(m.reject, "quota-commit-"+r.ID+"-sites")
		e.clk.Advance(2 * time.Second)
		if n, err := e.svc.FeedOnce(ctx, m); err != nil || n != 1 {
			t.Errorf("after the backoff: %d, %v", n, err)
		}
		want["site-9"] = []string{"1"}
		if got := m.levels(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("levels %v, want %v", got, want)
		}
		sends := m.sends
		if n, err := e.svc.FeedOnce(ctx, m); err != nil || n != 0 || m.sends != sends {
			t.Errorf("an empty round: %d, %v, %d sends", n, err, m.sends-sends)
		}
	})
}

// TestFeedWorker: the worker keeps trying while metering is down and
// delivers every event once it is back.
func TestFeedWorker(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 5))
		e.reserveCommit(t, "cus_a", 3)
		m := &fakeMetering{down: 1, stored: map[string]quota.FeedEvent{}, reject: map[string]bool{}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.svc.FeedWorker(m, 10*time.Millisecond)(ctx) }()
		deadline := time.Now().Add(10 * time.Second)
		for len(m.levels()) < 3 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		cancel()
		must(t, <-done)
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.stored) != 3 || m.sends != 3 {
			t.Errorf("stored %d events in %d sends, want 3 in 3", len(m.stored), m.sends)
		}
	})
}

// TestConcurrentDeallocations: ten concurrent deallocations of one site
// remove it once: one answers it, the others NotFound, and used drops by
// one.
func TestConcurrentDeallocations(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, e *env) {
		e.ents.set("cus_a", sites(quota.PolicyHard, 3))
		e.reserveCommit(t, "cus_a", 3)
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for range 10 {
			wg.Go(func() {
				_, err := e.svc.Deallocate(t.Context(), quota.DeallocateInput{CustomerID: "cus_a", Feature: "sites", Subject: "site-2"})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					outcomes["ok"]++
				case errs.Is(err, errs.NotFound):
					outcomes["not found"]++
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if outcomes["ok"] != 1 || outcomes["not found"] != 9 {
			t.Errorf("outcomes %v, want 1 ok and 9 not found", outcomes)
		}
		if got := e.check(t, "1"); got.Used != 2000 {
			t.Errorf("used %d, want 2000", got.Used)
		}
		if du, _ := e.dbState(t, "cus_a"); du != 2000 {
			t.Errorf("database used %d, want 2000", du)
		}
	})
}
