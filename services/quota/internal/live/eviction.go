package live

import (
	"context"
	"strings"
)

// EvictionPolicy returns the server's maxmemory-policy, and whether it
// may evict quota keys: those have no TTL, so only the allkeys-* policies
// evict them. A server that does not answer CONFIG GET (a managed Redis,
// the in-process server) is reported as unknown, not risky.
func (l *Live) EvictionPolicy(ctx context.Context) (policy string, risky bool) {
	cfg, err := l.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return "unknown", false
	}
	policy = cfg["maxmemory-policy"]
	return policy, Evicts(policy)
}

// Evicts reports whether a maxmemory-policy may evict keys without a TTL.
func Evicts(policy string) bool { return strings.HasPrefix(policy, "allkeys-") }
