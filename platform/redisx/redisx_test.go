package redisx_test

import (
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
