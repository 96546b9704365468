package live_test

import (
	"testing"

	"github.com/meterplane/meterplane/platform/redisx/redistest"
	"github.com/meterplane/meterplane/services/quota/internal/live"
)

func TestEvicts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		policy string
		want   bool
	}{
		{"noeviction", false},
		{"volatile-lru", false},
		{"volatile-ttl", false},
		{"allkeys-lru", true},
		{"allkeys-lfu", true},
		{"allkeys-random", true},
	} {
		if got := live.Evicts(tt.policy); got != tt.want {
			t.Errorf("Evicts(%q) = %v, want %v", tt.policy, got, tt.want)
		}
	}
}

// TestEvictionPolicy reads the real server's policy.
func TestEvictionPolicy(t *testing.T) {
	t.Parallel()
	policy, risky := live.New(redistest.New(t)).EvictionPolicy(t.Context())
	if policy == "" || policy == "unknown" || risky != live.Evicts(policy) {
		t.Errorf("policy %q, risky %v", policy, risky)
	}
}
