// Package redistest gives a test a clean database on the real Redis server
// at TEST_REDIS_URL (default redis://127.0.0.1:6379), or a key prefix of its
// own on the Redis Cluster at TEST_REDIS_CLUSTER_URL (see Cluster).
// Databases 1 to 15 are leased one per test across processes and flushed
// before use; when Redis does not answer the test fails, it never skips.
package redistest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL is the Redis server the tests use.
func URL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379"
}

// New returns a client on a flushed database leased for the test.
func New(t testing.TB) *redis.Client {
	t.Helper()
	ctx := context.Background()
	opts, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatal(err)
	}
	lease := redis.NewClient(opts)
	t.Cleanup(func() { lease.Close() })
	if err := lease.Ping(ctx).Err(); err != nil {
		t.Fatalf("redis at %s does not answer (start it; tests never skip): %v", URL(), err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for db := 1; db <= 15; db++ {
			key := fmt.Sprintf("meterplane:test-lease:%d", db)
			ok, err := lease.SetNX(ctx, key, os.Getpid(), 5*time.Minute).Result()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
			o := *opts
			o.DB = db
			c := redis.NewClient(&o)
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				c.FlushDB(context.Background())
				c.Close()
				lease.Del(context.Background(), key)
			})
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("redistest: no free Redis database in 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
