package live

// The scripts' keys, all of one customer under one hash tag, in this
// order: KEYS[1] ready marker, KEYS[2] limits (_at: when asked, ms;
// _until: when they stop holding, ms; _gen: their version; _plan;
// l:<feature>: "policy:limit"; p:<feature>: a counter's period), KEYS[3]
// used, KEYS[4] reserved, KEYS[5] reservations (id → JSON {p, f, q}:
// pending flag, features, quantities), KEYS[6] expiry zset (id by expiry
// in ms), KEYS[7] done zset (ids committed or released, by time in ms),
// KEYS[8] rebuild lock, KEYS[9] counters (see counters.go), KEYS[10] seen
// usage event ids.
// Quantities are integers (thousandths).

// prelude is shared by the admission scripts: the freshness and presence
// checks, the expired reservations and the evaluation of items.
const prelude = `
local function num(v) if v then return tonumber(v) end return 0 end

-- period returns a counter's period (start, end ms; end 0 for none) from
-- its limits field 'p:<feature>', or nil for a gauge.
local function period(f)
  local p = redis.call('HGET', KEYS[2], 'p:' .. f)
  if not p then return nil end
  local sep = string.find(p, ':', 1, true)
  return string.sub(p, 1, sep - 1), tonumber(string.sub(p, sep + 1))
end

-- stale reports whether the limits are missing, fresh ms old or older,
-- or past the instant until which they hold.
local function stale(now, fresh)
  local v = redis.call('HMGET', KEYS[2], '_at', '_until')
  return (not v[1]) or tonumber(v[1]) <= now - fresh or (v[2] and now >= tonumber(v[2]))
end

-- expired returns the ids of the reservations expired at now and what
-- they hold by feature, without writing.
local function expired(now)
  local ids = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now)
  local drop = {}
  for _, id in ipairs(ids) do
    local raw = redis.call('HGET', KEYS[5], id)
    if raw then
      local r = cjson.decode(raw)
      for i, f in ipairs(r.f) do drop[f] = (drop[f] or 0) + r.q[i] end
    end
  end
  return ids, drop
end

-- forget removes the expired reservations.
local function forget(ids, drop)
  for _, id in ipairs(ids) do
    redis.call('HDEL', KEYS[5], id)
    redis.call('ZREM', KEYS[6], id)
  end
  for f, q in pairs(drop) do redis.call('HINCRBY', KEYS[4], f, -q) end
end

-- evaluate judges the n items in ARGV from index base+1 (feature,
-- quantity pairs), not counting drop and own as reserved. It returns
-- whether all are admitted and, per item, reason, allowed, policy,
-- limit, used, reserved, counter (1 or 0), the counter's period start
-- and end. A counter's used is its period's use, and nothing is reserved.
local function evaluate(n, base, drop, own)
  local plan = redis.call('HGET', KEYS[2], '_plan') == '1'
  local all, out = 1, {}
  for i = 1, n do
    local f, q = ARGV[base + 2*i - 1], tonumber(ARGV[base + 2*i])
    local used = num(redis.call('HGET', KEYS[3], f))
    local reserved = num(redis.call('HGET', KEYS[4], f)) - (drop[f] or 0) - (own[f] or 0)
    local lim = redis.call('HGET', KEYS[2], 'l:' .. f)
    local counter, ps, pe = 0, 0, 0
    local s, e = period(f)
    if s then
      counter, ps, pe = 1, tonumber(s), e
      used, reserved = num(redis.call('HGET', KEYS[9], f .. '@' .. s)), 0
    end
    local reason, ok, policy, limit = 0, 0, 0, 0
    if not plan then
      reason = 4
    elseif not lim then
      reason = 5
    else
      local sep = string.find(lim, ':', 1, true)
      policy, limit = tonumber(string.sub(lim, 1, sep - 1)), tonumber(string.sub(lim, sep + 1))
      if policy == 3 or used + reserved + q <= limit then
        reason, ok = 1, 1
      elseif policy == 2 then
        reason, ok = 3, 1
      else
        reason = 2
      end
    end
    if ok == 0 then all = 0 end
    for _, v in ipairs({reason, ok, policy, limit, used, reserved, counter, ps, pe}) do table.insert(out, v) end
  end
  return all, out
end

local function answer(status, all, out)
  local res = {status, all}
  for _, v in ipairs(out) do table.insert(res, v) end
  return res
end
`

// checkScript evaluates items without writing.
// ARGV: now ms, freshness ms, n, then n (feature, quantity) pairs.
const checkScript = prelude + `
local now, fresh, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if stale(now, fresh) then return {'stale'} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'rebuild'} end
-- Counters: a period that ended makes the limits stale (asking them again
-- gives the next period); a period whose use is missing is loaded.
local load = {}
for i = 1, n do
  local f = ARGV[3 + 2*i - 1]
  local s, e = period(f)
  if s then
    if e > 0 and now >= e then return {'stale'} end
    if redis.call('HEXISTS', KEYS[9], f .. '@' .. s) == 0 then
      for _, v in ipairs({f, tonumber(s), e}) do table.insert(load, v) end
    end
  end
end
if #load > 0 then
  local res = {'load'}
  for _, v in ipairs(load) do table.insert(res, v) end
  return res
end
local _, drop = expired(now)
local all, out = evaluate(n, 3, drop, {})
return answer('ok', all, out)
`

// reserveScript holds items under an id if all are admitted; a denial
// writes nothing, except that it drops a pending entry of the id itself
// (an intent a rebuild loaded, which the caller then deletes).
// ARGV: now ms, freshness ms, id, expiry ms, n, then n pairs.
const reserveScript = prelude + `
local now, fresh, id, exp, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
if stale(now, fresh) then return {'stale'} end
if redis.call('EXISTS', KEYS[1]) == 0 then return {'rebuild'} end
if redis.call('ZSCORE', KEYS[7], id) then return {'finished'} end
local ids, drop = expired(now)
local raw = redis.call('HGET', KEYS[5], id)
local own = {}
if raw then
  local score = redis.call('ZSCORE', KEYS[6], id)
  if score and tonumber(score) <= now then
    raw = nil -- expired: counted in drop
  else
    local r = cjson.decode(raw)
    if r.p == 0 then return {'held'} end
    for i, f in ipairs(r.f) do own[f] = (own[f] or 0) + r.q[i] end
  end
end
local all, out = evaluate(n, 5, drop, own)
if raw then
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZREM', KEYS[6], id)
  for f, q in pairs(own) do redis.call('HINCRBY', KEYS[4], f, -q) end
end
if all == 0 then return answer('ok', all, out) end
forget(ids, drop)
local fs, qs = {}, {}
for i = 1, n do
  local f, q = ARGV[5 + 2*i - 1], tonumber(ARGV[5 + 2*i])
  table.insert(fs, f)
  table.insert(qs, q)
  redis.call('HINCRBY', KEYS[4], f, q)
end
redis.call('HSET', KEYS[5], id, cjson.encode({p = 0, f = fs, q = qs}))
redis.call('ZADD', KEYS[6], exp, id)
return answer('ok', all, out)
`

// finishScript commits or releases a reservation, once per id: its held
// items leave reserved, and on commit the items given (the database's)
// are added to used, held or not (a commit after expiry).
// ARGV: now ms, keep ms (how long ids stay in done), id, commit (1 or
// 0), n, then n pairs.
const finishScript = `
local now, keep, id, commit, n = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4] == '1', tonumber(ARGV[5])
if redis.call('EXISTS', KEYS[1]) == 0 then return 'rebuild' end
if redis.call('ZSCORE', KEYS[7], id) then return 'finished' end
local raw = redis.call('HGET', KEYS[5], id)
if raw then
  local r = cjson.decode(raw)
  for i, f in ipairs(r.f) do redis.call('HINCRBY', KEYS[4], f, -r.q[i]) end
  redis.call('HDEL', KEYS[5], id)
  redis.call('ZREM', KEYS[6], id)
end
if commit then
  for i = 1, n do redis.call('HINCRBY', KEYS[3], ARGV[5 + 2*i - 1], tonumber(ARGV[5 + 2*i])) end
end
redis.call('ZADD', KEYS[7], now, id)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - keep)
return 'ok'
`

// limitsScript replaces the limits if their version (_gen, which an
// invalidation increments) is still the one read before they were asked.
// ARGV: at ms, plan (1 or 0), version, until ms (0: none), then (field,
// value) pairs.
const limitsScript = `
if (redis.call('HGET', KEYS[1], '_gen') or '0') ~= ARGV[3] then return 'moved' end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '_at', ARGV[1], '_plan', ARGV[2], '_gen', ARGV[3])
if ARGV[4] ~= '0' then redis.call('HSET', KEYS[1], '_until', ARGV[4]) end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 'ok'
`

// rebuildScript replaces the customer's keys (all but the limits) with
// the database's snapshot, if the lock is held with the token, and
// releases the lock.
// ARGV: token, nUsed, (feature, quantity)…, nLive, (id, json, expiry ms)…,
// nDone, (id, time ms)….
const rebuildScript = `
if redis.call('GET', KEYS[8]) ~= ARGV[1] then return redis.error_reply('rebuild lock lost') end
for i = 3, 7 do redis.call('DEL', KEYS[i]) end
local a = 2
local n = tonumber(ARGV[a])
for i = 1, n do redis.call('HSET', KEYS[3], ARGV[a + 2*i - 1], ARGV[a + 2*i]) end
a = a + 2*n + 1
n = tonumber(ARGV[a])
for i = 1, n do
  local id, raw, exp = ARGV[a + 3*i - 2], ARGV[a + 3*i - 1], ARGV[a + 3*i]
  local r = cjson.decode(raw)
  for j, f in ipairs(r.f) do redis.call('HINCRBY', KEYS[4], f, r.q[j]) end
  redis.call('HSET', KEYS[5], id, raw)
  redis.call('ZADD', KEYS[6], exp, id)
end
a = a + 3*n + 1
n = tonumber(ARGV[a])
for i = 1, n do redis.call('ZADD', KEYS[7], ARGV[a + 2*i], ARGV[a + 2*i - 1]) end
redis.call('SET', KEYS[1], '1')
redis.call('DEL', KEYS[8])
return 'ok'
`

// dropScript removes a reservation that never was answered (its intent is
// deleted): a pending entry a rebuild loaded, or a hold whose reply was
// lost.
// Without the customer's keys, a rebuild in progress (the lock is taken)
// may have loaded the entry: the caller waits for it; with no rebuild in
// progress, a later one reads the database after the intent's deletion,
// so there is nothing to drop.
// ARGV: id.
const dropScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  if redis.call('EXISTS', KEYS[8]) == 1 then return 'rebuild' end
  return 'ok'
end
local raw = redis.call('HGET', KEYS[5], ARGV[1])
if raw then
  local r = cjson.decode(raw)
  for i, f in ipairs(r.f) do redis.call('HINCRBY', KEYS[4], f, -r.q[i]) end
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('ZREM', KEYS[6], ARGV[1])
end
return 'ok'
`
