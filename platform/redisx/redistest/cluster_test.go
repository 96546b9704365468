package redistest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// fatalTB records the first Fatalf and ends the goroutine, as testing does.
// Any other method, Skip included, panics on the nil TB.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper()        {}
func (f *fatalTB) Cleanup(func()) {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestClusterFailsWhenTheClusterIsDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, url, want string }{
		{"nobody listening", "redis+cluster://127.0.0.1:1", "does not answer"},
		{"not a URL", "redis+cluster://[::1", "TEST_REDIS_CLUSTER_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fatalTB{}
			done := make(chan struct{})
			go func() {
				defer close(done)
				clusterAt(f, tc.url)
			}()
			<-done
			if !strings.Contains(f.msg, tc.want) {
				t.Fatalf("Cluster on %s: fatal %q, want one saying %q", tc.url, f.msg, tc.want)
			}
		})
	}
}

func TestClusterGivesEachTestItsPrefix(t *testing.T) {
	t.Parallel()
	c, p1 := Cluster(t)
	_, p2 := Cluster(t)
	if p1 == p2 || !strings.HasSuffix(p1, ":") || strings.ContainsAny(p1, "{}*?[") {
		t.Fatalf("prefixes %q and %q: want distinct, ending in a colon, without hash tags or glob characters", p1, p2)
	}

	// A test's keys, in several slots, are gone when it ends.
	var inner string
	t.Run("keys", func(t *testing.T) {
		var c2 *redis.ClusterClient
		c2, inner = Cluster(t)
		for i := range 20 {
			if err := c2.Set(t.Context(), fmt.Sprintf("%sk%d", inner, i), "v", 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	for i := range 20 {
		if n, err := c.Exists(t.Context(), fmt.Sprintf("%sk%d", inner, i)).Result(); err != nil || n != 0 {
			t.Fatalf("key %sk%d after its test: EXISTS = %d, %v; want it deleted", inner, i, n, err)
		}
	}
}
