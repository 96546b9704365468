package metering_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"

	"github.com/meterplane/meterplane/platform/clock"
	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/internal/store"
	"github.com/meterplane/meterplane/services/metering/migrations"
)

// now is the fake clock's time in every test: May 2026.
var now = time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)

func at(month time.Month, day, hour int) time.Time {
	return time.Date(2026, month, day, hour, 0, 0, 0, time.UTC)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// customers knows every id that starts with "cus_" but "cus_x".
type customers struct{}

func (customers) Known(_ context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = strings.HasPrefix(id, "cus_") && id != "cus_x"
	}
	return out, nil
}

// ExternalIDs gives customer cus_X the external id ext_X.
func (c customers) ExternalIDs(ctx context.Context, ids []string) (map[string]string, error) {
	known, _ := c.Known(ctx, ids)
	out := map[string]string{}
	for id, ok := range known {
		if ok {
			out[id] = "ext_" + strings.TrimPrefix(id, "cus_")
		}
	}
	return out, nil
}

func (c customers) ByExternalID(ctx context.Context, externalIDs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, ext := range externalIDs {
		id := "cus_" + strings.TrimPrefix(ext, "ext_")
		if known, _ := c.Known(ctx, []string{id}); strings.HasPrefix(ext, "ext_") && known[id] {
			out[ext] = id
		}
	}
	return out, nil
}

type features map[string]bool

func (f features) IsGauge(_ context.Context, key string) (bool, error) {
	g, ok := f[key]
	if !ok {
		return false, errs.New(errs.NotFound, "feature %q not found", key)
	}
	return g, nil
}

type env struct {
	svc   *metering.Service
	db    *storage.DB
	store *store.Store
}

// newEnv returns a service with customers cus_a and cus_b and a meter per
// aggregation: sum, count, max, unique, latest (counters) and sites
// (time-weighted).
func newEnv(t *testing.T, db *storage.DB) env {
	t.Helper()
	st := store.New(db)
	svc := metering.NewService(st, customers{},
		features{"bandwidth_gib": false, "api_calls": false, "peak": false, "users": false, "level": false, "sites": true, "disk_gib": true},
		clock.NewFake(now), nil)
	for _, m := range []metering.Meter{
		{Key: "sum", Feature: "bandwidth_gib", Aggregation: metering.Sum},
		{Key: "count", Feature: "api_calls", Aggregation: metering.Count},
		{Key: "max", Feature: "peak", Aggregation: metering.Max},
		{Key: "unique", Feature: "users", Aggregation: metering.UniqueCount},
		{Key: "latest", Feature: "level", Aggregation: metering.Latest},
		{Key: "sites", Feature: "sites", Aggregation: metering.TimeWeighted},
	} {
		_, err := svc.CreateMeter(t.Context(), m)
		must(t, err)
	}
	return env{svc: svc, db: db, store: st}
}

func ev(meter, quantity string, t time.Time, key string) metering.EventInput {
	return metering.EventInput{CustomerID: "cus_a", Meter: meter, Quantity: quantity, Time: t, Key: key}
}

func subj(e metering.EventInput, subject string) metering.EventInput {
	e.Subject = subject
	return e
}

func delta(e metering.EventInput) metering.EventInput {
	e.Delta = true
	return e
}

func (e env) ingest(t *testing.T, in ...metering.EventInput) []metering.Result {
	t.Helper()
	rs, err := e.svc.Ingest(t.Context(), "events", in)
	must(t, err)
	for _, r := range rs {
		if r.Status == metering.Rejected {
			t.Fatalf("event %d rejected: %s: %s", r.Index, r.Field, r.Message)
		}
	}
	return rs
}

func (e env) query(t *testing.T, in metering.QueryInput) (string, []string) {
	t.Helper()
	if in.CustomerID == "" {
		in.CustomerID = "cus_a"
	}
	u, err := e.svc.Query(t.Context(), in)
	must(t, err)
	var values []string
	for _, v := range u.Values {
		values = append(values, fmt.Sprintf("%s %s %s", v.Window.Start.Format("01-02T15"), v.Subject, v.Quantity))
	}
	return u.Total.String(), values
}

var april = metering.Period{Start: at(4, 1, 0), End: at(5, 1, 0)}

func TestAggregations(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		e.ingest(t,
			// Counters in April, with events exactly at both ends.
			subj(ev("sum", "1.5", at(4, 1, 0), "s1"), "site-1"), // at the period's start: counts
			subj(ev("sum", "2.25", at(4, 1, 0).Add(30*time.Minute), "s2"), "site-2"),
			subj(ev("sum", "10", at(4, 20, 5), "s3"), "site-1"),
			subj(ev("sum", "99", at(5, 1, 0), "s4"), "site-1"), // at the period's end: does not
			ev("count", "7", at(4, 2, 0), "c1"), ev("count", "7", at(4, 2, 1), "c2"), ev("count", "0", at(4, 3, 0), "c3"),
			ev("max", "3", at(4, 2, 0), "m1"), ev("max", "12.5", at(4, 9, 0), "m2"), ev("max", "4", at(4, 30, 23), "m3"),
			subj(ev("unique", "1", at(4, 2, 0), "u1"), "alice"), subj(ev("unique", "1", at(4, 2, 3), "u2"), "bob"),
			subj(ev("unique", "1", at(4, 5, 0), "u3"), "alice"), subj(ev("unique", "1", at(3, 31, 23), "u4"), "carol"),
			ev("latest", "5", at(4, 2, 0), "l1"), ev("latest", "8", at(4, 28, 0), "l2"), ev("latest", "6", at(4, 10, 0), "l3"),
		)
		for _, tt := range []struct {
			name   string
			in     metering.QueryInput
			total  string
			values []string
		}{
			{"a sum adds the quantities in the half-open period", metering.QueryInput{Meter: "sum", Period: april}, "13.75", nil},
			{"a sum per day", metering.QueryInput{Meter: "sum", Period: april, Window: metering.WindowDay}, "13.75",
				[]string{"04-01T00  3.75", "04-20T00  10"}},
			{"a sum per hour and subject", metering.QueryInput{Meter: "sum", Period: april, Window: metering.WindowHour, GroupBySubject: true}, "13.75",
				[]string{"04-01T00 site-1 1.5", "04-01T00 site-2 2.25", "04-20T05 site-1 10"}},
			{"a sum per subject over the whole period", metering.QueryInput{Meter: "sum", Period: april, GroupBySubject: true}, "13.75",
				[]string{"04-01T00 site-1 11.5", "04-01T00 site-2 2.25"}},
			{"a sum by feature key", metering.QueryInput{Feature: "bandwidth_gib", Period: april}, "13.75", nil},
			{"the period's end belongs to the next period", metering.QueryInput{Meter: "sum", Period: metering.Period{Start: at(5, 1, 0), End: at(6, 1, 0)}}, "99", nil},
			{"a count counts events, whatever their quantity", metering.QueryInput{Meter: "count", Period: april}, "3", nil},
			{"a max is the largest quantity", metering.QueryInput{Meter: "max", Period: april}, "12.5", nil},
			{"a max per month", metering.QueryInput{Meter: "max", Period: april, Window: metering.WindowMonth}, "12.5", []string{"04-01T00  12.5"}},
			{"a unique count counts distinct subjects in the period", metering.QueryInput{Meter: "unique", Period: april}, "2", nil},
			{"a unique count per day", metering.QueryInput{Meter: "unique", Period: april, Window: metering.WindowDay}, "2",
				[]string{"04-02T00  2", "04-05T00  1"}},
			{"latest is the quantity of the latest event, not the last ingested", metering.QueryInput{Meter: "latest", Period: april}, "8", nil},
			{"no usage is zero", metering.QueryInput{Meter: "sum", Period: april, CustomerID: "cus_b"}, "0", nil},
		} {
			total, values := e.query(t, tt.in)
			t.Run(tt.name, func(t *testing.T) {
				if total != tt.total {
					t.Errorf("total %s, want %s", total, tt.total)
				}
				if diff := cmp.Diff(tt.values, values); diff != "" {
					t.Errorf("values (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestTimeWeighted(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		n := 0
		for _, tt := range []struct {
			name   string
			events []metering.EventInput
			in     metering.QueryInput
			total  string
			values []string
		}{
			{"2 sites from April 1 to 15 and 4 from April 16 to 30 are 3 site-months (Commerce's gauge example)",
				[]metering.EventInput{subj(ev("sites", "2", at(4, 1, 0), "a"), "account"), subj(ev("sites", "4", at(4, 16, 0), "b"), "account")},
				metering.QueryInput{Meter: "sites", Period: april}, "3", nil},
			{"the same with four subjects of one site each",
				[]metering.EventInput{subj(ev("sites", "1", at(4, 1, 0), "a"), "s1"), subj(ev("sites", "1", at(4, 1, 0), "b"), "s2"),
					subj(ev("sites", "1", at(4, 16, 0), "c"), "s3"), subj(ev("sites", "1", at(4, 16, 0), "d"), "s4")},
				metering.QueryInput{Meter: "sites", Period: april}, "3", nil},
			{"the same with a delta of +2 on April 16",
				[]metering.EventInput{subj(ev("sites", "2", at(4, 1, 0), "a"), "account"), delta(subj(ev("sites", "2", at(4, 16, 0), "b"), "account"))},
				metering.QueryInput{Meter: "sites", Period: april}, "3", nil},
			{"a delta that arrives late, before a later one, shifts the later level",
				[]metering.EventInput{subj(ev("sites", "2", at(4, 1, 0), "a"), "account"), delta(subj(ev("sites", "1", at(4, 21, 0), "c"), "account")),
					delta(subj(ev("sites", "1", at(4, 11, 0), "b"), "account"))},
				// 2 × 10 days + 3 × 10 days + 4 × 10 days = 90 site-days.
				metering.QueryInput{Meter: "sites", Period: april}, "3", nil},
			{"a level set before the period carries into it; a site deleted mid-month stops counting",
				[]metering.EventInput{subj(ev("sites", "3", at(3, 20, 0), "a"), "account"), subj(ev("sites", "0", at(4, 11, 0), "b"), "account")},
				metering.QueryInput{Meter: "sites", Period: april}, "1", nil},
			{"per subject and per month window",
				[]metering.EventInput{subj(ev("sites", "1", at(4, 1, 0), "a"), "s1"), subj(ev("sites", "1", at(4, 16, 0), "b"), "s2")},
				metering.QueryInput{Meter: "sites", Period: april, Window: metering.WindowMonth, GroupBySubject: true}, "1.5",
				[]string{"04-01T00 s1 1", "04-01T00 s2 0.5"}},
			{"a running month counts up to now (May 10, 12:00), not to its end",
				[]metering.EventInput{subj(ev("sites", "1", at(5, 1, 0), "a"), "s1")},
				// 9.5 days of a 31-day month.
				metering.QueryInput{Meter: "sites", Period: metering.Period{Start: at(5, 1, 0), End: at(6, 1, 0)}}, "0.306451612903225806", nil},
			{"one site for a third of a 30-day month keeps 18 places",
				[]metering.EventInput{subj(ev("sites", "1", at(4, 1, 0), "a"), "s1"), subj(ev("sites", "0", at(4, 11, 0), "b"), "s1")},
				metering.QueryInput{Meter: "sites", Period: april}, "0.333333333333333333", nil},
		} {
			customer := fmt.Sprintf("cus_%d", n)
			n++
			t.Run(tt.name, func(t *testing.T) {
				for _, in := range tt.events {
					in.CustomerID = customer
					e.ingest(t, in)
				}
				tt.in.CustomerID = customer
				total, values := e.query(t, tt.in)
				if total != tt.total {
					t.Errorf("total %s, want %s", total, tt.total)
				}
				if diff := cmp.Diff(tt.values, values); diff != "" {
					t.Errorf("values (-want +got):\n%s", diff)
				}
			})
		}
	})
}

func TestBadEvents(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		_, err := e.svc.ClosePeriod(t.Context(), metering.ClosePeriodInput{CustomerID: "cus_a", Before: at(4, 1, 0)})
		must(t, err)
		many := map[string]string{}
		for i := range 33 {
			many[fmt.Sprint(i)] = "x"
		}
		good := ev("sum", "1", at(5, 2, 0), "good")
		tests := []struct {
			name   string
			in     metering.EventInput
			reason metering.Reason
			field  string
		}{
			{"an unknown meter", ev("nope", "1", at(5, 2, 0), "k1"), metering.UnknownMeter, "events[0].meter_key"},
			{"an unknown customer", func() metering.EventInput { x := ev("sum", "1", at(5, 2, 0), "k2"); x.CustomerID = "cus_x"; return x }(), metering.UnknownCustomer, "events[1].customer_id"},
			{"a negative counter quantity", ev("sum", "-1", at(5, 2, 0), "k3"), metering.NegativeQuantity, "events[2].quantity"},
			{"a quantity that is not a decimal", ev("sum", "1e3", at(5, 2, 0), "k4"), metering.InvalidQuantity, "events[3].quantity"},
			{"a quantity out of range", ev("sum", "123456789012345678901", at(5, 2, 0), "k5"), metering.InvalidQuantity, "events[4].quantity"},
			{"a time more than 5 minutes ahead", ev("sum", "1", now.Add(6*time.Minute), "k6"), metering.FutureTime, "events[5].time"},
			{"a time in a closed period", ev("sum", "1", at(3, 31, 23), "k7"), metering.LatePeriodClosed, "events[6].time"},
			{"too many properties", func() metering.EventInput { x := ev("sum", "1", at(5, 2, 0), "k8"); x.Properties = many; return x }(), metering.PropertiesTooLarge, "events[7].properties"},
			{"a missing key", ev("sum", "1", at(5, 2, 0), ""), metering.Invalid, "events[8].idempotency_key"},
			{"a gauge without a subject", ev("sites", "1", at(5, 2, 0), "k9"), metering.Invalid, "events[9].subject"},
			{"a delta on a counter", delta(ev("sum", "1", at(5, 2, 0), "k10")), metering.Invalid, "events[10].delta"},
		}
		in := make([]metering.EventInput, 0, len(tests)+1)
		for _, tt := range tests {
			in = append(in, tt.in)
		}
		in = append(in, good)
		rs, err := e.svc.Ingest(t.Context(), "events", in)
		must(t, err)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := rs[i]
				if r.Status != metering.Rejected || r.Reason != tt.reason || r.Field != tt.field {
					t.Errorf("got %+v, want reason %d on %s", r, tt.reason, tt.field)
				}
			})
		}
		if rs[len(tests)].Status != metering.Accepted {
			t.Errorf("the good event: %+v", rs[len(tests)])
		}
		// Only the good event counts; an event inside the grace period (after
		// the period's end, before it is closed) is accepted.
		total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: metering.Period{Start: at(3, 1, 0), End: at(6, 1, 0)}})
		if total != "1" {
			t.Errorf("stored total %s, want only the good event's 1", total)
		}
		_, err = e.svc.Ingest(t.Context(), "events", make([]metering.EventInput, metering.MaxBatch+1))
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("an oversized batch: %v", err)
		}
	})
}

func TestExactlyOnce(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		first := e.ingest(t, ev("sum", "2", at(5, 1, 1), "a"), ev("sum", "3", at(5, 1, 2), "b"))
		rs, err := e.svc.Ingest(t.Context(), "events", []metering.EventInput{
			ev("sum", "2", at(5, 1, 1), "a"),   // a retry
			ev("sum", "2.0", at(5, 1, 2), "b"), // same key, other payload
			ev("sum", "4", at(5, 1, 3), "c"),
			ev("sum", "4", at(5, 1, 3), "c"), // the same event twice in one batch
			ev("sum", "5", at(5, 1, 3), "c"), // and a conflicting one
		})
		must(t, err)
		want := []metering.Status{metering.Duplicate, metering.Rejected, metering.Accepted, metering.Duplicate, metering.Rejected}
		for i, r := range rs {
			if r.Status != want[i] {
				t.Errorf("event %d: %+v, want status %d", i, r, want[i])
			}
		}
		if rs[0].EventID != first[0].EventID || rs[3].EventID != rs[2].EventID || rs[1].Reason != metering.KeyConflict {
			t.Errorf("results %+v", rs)
		}
		total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: metering.Period{Start: at(5, 1, 0), End: at(5, 2, 0)}})
		if total != "9" {
			t.Errorf("total %s, want 9", total)
		}
		// Only the new event was stored: the store builds the insert for
		// the whole batch while it claims, and must drop the others.
		var stored []string
		must(t, e.db.Conn(t.Context()).Table("events").Order("idempotency_key").Pluck("idempotency_key", &stored).Error)
		if diff := cmp.Diff([]string{"a", "b", "c"}, stored); diff != "" {
			t.Errorf("stored events (-want +got):\n%s", diff)
		}
	})
}

// TestFullBatchRetried retries a full batch (metering.MaxBatch events) on
// both engines: every event is a duplicate of its first sending. (On
// PostgreSQL the keys were once read back with a list of row values, which
// a batch this large made exceed PostgreSQL's stack depth: a 500 for every
// retry of a full batch.)
func TestFullBatchRetried(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		batch := make([]metering.EventInput, metering.MaxBatch)
		for i := range batch {
			batch[i] = ev("sum", "1", at(5, 1, 1).Add(time.Duration(i)*time.Second), fmt.Sprint("k", i))
		}
		first := e.ingest(t, batch...)
		again, err := e.svc.Ingest(t.Context(), "events", batch)
		must(t, err)
		for i, r := range again {
			if r.Status != metering.Duplicate || r.EventID != first[i].EventID {
				t.Fatalf("event %d of the retried batch: %+v, want a duplicate of %s", i, r, first[i].EventID)
			}
		}
	})
}

// TestConcurrentSameBatch sends one batch from 100 goroutines at once on
// PostgreSQL: every event is stored once.
func TestConcurrentSameBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Postgres(t, "metering", migrations.FS))
	var batch []metering.EventInput
	for i := range 50 {
		c := "cus_a"
		if i%2 == 1 {
			c = "cus_b"
		}
		x := subj(ev("sum", "1.5", at(5, 1, i%24), fmt.Sprint("k", i)), fmt.Sprint("site-", i%3))
		x.CustomerID = c
		batch = append(batch, x)
	}
	var wg sync.WaitGroup
	accepted := make([]int, 100)
	for g := range 100 {
		wg.Go(func() {
			rs, err := e.svc.Ingest(context.Background(), "events", batch)
			if err != nil {
				t.Error(err)
				return
			}
			for _, r := range rs {
				if r.Status == metering.Accepted {
					accepted[g]++
				} else if r.Status != metering.Duplicate {
					t.Errorf("%+v", r)
				}
			}
		})
	}
	wg.Wait()
	sum := 0
	for _, n := range accepted {
		sum += n
	}
	if sum != len(batch) {
		t.Errorf("%d events accepted in all, want %d", sum, len(batch))
	}
	day := metering.Period{Start: at(5, 1, 0), End: at(5, 2, 0)}
	for _, c := range []string{"cus_a", "cus_b"} {
		if total, _ := e.query(t, metering.QueryInput{CustomerID: c, Meter: "sum", Period: day}); total != "37.5" {
			t.Errorf("%s total %s, want 37.5", c, total)
		}
	}
	var stored int64
	must(t, e.db.Conn(t.Context()).Raw("SELECT COUNT(*) FROM events").Scan(&stored).Error)
	if stored != int64(len(batch)) {
		t.Errorf("%d events stored, want %d", stored, len(batch))
	}
}

// TestConcurrentOverlappingBatches sends 20 batches at once on
// PostgreSQL, each sharing half its keys with the next and listing them in
// its own order, so that a batch whose keys are all new (claimed by COPY)
// races batches that find some claimed (claimed one by one): every key is
// stored once, with one event.
func TestConcurrentOverlappingBatches(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Postgres(t, "metering", migrations.FS))
	const batches, size = 20, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := map[string]int{}
	for g := range batches {
		wg.Go(func() {
			var batch []metering.EventInput
			for i := range size {
				k := g*size/2 + i
				if g%2 == 1 {
					k = g*size/2 + size - 1 - i
				}
				batch = append(batch, ev("sum", "1", at(5, 1, k%24), fmt.Sprint("k", k)))
			}
			rs, err := e.svc.Ingest(context.Background(), "events", batch)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for i, r := range rs {
				switch r.Status {
				case metering.Accepted:
					accepted[batch[i].Key]++
				case metering.Duplicate:
				default:
					t.Errorf("%+v", r)
				}
			}
		})
	}
	wg.Wait()
	keys := (batches + 1) * size / 2
	for k, n := range accepted {
		if n != 1 {
			t.Errorf("key %s accepted %d times", k, n)
		}
	}
	if len(accepted) != keys {
		t.Errorf("%d keys accepted, want %d", len(accepted), keys)
	}
	var stored int64
	must(t, e.db.Conn(t.Context()).Raw("SELECT COUNT(*) FROM events").Scan(&stored).Error)
	if total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: metering.Period{Start: at(5, 1, 0), End: at(5, 2, 0)}}); stored != int64(keys) || total != fmt.Sprint(keys) {
		t.Errorf("%d events stored, total %s; want %d", stored, total, keys)
	}
}

// TestCanceledMidBatch cancels batches at random instants, between or
// inside the statements that store them, then sends them all again: on
// both engines a canceled batch leaves nothing, and every event counts
// once.
func TestCanceledMidBatch(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		const batches, size = 30, 200
		all := make([][]metering.EventInput, batches)
		for b := range all {
			for i := range size {
				k := b*size + i
				all[b] = append(all[b], ev("sum", "1", at(5, 1, k%24), fmt.Sprint("k", k)))
			}
		}
		for b, batch := range all {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(b*100)*time.Microsecond)
			_, _ = e.svc.Ingest(ctx, "events", batch) // canceled or not
			cancel()
		}
		for _, batch := range all {
			rs, err := e.svc.Ingest(t.Context(), "events", batch)
			must(t, err)
			for _, r := range rs {
				if r.Status != metering.Accepted && r.Status != metering.Duplicate {
					t.Fatalf("%+v", r)
				}
			}
		}
		var stored int64
		must(t, e.db.Conn(t.Context()).Raw("SELECT COUNT(*) FROM events").Scan(&stored).Error)
		total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: metering.Period{Start: at(5, 1, 0), End: at(5, 2, 0)}})
		if stored != batches*size || total != fmt.Sprint(batches*size) {
			t.Errorf("%d events stored, total %s; want %d", stored, total, batches*size)
		}
	})
}

func TestCompleteness(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		c, err := e.svc.Completeness(ctx, "cus_a", april)
		must(t, err)
		if c.Complete {
			t.Errorf("complete without any usage: %+v", c)
		}
		x := ev("sum", "1", at(4, 3, 0), "a")
		x.Source = "collector-1"
		y := ev("sum", "1", at(4, 4, 0), "b")
		y.Source = "collector-2"
		e.ingest(t, x, y)
		must(t, e.svc.MarkComplete(ctx, metering.MarkCompleteInput{Source: "collector-1", CustomerID: "cus_a", Period: april}))
		c, err = e.svc.Completeness(ctx, "cus_a", april)
		must(t, err)
		if c.Complete || !cmp.Equal(c.Pending, []string{"collector-2"}) {
			t.Errorf("one source pending: %+v", c)
		}
		must(t, e.svc.MarkComplete(ctx, metering.MarkCompleteInput{Source: "collector-2", CustomerID: "cus_a", Period: metering.Period{Start: at(3, 1, 0), End: at(5, 1, 0)}}))
		c, err = e.svc.Completeness(ctx, "cus_a", april)
		must(t, err)
		if !c.Complete || !cmp.Equal(c.Sources, []string{"collector-1", "collector-2"}) {
			t.Errorf("all marked: %+v", c)
		}
	})
}

// recordedEvents returns the usage.recorded events in the outbox.
func (e env) recordedEvents(t *testing.T) []metering.RecordedEvent {
	t.Helper()
	var rows []struct{ Payload []byte }
	must(t, e.db.Conn(t.Context()).Raw("SELECT payload FROM outbox WHERE topic = ?", metering.TopicRecorded).Scan(&rows).Error)
	out := make([]metering.RecordedEvent, len(rows))
	for i, r := range rows {
		must(t, json.Unmarshal(r.Payload, &out[i]))
	}
	return out
}

// recorded returns the usage.recorded events in the outbox as "customer
// meter hour quantity count", sorted.
func (e env) recorded(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, r := range e.recordedEvents(t) {
		out = append(out, fmt.Sprintf("%s %s %s %s %d", r.CustomerID, r.MeterKey, r.Hour.Format("01-02T15"), r.Quantity, r.Count))
	}
	slices.Sort(out)
	return out
}

func (e env) pending(t *testing.T) int64 {
	t.Helper()
	var n int64
	must(t, e.db.Conn(t.Context()).Raw("SELECT COUNT(*) FROM pending_rollups").Scan(&n).Error)
	return n
}

// TestFold checks that ingestion leaves counter aggregates pending, that a
// fold adds each batch once and announces each customer, meter and hour
// once, and that queries fold what is pending before reading.
func TestFold(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		ctx := t.Context()
		e.ingest(t, subj(ev("sum", "1.5", at(5, 1, 1), "a"), "s1"), subj(ev("sum", "2", at(5, 1, 1), "b"), "s2"),
			subj(ev("sum", "4", at(5, 1, 2), "c"), "s1"))
		e.ingest(t, subj(ev("sum", "0.25", at(5, 1, 1), "d"), "s1"), ev("count", "1", at(5, 1, 1), "e"))
		if n := e.pending(t); n != 2 {
			t.Fatalf("%d batches pending after two batches, want 2", n)
		}
		if got := e.recorded(t); len(got) != 0 {
			t.Fatalf("usage.recorded before a fold: %v", got)
		}
		n, err := e.svc.Fold(ctx, false)
		if n != 2 || err != nil {
			t.Fatalf("Fold = %d, %v; want 2", n, err)
		}
		want := []string{"cus_a count 05-01T01 1 1", "cus_a sum 05-01T01 3.75 3", "cus_a sum 05-01T02 4 1"}
		if diff := cmp.Diff(want, e.recorded(t)); diff != "" {
			t.Errorf("usage.recorded after the fold (-want +got):\n%s", diff)
		}
		if n, err := e.svc.Fold(ctx, false); n != 0 || err != nil {
			t.Errorf("second Fold = %d, %v; want 0", n, err)
		}
		day := metering.Period{Start: at(5, 1, 0), End: at(5, 2, 0)}
		_, values := e.query(t, metering.QueryInput{Meter: "sum", Period: day, GroupBySubject: true})
		if diff := cmp.Diff([]string{"05-01T00 s1 5.75", "05-01T00 s2 2"}, values); diff != "" {
			t.Errorf("per subject (-want +got):\n%s", diff)
		}

		// A query sees what was just ingested: it folds first.
		e.ingest(t, subj(ev("sum", "10", at(5, 1, 3), "f"), "s2"))
		if total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: day}); total != "17.75" {
			t.Errorf("total right after ingestion %s, want 17.75", total)
		}
		if n := e.pending(t); n != 0 {
			t.Errorf("%d batches pending after a query", n)
		}
		if got := e.recorded(t); len(got) != 4 {
			t.Errorf("usage.recorded after the query's fold: %v", got)
		}
	})
}

// TestFoldIntoStoredRollups folds twice into the same 300 rollups, which
// the second fold reads and adds to (in Go on SQLite, in SQL on
// PostgreSQL): each ends with both folds' sums.
func TestFoldIntoStoredRollups(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "metering", migrations.FS, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db)
		const subjects = 300
		for round, q := range []string{"1.5", "2.25"} {
			var in []metering.EventInput
			for i := range subjects {
				in = append(in, subj(ev("sum", q, at(5, 1, 1).Add(time.Duration(round)*time.Minute), fmt.Sprintf("r%d-%d", round, i)), fmt.Sprintf("s%03d", i)))
			}
			e.ingest(t, in...)
			if n, err := e.svc.Fold(t.Context(), false); n != 1 || err != nil {
				t.Fatalf("fold %d = %d, %v; want 1 batch", round, n, err)
			}
		}
		total, values := e.query(t, metering.QueryInput{Meter: "sum", Period: metering.Period{Start: at(5, 1, 0), End: at(5, 2, 0)},
			GroupBySubject: true})
		if total != "1125" {
			t.Errorf("total %s, want 1125 (300 × 3.75)", total)
		}
		if len(values) != subjects {
			t.Fatalf("%d subjects, want %d", len(values), subjects)
		}
		for i, v := range values {
			if want := fmt.Sprintf("05-01T00 s%03d 3.75", i); v != want {
				t.Fatalf("subject %d: %q, want %q", i, v, want)
			}
		}
	})
}

// TestConcurrentFolds ingests from several goroutines on PostgreSQL while
// two background folders fold concurrently: every event is in the rollups
// and in usage.recorded exactly once, and a query right after an ingestion
// sees it even while a background fold holds its batch.
func TestConcurrentFolds(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Postgres(t, "metering", migrations.FS))
	ctx, cancel := context.WithCancel(t.Context())
	var folders sync.WaitGroup
	for range 2 {
		folders.Go(func() {
			e.svc.FoldEvery(ctx, time.Millisecond, func(err error) { t.Errorf("fold: %v", err) })
		})
	}
	day := metering.Period{Start: at(5, 1, 0), End: at(5, 2, 0)}
	var writers sync.WaitGroup
	const goroutines, batches, events = 4, 10, 40
	for g := range goroutines {
		writers.Go(func() {
			customer := fmt.Sprint("cus_", g) // each writer its own, so it knows the total
			for b := range batches {
				var in []metering.EventInput
				for i := range events {
					x := subj(ev("sum", "0.5", at(5, 1, i%5), fmt.Sprintf("%d-%d", b, i)), fmt.Sprint("s", i%3))
					x.CustomerID = customer
					in = append(in, x)
				}
				if _, err := e.svc.Ingest(ctx, "events", in); err != nil {
					t.Error(err)
					return
				}
				u, err := e.svc.Query(ctx, metering.QueryInput{CustomerID: customer, Meter: "sum", Period: day})
				if err != nil {
					t.Error(err)
					return
				}
				if want := fmt.Sprint((b + 1) * events / 2); u.Total.String() != want {
					t.Errorf("%s after batch %d: total %s, want %s", customer, b, u.Total, want)
				}
			}
		})
	}
	writers.Wait()
	want := fmt.Sprint(goroutines * batches * events / 2)
	cancel()
	folders.Wait()
	sum, count := decimal.Zero, int64(0)
	for _, r := range e.recordedEvents(t) {
		sum, count = sum.Add(decimal.RequireFromString(r.Quantity)), count+r.Count
	}
	if sum.String() != want || count != goroutines*batches*events {
		t.Errorf("usage.recorded add up to %s in %d events, want %s in %d", sum, count, want, goroutines*batches*events)
	}
}

// TestRetention drops the event partitions past the retention on
// PostgreSQL: their events and keys go, the usage stays queryable.
func TestRetention(t *testing.T) {
	t.Parallel()
	db := storagetest.Postgres(t, "metering", migrations.FS)
	e := newEnv(t, db)
	st := e.store
	e.ingest(t, ev("sum", "1", at(1, 15, 0), "jan"), ev("sum", "2", at(2, 15, 0), "feb"), ev("sum", "4", at(3, 15, 0), "mar"))
	count := func(table string) (n int64) {
		must(t, db.Conn(t.Context()).Raw("SELECT COUNT(*) FROM "+table).Scan(&n).Error)
		return n
	}

	dropped, err := st.DropPartitionsBefore(t.Context(), at(3, 1, 0))
	must(t, err)
	if fmt.Sprint(dropped) != "[events_2026_01 events_2026_02]" {
		t.Errorf("dropped %v, want January and February", dropped)
	}
	if n, k := count("events"), count("event_keys"); n != 1 || k != 1 {
		t.Errorf("%d events and %d keys left, want March's 1 and 1", n, k)
	}
	if total, _ := e.query(t, metering.QueryInput{Meter: "sum", Period: metering.Period{Start: at(1, 1, 0), End: at(4, 1, 0)}}); total != "7" {
		t.Errorf("usage of January to March after the drop: %s, want 7", total)
	}
	if dropped, err := st.DropPartitionsBefore(t.Context(), at(3, 1, 0)); len(dropped) != 0 || err != nil {
		t.Errorf("second drop = %v, %v; want nothing", dropped, err)
	}
	// A new event of a dropped month gets its partition back.
	e.ingest(t, ev("sum", "8", at(1, 20, 0), "jan-2"))
	if n := count("events_2026_01"); n != 1 {
		t.Errorf("January holds %d events, want 1", n)
	}
}
