package redistest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/platform/ids"
)

// ClusterURL is the Redis Cluster the tests use: TEST_REDIS_CLUSTER_URL,
// by default the three masters that .ci/redis-cluster starts on loopback.
// It is a REDIS_URL in the cluster form of package redisx.
func ClusterURL() string {
	if u := os.Getenv("TEST_REDIS_CLUSTER_URL"); u != "" {
		return u
	}
	return "redis+cluster://127.0.0.1:7001?addr=127.0.0.1:7002&addr=127.0.0.1:7003"
}

// Cluster returns a client of the test cluster and a key prefix unique to
// the test. A cluster has one database that every test and test process
// shares, so the test must start each of its keys with the prefix (for a
// bus, set Bus.Prefix to it); when the test ends its keys are deleted. The
// prefix holds no hash tag, so "<prefix>{cus_1}:a" and "<prefix>{cus_1}:b"
// share a slot. When the cluster does not answer the test fails (start it
// with .ci/redis-cluster); it never skips.
func Cluster(t testing.TB) (*redis.ClusterClient, string) {
	t.Helper()
	return clusterAt(t, ClusterURL())
}

// clusterAt is Cluster on the cluster named by raw.
func clusterAt(t testing.TB, raw string) (*redis.ClusterClient, string) {
	t.Helper()
	opts, err := redis.ParseClusterURL(strings.Replace(raw, "+cluster://", "://", 1))
	if err != nil {
		t.Fatalf("TEST_REDIS_CLUSTER_URL %q: %v", raw, err)
	}
	c := redis.NewClusterClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Fatalf("redis cluster at %s does not answer (run .ci/redis-cluster; tests never skip): %v", raw, err)
	}
	state, err := c.ClusterInfo(ctx).Result()
	if err != nil || !strings.Contains(state, "cluster_state:ok") {
		c.Close()
		t.Fatalf("redis cluster at %s is not ready: %q, %v", raw, state, err)
	}
	prefix := ids.New("test") + ":"
	t.Cleanup(func() {
		defer c.Close()
		ctx := context.Background()
		err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				// One key per DEL: the keys of one node may lie in different slots.
				if err := node.Del(ctx, iter.Val()).Err(); err != nil {
					return err
				}
			}
			return iter.Err()
		})
		if err != nil {
			t.Errorf("redistest: delete the test's keys: %v", err)
		}
	})
	return c, prefix
}
