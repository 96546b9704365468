package live

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// deallocScript lowers a feature's used by a deallocated quantity, at
// most to 0, once per deallocation id (recorded in done like commits).
// ARGV: now ms, keep ms, id, feature, quantity.
const deallocScript = `
local now, keep, id, f, q = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 then return 'rebuild' end
if redis.call('ZSCORE', KEYS[7], id) then return 'finished' end
local used = tonumber(redis.call('HGET', KEYS[3], f) or '0') - q
if used < 0 then used = 0 end
redis.call('HSET', KEYS[3], f, used)
redis.call('ZADD', KEYS[7], now, id)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - keep)
return 'ok'
`

var deallocSc = redis.NewScript(deallocScript)

// Deallocate implements quota.Live.
func (l *Live) Deallocate(ctx context.Context, customerID, id, feature string, quantity quota.Units, now time.Time) (quota.Outcome, error) {
	v, err := deallocSc.Run(ctx, l.rdb, l.Keys(customerID), ms(now), quota.DoneKeep.Milliseconds(), id, feature, int64(quantity)).Text()
	if err != nil {
		return 0, failed("deallocate", err)
	}
	switch v {
	case "rebuild":
		return quota.Rebuild, nil
	case "finished":
		return quota.Finished, nil
	}
	return quota.Done, nil
}

// Reset implements quota.Live: one DEL of every key but the lock, all in
// the customer's slot.
func (l *Live) Reset(ctx context.Context, customerID string) error {
	if err := l.rdb.Del(ctx, l.Keys(customerID)[:7]...).Err(); err != nil {
		return failed("reset", err)
	}
	return nil
}
