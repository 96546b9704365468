// Package live keeps the quota service's admission state in Redis: per
// customer, its limits, used and reserved quantities, live reservations
// and their expiries, every key under one hash tag (the customer id) so
// that each operation is one atomic script that runs unchanged on Redis
// Cluster.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
)

// Live implements quota.Live on a Redis server or cluster.
type Live struct {
	rdb redis.UniversalClient
	// prefix starts every key: empty in production, a test's own on a
	// shared test cluster.
	prefix                                          string
	pipe                                            *pipeliner
	check, reserve, finish, drop, limits, rebuildSc *redis.Script
	counterScripts
}

var _ quota.Live = (*Live)(nil)

// New returns Live on rdb.
func New(rdb redis.UniversalClient) *Live {
	return &Live{rdb: rdb, pipe: newPipeliner(rdb), check: redis.NewScript(checkScript), reserve: redis.NewScript(reserveScript),
		finish: redis.NewScript(finishScript), drop: redis.NewScript(dropScript), limits: redis.NewScript(limitsScript), rebuildSc: redis.NewScript(rebuildScript),
		counterScripts: newCounterScripts()}
}

// WithPrefix returns l with every key starting with prefix, which must
// hold no hash tag.
func (l *Live) WithPrefix(prefix string) *Live {
	c := *l
	c.prefix = prefix
	return &c
}

// Keys returns the customer's keys in the scripts' order.
func (l *Live) Keys(customerID string) []string { return keys(l.prefix, customerID) }

// Keys returns the customer's keys in the scripts' order, without a
// prefix.
func Keys(customerID string) []string { return keys("", customerID) }

func keys(prefix, customerID string) []string {
	p := prefix + "mpq:{" + customerID + "}:"
	return []string{p + "ready", p + "limits", p + "used", p + "reserved", p + "res", p + "exp", p + "done", p + "lock",
		p + "counters", p + "seen"}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func itemArgs(args []any, items []quota.Item) []any {
	args = append(args, len(items))
	for _, it := range items {
		args = append(args, it.Feature, int64(it.Quantity))
	}
	return args
}

// perItem is how many integers a script answers per item.
const perItem = 9

// result reads a script's answer: status, then for an evaluation whether
// all items are admitted and perItem integers per item: reason, allowed,
// policy, limit, used, reserved, counter (1 or 0), the counter's period
// start and end (ms, 0 for none).
func result(v any, items []quota.Item) (quota.Result, quota.Outcome, error) {
	a, ok := v.([]any)
	if !ok || len(a) == 0 {
		return quota.Result{}, 0, fmt.Errorf("live: unexpected script answer %v", v)
	}
	switch a[0] {
	case "stale":
		return quota.Result{}, quota.Stale, nil
	case "rebuild":
		return quota.Result{}, quota.Rebuild, nil
	case "held":
		return quota.Result{Allowed: true}, quota.Held, nil
	case "finished":
		return quota.Result{}, quota.Finished, nil
	case "load":
		return loadAnswer(a[1:])
	}
	if len(a) != 2+perItem*len(items) {
		return quota.Result{}, 0, fmt.Errorf("live: script answered %d values for %d items", len(a), len(items))
	}
	res := quota.Result{Allowed: a[1] == int64(1), Items: make([]quota.ItemResult, len(items))}
	for i, it := range items {
		n := func(j int) int64 { x, _ := a[2+perItem*i+j].(int64); return x }
		res.Items[i] = quota.ItemResult{Item: it, Reason: quota.Reason(n(0)), Allowed: n(1) == 1,
			Policy: quota.Policy(n(2)), Limit: quota.Units(n(3)), Used: quota.Units(n(4)), Reserved: quota.Units(n(5))}
		if n(6) == 1 {
			res.Items[i].Counter, res.Items[i].Period = true, period(n(7), n(8))
		}
	}
	return res, quota.Done, nil
}

// Check implements quota.Live.
func (l *Live) Check(ctx context.Context, customerID string, items []quota.Item, now time.Time) (quota.Result, quota.Outcome, error) {
	v, err := l.pipe.run(ctx, l.check, l.Keys(customerID), itemArgs([]any{ms(now), quota.Freshness.Milliseconds()}, items)...).Result()
	if err != nil {
		return quota.Result{}, 0, failed("check", err)
	}
	return result(v, items)
}

// Reserve implements quota.Live.
func (l *Live) Reserve(ctx context.Context, customerID, id string, items []quota.Item, expire, now time.Time) (quota.Result, quota.Outcome, error) {
	v, err := l.pipe.run(ctx, l.reserve, l.Keys(customerID),
		itemArgs([]any{ms(now), quota.Freshness.Milliseconds(), id, ms(expire)}, items)...).Result()
	if err != nil {
		return quota.Result{}, 0, failed("reserve", err)
	}
	return result(v, items)
}

func (l *Live) runFinish(ctx context.Context, customerID, id string, commit bool, items []quota.Item, now time.Time) (quota.Outcome, error) {
	c := 0
	if commit {
		c = 1
	}
	v, err := l.pipe.run(ctx, l.finish, l.Keys(customerID), itemArgs([]any{ms(now), quota.DoneKeep.Milliseconds(), id, c}, items)...).Text()
	if err != nil {
		return 0, failed("finish", err)
	}
	switch v {
	case "rebuild":
		return quota.Rebuild, nil
	case "finished":
		return quota.Finished, nil
	}
	return quota.Done, nil
}

// Commit implements quota.Live.
func (l *Live) Commit(ctx context.Context, customerID, id string, items []quota.Item, now time.Time) (quota.Outcome, error) {
	return l.runFinish(ctx, customerID, id, true, items, now)
}

// Release implements quota.Live.
func (l *Live) Release(ctx context.Context, customerID, id string, now time.Time) (quota.Outcome, error) {
	return l.runFinish(ctx, customerID, id, false, nil, now)
}

// Drop implements quota.Live.
func (l *Live) Drop(ctx context.Context, customerID, id string) (quota.Outcome, error) {
	v, err := l.pipe.run(ctx, l.drop, l.Keys(customerID), id).Text()
	if err != nil {
		return 0, failed("drop", err)
	}
	if v == "rebuild" {
		return quota.Rebuild, nil
	}
	return quota.Done, nil
}

// LimitsVersion implements quota.Live.
func (l *Live) LimitsVersion(ctx context.Context, customerID string) (int64, error) {
	v, err := l.rdb.HGet(ctx, l.Keys(customerID)[1], "_gen").Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, failed("limits version", err)
	}
	return v, nil
}

// SetLimits implements quota.Live. The expiry is rounded up to the
// millisecond, so that limits are never asked again before the instant
// their answer said they change (which would only ask them again).
func (l *Live) SetLimits(ctx context.Context, customerID string, lim quota.Limits, at time.Time, version int64) error {
	plan := 0
	if lim.HasPlan {
		plan = 1
	}
	var until int64
	if !lim.ValidUntil.IsZero() {
		until = lim.ValidUntil.UnixMilli()
		if lim.ValidUntil.After(time.UnixMilli(until)) {
			until++
		}
	}
	args := []any{ms(at), plan, version, until}
	for f, x := range lim.ByFeature {
		args = append(args, "l:"+f, strconv.Itoa(int(x.Policy))+":"+strconv.FormatInt(int64(min(x.Limit, quota.MaxLimit)), 10))
		if x.Reset != quota.ResetUnset {
			args = append(args, "p:"+f, periodField(x.Period))
		}
	}
	if err := l.pipe.run(ctx, l.limits, l.Keys(customerID)[1:2], args...).Err(); err != nil {
		return failed("set limits", err)
	}
	return nil
}

// Invalidate implements quota.Live: one transaction on the limits key.
func (l *Live) Invalidate(ctx context.Context, customerID string) error {
	k := l.Keys(customerID)[1]
	_, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HIncrBy(ctx, k, "_gen", 1)
		p.HDel(ctx, k, "_at")
		return nil
	})
	if err != nil {
		return failed("invalidate limits", err)
	}
	return nil
}

// Ready implements quota.Live.
func (l *Live) Ready(ctx context.Context, customerID string) (bool, error) {
	n, err := l.rdb.Exists(ctx, l.Keys(customerID)[0]).Result()
	if err != nil {
		return false, failed("ready", err)
	}
	return n == 1, nil
}

// Lock implements quota.Live.
func (l *Live) Lock(ctx context.Context, customerID, token string, ttl time.Duration) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, l.Keys(customerID)[7], token, ttl).Result()
	if err != nil {
		return false, failed("lock", err)
	}
	return ok, nil
}

// entry is a reservation as the scripts hold it.
type entry struct {
	Pending int      `json:"p"`
	F       []string `json:"f"`
	Q       []int64  `json:"q"`
}

// Rebuild implements quota.Live. Reservations still pending in the
// database are loaded as pending entries: counted as reserved, and
// evaluated afresh if their own Reserve script runs after the rebuild.
func (l *Live) Rebuild(ctx context.Context, customerID, token string, s quota.Snapshot, now time.Time) error {
	args := []any{token, len(s.Used)}
	for f, q := range s.Used {
		args = append(args, f, int64(q))
	}
	args = append(args, len(s.Live))
	for _, r := range s.Live {
		e := entry{F: []string{}, Q: []int64{}}
		if r.Status == quota.StatusPending {
			e.Pending = 1
		}
		for _, it := range r.Items {
			e.F, e.Q = append(e.F, it.Feature), append(e.Q, int64(it.Quantity))
		}
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		args = append(args, r.ID, string(b), ms(r.ExpireTime))
	}
	args = append(args, len(s.Done))
	for _, id := range s.Done {
		args = append(args, id, ms(now))
	}
	if err := l.pipe.run(ctx, l.rebuildSc, l.Keys(customerID), args...).Err(); err != nil {
		return failed("rebuild", err)
	}
	return nil
}

// failed describes Redis' failure of op: a server that cannot be reached
// (or is loading, failing over, or closed) is errs.Unavailable, which the
// caller may retry, and quota fails closed; an error the server answered
// (a script's, say) is unexpected, so Internal.
func failed(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var reply redis.Error
	if errors.As(err, &reply) && !retryable(reply.Error()) {
		return fmt.Errorf("live: %s: %w", op, err)
	}
	return &errs.Error{Kind: errs.Unavailable, Message: "the quota store (Redis) is unavailable; retry later", Err: fmt.Errorf("live: %s: %w", op, err)}
}

// retryable reports whether a Redis error reply says the server is only
// passing through a state it will leave (loading, failover, resharding).
func retryable(msg string) bool {
	for _, p := range []string{"LOADING", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
