package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
)

// each runs fn on the real Redis server, on the in-process one and on the
// Redis Cluster, with a bus on rdb. On the cluster the bus's streams carry
// the test's own key prefix.
func each(t *testing.T, fn func(t *testing.T, b *bus.Bus, rdb redis.UniversalClient)) {
	t.Helper()
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		rdb := redistest.New(t)
		fn(t, bus.New(rdb), rdb)
	})
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		r, err := redisx.Open(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		fn(t, bus.New(r.Client), r.Client)
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		rdb, prefix := redistest.Cluster(t)
		b := bus.New(rdb)
		b.Prefix = prefix + bus.DefaultPrefix
		fn(t, b, rdb)
	})
}

// received counts the deliveries of each message id.
type received struct {
	mu   sync.Mutex
	n    map[string]int
	msgs []bus.Message
}

func (r *received) add(m bus.Message) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[m.ID]++
	r.msgs = append(r.msgs, m)
	return r.n[m.ID]
}

func (r *received) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[id]
}

func (r *received) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.n)
}

// consume runs Consume until the test ends or stop is called, and checks
// it returns nil.
func consume(t *testing.T, b *bus.Bus, topic, group, consumer string, h func(context.Context, bus.Message) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Consume(ctx, topic, group, consumer, h) }()
	stop = sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume = %v, want nil", err)
		}
	})
	t.Cleanup(stop)
	return stop
}

// eventually waits up to 10 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pending is the number of entries of the group delivered but not acknowledged.
func pending(t *testing.T, rdb redis.UniversalClient, stream, group string) int64 {
	t.Helper()
	p, err := rdb.XPending(context.Background(), stream, group).Result()
	if err != nil {
		t.Fatalf("XPENDING: %v", err)
	}
	return p.Count
}

func publish(t *testing.T, b *bus.Bus, topic string, n int) []bus.Message {
	t.Helper()
	var ms []bus.Message
	for i := range n {
		m := bus.Message{
			ID: fmt.Sprintf("%s-%d", topic, i), Topic: topic, Key: fmt.Sprintf("cus_%d", i%3),
			Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)), Time: time.Date(2026, 3, 1, 12, 0, i, 123456789, time.UTC),
		}
		if err := b.Publish(t.Context(), m); err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
	}
	return ms
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bus.Bus, rdb redis.UniversalClient) {
		sent := publish(t, b, "usage.recorded", 3)
		var got received
		consume(t, b, "usage.recorded", "billing", "c1", func(ctx context.Context, m bus.Message) error {
			got.add(m)
			return nil
		})
		eventually(t, "3 messages", func() bool { return got.distinct() == 3 })

		got.mu.Lock()
		defer got.mu.Unlock()
		for i, m := range got.msgs {
			w := sent[i]
			if m.ID != w.ID || m.Topic != w.Topic || m.Key != w.Key || string(m.Payload) != string(w.Payload) || !m.Time.Equal(w.Time) {
				t.Errorf("message %d = %+v, want %+v", i, m, w)
			}
		}
		if err := b.Publish(t.Context(), bus.Message{Topic: "usage.recorded"}); err == nil {
			t.Error("Publish without an id succeeded")
		}
	})
}

func TestHandlerErrorRedelivers(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bus.Bus, rdb redis.UniversalClient) {
		b.Retry = 50 * time.Millisecond
		sent := publish(t, b, "invoices", 3)
		var got received
		consume(t, b, "invoices", "mailer", "c1", func(ctx context.Context, m bus.Message) error {
			if got.add(m) == 1 && m.ID == sent[1].ID {
				return errors.New("smtp down")
			}
			return nil
		})
		eventually(t, "the failed message to come again", func() bool { return got.count(sent[1].ID) == 2 })
		eventually(t, "all acknowledged", func() bool { return pending(t, rdb, b.Stream("invoices"), "mailer") == 0 })
		for i, m := range sent {
			if n, want := got.count(m.ID), map[bool]int{true: 2, false: 1}[i == 1]; n != want {
				t.Errorf("message %s delivered %d times, want %d", m.ID, n, want)
			}
		}
	})
}

func TestConsumersShareAGroup(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bus.Bus, rdb redis.UniversalClient) {
		var all received
		per := map[string]*received{"c1": {}, "c2": {}}
		for name, got := range per {
			consume(t, b, "meter", "rating", name, func(ctx context.Context, m bus.Message) error {
				got.add(m)
				all.add(m)
				time.Sleep(3 * time.Millisecond) // a busy consumer leaves the next message to the other
				return nil
			})
		}
		const n = 100
		for i := range n {
			m := bus.Message{ID: fmt.Sprintf("m%d", i), Topic: "meter", Time: time.Now()}
			if err := b.Publish(t.Context(), m); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		eventually(t, "every message", func() bool { return all.distinct() == n })
		for i := range n {
			if c := all.count(fmt.Sprintf("m%d", i)); c != 1 {
				t.Errorf("m%d delivered %d times, want 1", i, c)
			}
		}
		if per["c1"].distinct() == 0 || per["c2"].distinct() == 0 {
			t.Errorf("one consumer got everything: c1 %d, c2 %d", per["c1"].distinct(), per["c2"].distinct())
		}
		t.Logf("c1 got %d, c2 got %d", per["c1"].distinct(), per["c2"].distinct())
	})
}

func TestDeadConsumersMessagesAreClaimed(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bus.Bus, rdb redis.UniversalClient) {
		ctx := t.Context()
		b.ClaimIdle = 200 * time.Millisecond
		if err := rdb.XGroupCreateMkStream(ctx, b.Stream("usage"), "rating", "0").Err(); err != nil {
			t.Fatal(err)
		}
		sent := publish(t, b, "usage", 2)
		// A consumer reads the messages, then dies without acknowledging them.
		res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "rating", Consumer: "dead", Streams: []string{b.Stream("usage"), ">"}, Count: 10, Block: -1}).Result()
		if err != nil || len(res) != 1 || len(res[0].Messages) != 2 {
			t.Fatalf("XREADGROUP = %v, %v", res, err)
		}

		var got received
		consume(t, b, "usage", "rating", "alive", func(ctx context.Context, m bus.Message) error {
			got.add(m)
			return nil
		})
		eventually(t, "the dead consumer's messages", func() bool { return got.distinct() == 2 })
		eventually(t, "all acknowledged", func() bool { return pending(t, rdb, b.Stream("usage"), "rating") == 0 })
		for _, m := range sent {
			if n := got.count(m.ID); n != 1 {
				t.Errorf("message %s delivered %d times, want 1", m.ID, n)
			}
		}
	})
}

// TestPublishAllAcrossTopics publishes to several topics in one pipeline;
// on the cluster their streams lie in different slots and on different
// nodes, which must not raise CROSSSLOT.
func TestPublishAllAcrossTopics(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, b *bus.Bus, rdb redis.UniversalClient) {
		topics := []string{"usage.recorded", "subscription.changed", "invoices", "quota.allocated", "meter", "alerts"}
		var msgs []bus.Message
		for i, topic := range topics {
			for j := range 2 {
				msgs = append(msgs, bus.Message{ID: fmt.Sprintf("%s-%d", topic, j), Topic: topic, Key: fmt.Sprintf("cus_%d", i), Time: time.Now()})
			}
		}
		if err := b.PublishAll(t.Context(), msgs); err != nil {
			t.Fatalf("PublishAll: %v", err)
		}
		var got received
		for _, topic := range topics {
			consume(t, b, topic, "all", "c1", func(ctx context.Context, m bus.Message) error {
				if m.ID[:len(topic)] != topic {
					t.Errorf("topic %s got message %s", topic, m.ID)
				}
				got.add(m)
				return nil
			})
		}
		eventually(t, "every message of every topic", func() bool { return got.distinct() == len(msgs) })
	})
}
