package redisx_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/platform/redisx"
	"github.com/meterplane/meterplane/platform/redisx/redistest"
)

func TestEmbeddedServerSpeaksRedis(t *testing.T) {
	t.Parallel()
	r, err := redisx.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Embedded() {
		t.Fatal("empty URL must start the in-process server")
	}
	ctx := t.Context()
	// The commands quota and the event bus rely on: Lua scripts and streams.
	n, err := r.Eval(ctx, `return redis.call("INCRBY", KEYS[1], ARGV[1])`, []string{"{c1}:sites"}, 3).Int()
	if err != nil || n != 3 {
		t.Fatalf("EVAL = %d, %v", n, err)
	}
	if err := r.XAdd(ctx, &redis.XAddArgs{Stream: "events", Values: map[string]any{"type": "subscription.changed"}}).Err(); err != nil {
		t.Fatalf("XADD: %v", err)
	}
}

func TestRealServer(t *testing.T) {
	t.Parallel()
	c := redistest.New(t)
	if err := c.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := redisx.Open(t.Context(), redistest.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Embedded() {
		t.Fatal("a URL must not start the in-process server")
	}
}

func TestClusterURL(t *testing.T) {
	t.Parallel()
	_, prefix := redistest.Cluster(t) // fails the test when the cluster is down; removes prefix* keys at the end
	r, err := redisx.Open(t.Context(), redistest.ClusterURL())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Cluster() || r.Embedded() {
		t.Fatalf("%s: Cluster() = %v, Embedded() = %v; want a cluster client", redistest.ClusterURL(), r.Cluster(), r.Embedded())
	}
	if _, ok := r.Client.(*redis.ClusterClient); !ok {
		t.Fatalf("client is a %T, want *redis.ClusterClient", r.Client)
	}
	// Keys spread over the three masters.
	ctx := t.Context()
	for i := range 30 {
		if err := r.Set(ctx, fmt.Sprintf("%sk%d", prefix, i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var masters atomic.Int32 // ForEachMaster calls in parallel
	err = r.Client.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		keys, _, err := node.Scan(ctx, 0, prefix+"*", 100).Result()
		if len(keys) > 0 {
			masters.Add(1)
		}
		return err
	})
	if err != nil || masters.Load() < 2 {
		t.Fatalf("the test's keys lie on %d masters (%v); want them spread", masters.Load(), err)
	}
}

func TestOpenRefusesBadURLs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, url string }{
		{"unknown scheme", "http://127.0.0.1:6379"},
		{"cluster with a database path", "redis+cluster://127.0.0.1:7001/3"},
		{"cluster with an unknown option", "redis+cluster://127.0.0.1:7001?colour=red"},
		{"nobody listening", "redis://127.0.0.1:1/0"},
		{"no cluster listening", "redis+cluster://127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if r, err := redisx.Open(t.Context(), tc.url); err == nil {
				r.Close()
				t.Fatalf("Open(%q) succeeded", tc.url)
			}
		})
	}
}

// TestScriptsOnACluster proves the rule quota relies on: a script may touch
// several keys on a cluster when they share a hash tag, and fails with
// CROSSSLOT when they do not.
func TestScriptsOnACluster(t *testing.T) {
	t.Parallel()
	c, prefix := redistest.Cluster(t)
	ctx := t.Context()
	const script = `redis.call("INCRBY", KEYS[1], ARGV[1]); redis.call("INCRBY", KEYS[2], ARGV[1]); return redis.call("GET", KEYS[1])`

	tagged := []string{prefix + "{cus_1}:sites", prefix + "{cus_1}:disk"}
	n, err := c.Eval(ctx, script, tagged, 2).Int()
	if err != nil || n != 2 {
		t.Fatalf("EVAL on keys under one hash tag = %d, %v; want 2", n, err)
	}

	// Two untagged keys in different slots.
	a, b := prefix+"sites", ""
	sa := c.ClusterKeySlot(ctx, a).Val()
	for i := 0; b == ""; i++ {
		if k := fmt.Sprintf("%sdisk%d", prefix, i); c.ClusterKeySlot(ctx, k).Val() != sa {
			b = k
		}
	}
	_, err = c.Eval(ctx, script, []string{a, b}, 2).Result()
	if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("EVAL on keys in different slots = %v; want CROSSSLOT", err)
	}
	if n, err := c.Exists(ctx, a).Result(); err != nil || n != 0 {
		t.Fatalf("the refused script wrote %s: EXISTS = %d, %v", a, n, err)
	}
}
