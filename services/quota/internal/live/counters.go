package live

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// Counters live in the customer's keys too, under the same hash tag: the
// limits hash holds each entitled counter's current period as
// 'p:<feature>' → '<start ms>:<end ms>' (end 0 for a counter that never
// resets), written with the limits; KEYS[9] (counters, a hash) holds
// '<feature>@<start ms>' → the period's use, '<feature>@<start ms>#g' →
// the token of the load that set it and '<feature>@<start ms>#t' → the
// time (ms) of that load; KEYS[10] (seen, a zset) holds the usage.recorded
// event ids handled in the last seenKeep, by time (ms).

// seenKeep is how long an added event id is remembered, so that a
// redelivery adds nothing; the bus redelivers within a minute, the
// outbox relay at once.
const seenKeep = 24 * time.Hour

// activeKey is the zset of customers by the time (ms) a counter of theirs
// was last loaded, which reconciliation walks. It is outside every
// customer's hash tag and no script touches it.
const activeKey = "mpq:counters:active"

// recordScript adds an event's amount to the counter of the period that
// holds its hour, once per event id, if that counter is loaded and the
// event was stored after the load (an event stored before it is in the
// use the load read); it answers 1 when it added.
// ARGV: now ms, keep ms, id, feature, hour ms, amount, event time ms.
const recordScript = `
local now, keep, id, f, hour = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
if redis.call('ZSCORE', KEYS[10], id) then return 0 end
redis.call('ZADD', KEYS[10], now, id)
redis.call('ZREMRANGEBYSCORE', KEYS[10], '-inf', now - keep)
local p = redis.call('HGET', KEYS[2], 'p:' .. f)
if not p then return 0 end
local sep = string.find(p, ':', 1, true)
local s, e = string.sub(p, 1, sep - 1), tonumber(string.sub(p, sep + 1))
if hour < tonumber(s) or (e > 0 and hour >= e) then return 0 end
local field = f .. '@' .. s
local loaded = redis.call('HGET', KEYS[9], field .. '#t')
if not loaded or tonumber(ARGV[7]) <= tonumber(loaded) then return 0 end
redis.call('HINCRBY', KEYS[9], field, ARGV[6])
return 1
`

// loadScript sets a counter's use for a period unless it is set, and
// drops the feature's counters of other periods.
// ARGV: feature, start ms, used, token, load time ms.
const loadScript = `
local field = ARGV[1] .. '@' .. ARGV[2]
if redis.call('HEXISTS', KEYS[9], field) == 1 then return 0 end
local prefix = ARGV[1] .. '@'
for _, k in ipairs(redis.call('HKEYS', KEYS[9])) do
  if string.sub(k, 1, #prefix) == prefix then redis.call('HDEL', KEYS[9], k) end
end
redis.call('HSET', KEYS[9], field, ARGV[3], field .. '#g', ARGV[4], field .. '#t', ARGV[5])
return 1
`

// forgetScript drops the counter of the period that holds an hour.
// ARGV: feature, hour ms.
const forgetScript = `
local p = redis.call('HGET', KEYS[2], 'p:' .. ARGV[1])
if not p then return 0 end
local sep = string.find(p, ':', 1, true)
local s, e = string.sub(p, 1, sep - 1), tonumber(string.sub(p, sep + 1))
local hour = tonumber(ARGV[2])
if hour < tonumber(s) or (e > 0 and hour >= e) then return 0 end
redis.call('HDEL', KEYS[9], ARGV[1] .. '@' .. s, ARGV[1] .. '@' .. s .. '#g', ARGV[1] .. '@' .. s .. '#t')
return 1
`

// countersScript lists the loaded counters of the current periods:
// feature, start ms, end ms, use, token for each.
const countersScript = `
local out = {}
local lim = redis.call('HGETALL', KEYS[2])
for i = 1, #lim, 2 do
  local k, p = lim[i], lim[i + 1]
  if string.sub(k, 1, 2) == 'p:' then
    local f = string.sub(k, 3)
    local sep = string.find(p, ':', 1, true)
    local s, e = string.sub(p, 1, sep - 1), string.sub(p, sep + 1)
    local used = redis.call('HGET', KEYS[9], f .. '@' .. s)
    if used then
      for _, v in ipairs({f, s, e, used, redis.call('HGET', KEYS[9], f .. '@' .. s .. '#g') or ''}) do table.insert(out, v) end
    end
  end
end
return out
`

// correctScript adds a delta to a counter if it still holds the token.
// ARGV: feature, start ms, token, delta.
const correctScript = `
local field = ARGV[1] .. '@' .. ARGV[2]
if redis.call('HGET', KEYS[9], field .. '#g') ~= ARGV[3] then return 0 end
redis.call('HINCRBY', KEYS[9], field, ARGV[4])
return 1
`

type counterScripts struct {
	record, load, forget, counters, correct *redis.Script
}

func newCounterScripts() counterScripts {
	return counterScripts{record: redis.NewScript(recordScript), load: redis.NewScript(loadScript),
		forget: redis.NewScript(forgetScript), counters: redis.NewScript(countersScript), correct: redis.NewScript(correctScript)}
}

var _ quota.CounterLive = (*Live)(nil)

// periodField is a counter's period as the limits hash holds it.
func periodField(p quota.Period) string {
	end := int64(0)
	if !p.End.IsZero() {
		end = ms(p.End)
	}
	return strconv.FormatInt(ms(p.Start), 10) + ":" + strconv.FormatInt(end, 10)
}

// period is the inverse of periodField.
func period(start, end int64) quota.Period {
	p := quota.Period{Start: time.UnixMilli(start).UTC()}
	if end != 0 {
		p.End = time.UnixMilli(end).UTC()
	}
	return p
}

// loadAnswer reads the check script's list of counters to load: feature,
// start, end per counter.
func loadAnswer(a []any) (quota.Result, quota.Outcome, error) {
	if len(a) == 0 || len(a)%3 != 0 {
		return quota.Result{}, 0, fmt.Errorf("live: unexpected counters to load %v", a)
	}
	var res quota.Result
	for i := 0; i < len(a); i += 3 {
		f, _ := a[i].(string)
		s, _ := a[i+1].(int64)
		e, _ := a[i+2].(int64)
		res.Load = append(res.Load, quota.Counter{Feature: f, Period: period(s, e)})
	}
	return res, quota.Load, nil
}

// LoadCounter implements quota.CounterLive.
func (l *Live) LoadCounter(ctx context.Context, customerID string, c quota.Counter, used quota.Units, token string, now time.Time) error {
	if err := l.load.Run(ctx, l.rdb, l.Keys(customerID), c.Feature, ms(c.Period.Start), int64(used), token, ms(now)).Err(); err != nil {
		return failed("load counter", err)
	}
	if err := l.rdb.ZAdd(ctx, l.prefix+activeKey, redis.Z{Score: float64(ms(now)), Member: customerID}).Err(); err != nil {
		return failed("mark counters active", err)
	}
	return nil
}

// Record implements quota.CounterLive.
func (l *Live) Record(ctx context.Context, customerID string, r quota.Recorded, amount quota.Units, now time.Time) (bool, error) {
	n, err := l.record.Run(ctx, l.rdb, l.Keys(customerID), ms(now), seenKeep.Milliseconds(), r.ID, r.Feature, ms(r.Hour), int64(amount), ms(r.Time)).Int()
	if err != nil {
		return false, failed("record usage", err)
	}
	return n == 1, nil
}

// Forget implements quota.CounterLive.
func (l *Live) Forget(ctx context.Context, customerID, feature string, hour time.Time) error {
	if err := l.forget.Run(ctx, l.rdb, l.Keys(customerID), feature, ms(hour)).Err(); err != nil {
		return failed("forget counter", err)
	}
	return nil
}

// Counters implements quota.CounterLive.
func (l *Live) Counters(ctx context.Context, customerID string) ([]quota.LoadedCounter, error) {
	a, err := l.counters.Run(ctx, l.rdb, l.Keys(customerID)).StringSlice()
	if err != nil {
		return nil, failed("read counters", err)
	}
	var out []quota.LoadedCounter
	for i := 0; i+4 < len(a); i += 5 {
		s, err1 := strconv.ParseInt(a[i+1], 10, 64)
		e, err2 := strconv.ParseInt(a[i+2], 10, 64)
		u, err3 := strconv.ParseInt(a[i+3], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("live: customer %s: malformed counter %q", customerID, a[i:i+5])
		}
		out = append(out, quota.LoadedCounter{Counter: quota.Counter{Feature: a[i], Period: period(s, e)},
			Used: quota.Units(u), Token: a[i+4]})
	}
	return out, nil
}

// Correct implements quota.CounterLive.
func (l *Live) Correct(ctx context.Context, customerID string, c quota.Counter, token string, delta quota.Units) (bool, error) {
	n, err := l.correct.Run(ctx, l.rdb, l.Keys(customerID), c.Feature, ms(c.Period.Start), token, int64(delta)).Int()
	if err != nil {
		return false, failed("correct counter", err)
	}
	return n == 1, nil
}

// Active implements quota.CounterLive: it forgets the customers not
// active since, and returns the others.
func (l *Live) Active(ctx context.Context, since time.Time) ([]string, error) {
	if err := l.rdb.ZRemRangeByScore(ctx, l.prefix+activeKey, "-inf", "("+strconv.FormatInt(ms(since), 10)).Err(); err != nil {
		return nil, failed("active counters", err)
	}
	ids, err := l.rdb.ZRange(ctx, l.prefix+activeKey, 0, -1).Result()
	if err != nil {
		return nil, failed("active counters", err)
	}
	return ids, nil
}
