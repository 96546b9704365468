package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/outbox"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

var errCrash = errors.New("crash")

// TestOutbox runs every case on PostgreSQL and SQLite, each with the real
// Redis server, the in-process one and the Redis Cluster. The cases share
// the database and each leaves the outbox empty.
func TestOutbox(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "outbox", fstest.MapFS{}, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		if err := db.Conn(ctx).Exec("CREATE TABLE effects (consumer TEXT NOT NULL, event_id TEXT NOT NULL)").Error; err != nil {
			t.Fatal(err)
		}
		embedded, err := redisx.Open(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { embedded.Close() })
		cluster, prefix := redistest.Cluster(t)
		for _, r := range []struct {
			name   string
			rdb    redis.UniversalClient
			prefix string // of the streams' keys
		}{
			{"redis", redistest.New(t), bus.DefaultPrefix},
			{"embedded", embedded.Client, bus.DefaultPrefix},
			{"cluster", cluster, prefix + bus.DefaultPrefix},
		} {
			t.Run(r.name, func(t *testing.T) {
				e := env{db: db, rdb: r.rdb, bus: bus.New(r.rdb), log: slog.New(slog.NewTextHandler(t.Output(), nil)), consumer: "ledger_" + r.name}
				e.bus.Prefix = r.prefix
				e.bus.Retry = 20 * time.Millisecond
				t.Run("every committed event is published once", e.publishedOnce)
				t.Run("events of a rolled back transaction are not published", e.rolledBack)
				t.Run("a crash republishes and the inbox applies each event once", e.crash)
				t.Run("a kick wakes the relay", e.kick)
				t.Run("a failed publication is retried", e.publishFails)
				t.Run("two relays publish every event", e.twoRelays)
			})
		}
	})
}

type env struct {
	db  *storage.DB
	rdb redis.UniversalClient
	bus *bus.Bus
	log *slog.Logger
	// consumer names the inbox consumer, one per Redis server, as they
	// share the database.
	consumer string
}

// add commits n events on topic in one transaction and returns their ids.
func (e env) add(t *testing.T, topic string, n int, at time.Time) []string {
	t.Helper()
	var ids []string
	err := e.db.InTx(t.Context(), func(ctx context.Context) error {
		for i := range n {
			id, err := outbox.Add(ctx, e.db, topic, fmt.Sprintf("cus_%d", i%7), []byte(fmt.Sprintf(`{"n":%d}`, i)), at)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// drain runs rounds until one publishes nothing and returns each round's count.
func (e env) drain(t *testing.T, r *outbox.Relay) []int {
	t.Helper()
	var counts []int
	for {
		n, err := r.Once(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, n)
		if n == 0 {
			return counts
		}
	}
}

// stream returns the messages published on topic, oldest first.
func (e env) stream(t *testing.T, topic string) []redis.XMessage {
	t.Helper()
	msgs, err := e.rdb.XRange(t.Context(), e.bus.Stream(topic), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// published counts the messages of topic by event id.
func (e env) published(t *testing.T, topic string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, m := range e.stream(t, topic) {
		n[m.Values["id"].(string)]++
	}
	return n
}

func (e env) outboxLen(t *testing.T) int64 {
	t.Helper()
	var n int64
	if err := e.db.Conn(t.Context()).Raw("SELECT COUNT(*) FROM outbox").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func (e env) publishedOnce(t *testing.T) {
	at := time.Date(2026, 2, 28, 10, 30, 0, 123456000, time.UTC)
	ids := e.add(t, "once", 1200, at)
	if got := e.drain(t, outbox.NewRelay(e.db, e.bus, e.log)); fmt.Sprint(got) != "[500 500 200 0]" {
		t.Fatalf("rounds published %v, want [500 500 200 0]", got)
	}
	msgs := e.stream(t, "once")
	if len(msgs) != len(ids) {
		t.Fatalf("published %d messages, want %d", len(msgs), len(ids))
	}
	for i, m := range msgs {
		if m.Values["id"] != ids[i] {
			t.Fatalf("message %d is event %v, want %s (in order of addition)", i, m.Values["id"], ids[i])
		}
	}
	if v := msgs[8].Values; v["key"] != "cus_1" || v["payload"] != `{"n":8}` || v["time"] != "2026-02-28T10:30:00.123456Z" {
		t.Errorf("message 8 = %v", v)
	}
	if n := e.outboxLen(t); n != 0 {
		t.Errorf("outbox keeps %d published events", n)
	}
}

func (e env) rolledBack(t *testing.T) {
	err := e.db.InTx(t.Context(), func(ctx context.Context) error {
		for range 3 {
			if _, err := outbox.Add(ctx, e.db, "rollback", "cus_1", []byte("x"), time.Now()); err != nil {
				return err
			}
		}
		return errCrash
	})
	if !errors.Is(err, errCrash) {
		t.Fatalf("InTx = %v", err)
	}
	if got := e.drain(t, outbox.NewRelay(e.db, e.bus, e.log)); fmt.Sprint(got) != "[0]" {
		t.Errorf("rounds published %v, want [0]", got)
	}
	if msgs := e.stream(t, "rollback"); len(msgs) != 0 {
		t.Errorf("published %d messages of a rolled back transaction", len(msgs))
	}
}

func (e env) crash(t *testing.T) {
	ctx := t.Context()
	ids := e.add(t, "crash", 20, time.Now())
	relay := outbox.NewRelay(e.db, e.bus, e.log)
	// The round publishes, then its transaction fails before the commit.
	err := e.db.InTx(ctx, func(ctx context.Context) error {
		if n, err := relay.Once(ctx); n != 20 || err != nil {
			t.Errorf("Once = %d, %v; want 20", n, err)
		}
		return errCrash
	})
	if !errors.Is(err, errCrash) {
		t.Fatalf("InTx = %v", err)
	}
	if n := e.outboxLen(t); n != 20 {
		t.Fatalf("outbox has %d events after the crash, want 20", n)
	}
	if got := e.drain(t, relay); fmt.Sprint(got) != "[20 0]" {
		t.Fatalf("rounds after the crash published %v, want [20 0]", got)
	}
	for _, id := range ids {
		if n := e.published(t, "crash")[id]; n != 2 {
			t.Fatalf("event %s published %d times, want 2", id, n)
		}
	}

	// Two consumers of one group get the duplicates, possibly at once; the
	// inbox lets each event's effect through once.
	var deliveries atomic.Int32
	apply := func(ctx context.Context, m bus.Message) error {
		deliveries.Add(1)
		return e.db.InTx(ctx, func(ctx context.Context) error {
			seen, err := outbox.Seen(ctx, e.db, e.consumer, m.ID, time.Now())
			if err != nil || seen {
				return err
			}
			return e.db.Conn(ctx).Exec("INSERT INTO effects (consumer, event_id) VALUES (?, ?)", e.consumer, m.ID).Error
		})
	}
	cctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, name := range []string{"c1", "c2"} {
		wg.Go(func() {
			if err := e.bus.Consume(cctx, "crash", "ledger", name, apply); err != nil {
				t.Errorf("Consume: %v", err)
			}
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for deliveries.Load() < 40 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if n := deliveries.Load(); n != 40 {
		t.Fatalf("%d deliveries, want 40", n)
	}
	var effects, distinct int64
	e.db.Conn(ctx).Raw("SELECT COUNT(*) FROM effects WHERE consumer = ?", e.consumer).Scan(&effects)
	e.db.Conn(ctx).Raw("SELECT COUNT(DISTINCT event_id) FROM effects WHERE consumer = ?", e.consumer).Scan(&distinct)
	if effects != 20 || distinct != 20 {
		t.Errorf("%d effects of %d events, want 20 of 20", effects, distinct)
	}

	// Seen reports what was committed: not the events of a rolled back
	// transaction, and not another consumer's.
	e.db.InTx(ctx, func(ctx context.Context) error {
		if seen, err := outbox.Seen(ctx, e.db, e.consumer, "fresh", time.Now()); seen || err != nil {
			t.Errorf("Seen of a new event = %v, %v", seen, err)
		}
		return errCrash
	})
	for consumer, want := range map[string]bool{e.consumer: true, "mailer": false} {
		if seen, err := outbox.Seen(ctx, e.db, consumer, ids[0], time.Now()); seen != want || err != nil {
			t.Errorf("Seen(%s, an applied event) = %v, %v; want %v", consumer, seen, err, want)
		}
	}
	if seen, err := outbox.Seen(ctx, e.db, e.consumer, "fresh", time.Now()); seen || err != nil {
		t.Errorf("Seen of an event seen in a rolled back transaction = %v, %v", seen, err)
	}
}

func (e env) kick(t *testing.T) {
	relay := outbox.NewRelay(e.db, e.bus, e.log)
	relay.Poll = time.Hour // only a kick can wake it
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx) }()
	time.Sleep(50 * time.Millisecond) // let it find nothing and wait
	ids := e.add(t, "kick", 1, time.Now())
	relay.Kick()
	// Stop only after the commit, or the event would be published again.
	deadline := time.Now().Add(5 * time.Second)
	for e.outboxLen(t) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if n := e.published(t, "kick")[ids[0]]; n != 1 {
		t.Fatalf("kicked event published %d times, want 1", n)
	}
}

func (e env) publishFails(t *testing.T) {
	dead, err := redisx.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	dead.Close()
	ids := e.add(t, "fails", 3, time.Now())

	relay := outbox.NewRelay(e.db, bus.New(dead.Client), e.log)
	if n, err := relay.Once(t.Context()); n != 0 || err == nil {
		t.Fatalf("Once with Redis down = %d, %v; want an error", n, err)
	}
	// Run logs the failures and goes on until stopped.
	relay.Retry = 10 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := relay.Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
	if n := e.outboxLen(t); n != 3 {
		t.Fatalf("outbox has %d events after failed rounds, want 3", n)
	}

	// A round cut off by the end of Run may hold its row locks until
	// PostgreSQL sees its connection close, so rounds that skip them
	// publish nothing for a moment.
	relay = outbox.NewRelay(e.db, e.bus, e.log)
	total := 0
	for deadline := time.Now().Add(5 * time.Second); total < 3 && time.Now().Before(deadline); {
		n, err := relay.Once(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		total += n
		time.Sleep(5 * time.Millisecond)
	}
	if total != 3 {
		t.Fatalf("rounds after Redis came back published %d events, want 3", total)
	}
	for _, id := range ids {
		if n := e.published(t, "fails")[id]; n != 1 {
			t.Errorf("event %s published %d times, want 1", id, n)
		}
	}
}

func (e env) twoRelays(t *testing.T) {
	ids := e.add(t, "two", 1500, time.Now())
	ctx, cancel := context.WithCancel(t.Context())
	var relays sync.WaitGroup
	var rounds [2]int // events each relay published
	var reported atomic.Int64
	for i := range rounds {
		r := outbox.NewRelay(e.db, e.bus, e.log)
		relays.Go(func() {
			for ctx.Err() == nil {
				n, err := r.Once(ctx)
				if err != nil && ctx.Err() == nil {
					t.Errorf("Once: %v", err)
					return
				}
				rounds[i] += n
				reported.Add(int64(n))
				if n == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		})
	}
	// Writers commit while the relays run.
	for range 15 {
		ids = append(ids, e.add(t, "two", 100, time.Now())...)
	}
	// Wait until the relays have reported every event, not only until the
	// outbox is empty: a round's delete commits before its Once returns,
	// and a round cancelled then reports an error and no count.
	deadline := time.Now().Add(20 * time.Second)
	for reported.Load() < int64(len(ids)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	relays.Wait()

	published := e.published(t, "two")
	duplicates := 0
	for _, id := range ids {
		switch n := published[id]; {
		case n == 0:
			t.Errorf("event %s was not published", id)
		case n > 1:
			duplicates += n - 1
		}
	}
	t.Logf("%d events; the relays published %d and %d; %d duplicates", len(ids), rounds[0], rounds[1], duplicates)
	if rounds[0]+rounds[1] != len(ids)+duplicates {
		t.Errorf("the relays published %d events, want %d", rounds[0]+rounds[1], len(ids)+duplicates)
	}
	if duplicates != 0 {
		t.Errorf("%d duplicates; locked rows should be skipped", duplicates)
	}
}
