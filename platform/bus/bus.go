// Package bus carries events between services on Redis Streams. A producer
// appends a message to its topic's stream; each consumer group reads every
// message of the topic, shared among the group's consumers, with
// at-least-once delivery: a message is acknowledged only after its handler
// succeeds, so a handler may see a message more than once and must dedupe by
// the message ID (see package outbox's Seen).
//
// The same code runs on a real Redis server, on a Redis Cluster and on the
// in-process miniredis, which supports every command used here (XADD,
// XGROUP CREATE, XREADGROUP, XACK and XAUTOCLAIM). Each command touches one
// stream, the key of one topic, so none crosses hash slots on a cluster;
// PublishAll's pipeline is split by go-redis among the nodes that own the
// topics' streams.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Message is one event on a topic.
type Message struct {
	// ID is the event's globally unique id, chosen by the producer.
	// Consumers dedupe by it.
	ID string
	// Topic names the stream, for example "usage.recorded".
	Topic string
	// Key groups related events, for example a customer id.
	Key string
	// Payload is the encoded event.
	Payload []byte
	// Time is when the event happened.
	Time time.Time
}

// DefaultPrefix starts the Redis key of every topic's stream, unless
// Bus.Prefix says otherwise.
const DefaultPrefix = "mp:"

const (
	// maxLen is the approximate number of entries a stream keeps. Older
	// entries are trimmed even when a group has not read them yet.
	maxLen = 1_000_000
	// batch is the most entries read or claimed by one command.
	batch = 100
	// block is the longest wait for new entries, so that a consumer notices
	// the cancellation of its context within about this time.
	block = time.Second
)

// Bus publishes and consumes messages on Redis Streams. Set its fields
// before the first call; they are read by each call.
type Bus struct {
	rdb redis.UniversalClient

	// Prefix starts the Redis key of every topic's stream: the stream of
	// topic T is Prefix+T. Producers and consumers of a topic must agree on
	// it; tests that share a Redis Cluster give each test its own. Default
	// DefaultPrefix.
	Prefix string
	// ClaimIdle is how long an entry stays pending, delivered to a
	// consumer but not acknowledged, before another consumer of the group
	// claims it, presuming its consumer dead. Consumers look for such
	// entries when they start and every ClaimIdle/2. It should exceed the
	// longest handler run. Default 30 s.
	ClaimIdle time.Duration
	// Retry is how long a consumer waits before it handles again the
	// messages whose handler failed, and after a Redis error. Default 1 s.
	Retry time.Duration
	// Log receives handler failures and Redis errors. Default: discarded.
	Log *slog.Logger
}

// New returns a bus on rdb, for example the client embedded in a
// *redisx.Redis: one server or a cluster.
func New(rdb redis.UniversalClient) *Bus {
	return &Bus{rdb: rdb, Prefix: DefaultPrefix, ClaimIdle: 30 * time.Second, Retry: time.Second, Log: slog.New(slog.DiscardHandler)}
}

// Stream returns the Redis key of topic's stream.
func (b *Bus) Stream(topic string) string { return b.Prefix + topic }

// Publish appends m to its topic's stream.
func (b *Bus) Publish(ctx context.Context, m Message) error { return b.PublishAll(ctx, []Message{m}) }

// PublishAll appends messages to their topics' streams, in order, in one
// round trip.
func (b *Bus) PublishAll(ctx context.Context, msgs []Message) error {
	for _, m := range msgs {
		if m.Topic == "" || m.ID == "" {
			return errors.New("bus: publish: a message needs a topic and an id")
		}
	}
	_, err := b.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, m := range msgs {
			p.XAdd(ctx, &redis.XAddArgs{
				Stream: b.Stream(m.Topic),
				MaxLen: maxLen,
				Approx: true,
				Values: []any{"id", m.ID, "key", m.Key, "payload", m.Payload, "time", m.Time.UTC().Format(time.RFC3339Nano)},
			})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bus: XADD: %w", err)
	}
	return nil
}

// Consume reads topic as consumer in group, creating the group if needed
// (a new group starts at the beginning of the stream), and calls h for each
// message until ctx is done, then returns nil. A message is acknowledged
// when h returns nil; otherwise it stays pending and h gets it again after
// Bus.Retry, while newer messages go on being handled. Consume first
// re-delivers the messages left pending to this consumer by a previous run,
// and claims those left pending by a consumer that stopped for longer than
// Bus.ClaimIdle. Redis errors are logged and retried after Bus.Retry.
//
// Each running consumer of a group needs its own name; a stable name (such
// as the host name) lets a restarted consumer resume its pending messages
// at once instead of after ClaimIdle.
func (b *Bus) Consume(ctx context.Context, topic, group, consumer string, h func(context.Context, Message) error) error {
	if topic == "" || group == "" || consumer == "" {
		return errors.New("bus: consume: topic, group and consumer must be set")
	}
	stream := b.Stream(topic)
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &reader{
		b: b, topic: topic, stream: stream, group: group, consumer: consumer, h: h,
		log: log.With("stream", stream, "group", group, "consumer", consumer),
	}
	r.run(ctx)
	return nil
}

// reader is one running consumer.
type reader struct {
	b                              *Bus
	topic, stream, group, consumer string
	h                              func(context.Context, Message) error
	log                            *slog.Logger
}

// run is Consume's loop. Each turn does one thing: create the group,
// re-deliver this consumer's pending messages when a retry is due, claim
// idle messages of other consumers when a claim is due, or wait for new
// messages.
func (r *reader) run(ctx context.Context) {
	var (
		grouped bool
		retry   = true // re-deliver this consumer's pending messages first
		retryAt time.Time
		claimAt time.Time
	)
	for ctx.Err() == nil {
		var failed bool
		var err error
		now := time.Now()
		switch {
		case !grouped:
			err = r.createGroup(ctx)
			grouped = err == nil
		case retry && !now.Before(retryAt):
			retry = false
			failed, err = r.redeliver(ctx)
		case !now.Before(claimAt):
			claimAt = now.Add(r.b.ClaimIdle / 2)
			failed, err = r.claim(ctx)
		default:
			wait := min(block, claimAt.Sub(now))
			if retry {
				wait = min(wait, retryAt.Sub(now))
			}
			// BLOCK 0 would wait forever.
			failed, err = r.readNew(ctx, max(wait, time.Millisecond))
		}
		if err != nil && ctx.Err() == nil {
			r.log.WarnContext(ctx, "bus: consume", "err", err)
			if redis.HasErrorPrefix(err, "NOGROUP") {
				grouped = false // the stream or group was deleted; create it again
			}
		}
		if failed || err != nil {
			retry = true
			retryAt = time.Now().Add(r.b.Retry)
		}
		if err != nil {
			sleep(ctx, r.b.Retry)
		}
	}
}

func (r *reader) createGroup(ctx context.Context) error {
	err := r.b.rdb.XGroupCreateMkStream(ctx, r.stream, r.group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("XGROUP CREATE %s %s: %w", r.stream, r.group, err)
	}
	return nil
}

// redeliver handles again the messages pending for this consumer, oldest
// first, and reports whether a handler failed.
func (r *reader) redeliver(ctx context.Context) (failed bool, err error) {
	from := "0"
	for ctx.Err() == nil {
		streams, err := r.b.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: r.group, Consumer: r.consumer, Streams: []string{r.stream, from}, Count: batch, Block: -1,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return failed, fmt.Errorf("XREADGROUP %s %s %s: %w", r.stream, r.group, from, err)
		}
		msgs := entries(streams)
		if len(msgs) == 0 {
			return failed, nil
		}
		ok, err := r.handle(ctx, msgs)
		failed = failed || !ok
		if err != nil {
			return failed, err
		}
		from = msgs[len(msgs)-1].ID
	}
	return failed, nil
}

// claim takes over and handles the group's messages that have been pending
// for longer than ClaimIdle, and reports whether a handler failed.
func (r *reader) claim(ctx context.Context) (failed bool, err error) {
	start := "0-0"
	for ctx.Err() == nil {
		msgs, next, err := r.b.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: r.stream, Group: r.group, Consumer: r.consumer, MinIdle: r.b.ClaimIdle, Start: start, Count: batch,
		}).Result()
		if err != nil {
			return failed, fmt.Errorf("XAUTOCLAIM %s %s: %w", r.stream, r.group, err)
		}
		if len(msgs) > 0 {
			r.log.InfoContext(ctx, "bus: claimed idle messages", "count", len(msgs))
			ok, err := r.handle(ctx, msgs)
			failed = failed || !ok
			if err != nil {
				return failed, err
			}
		}
		if next == "0-0" {
			return failed, nil
		}
		start = next
	}
	return failed, nil
}

// readNew waits up to wait for messages never delivered to the group,
// handles them, and reports whether a handler failed.
func (r *reader) readNew(ctx context.Context, wait time.Duration) (failed bool, err error) {
	streams, err := r.b.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: r.group, Consumer: r.consumer, Streams: []string{r.stream, ">"}, Count: batch, Block: wait,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil // nothing came
	}
	if err != nil {
		return false, fmt.Errorf("XREADGROUP %s %s >: %w", r.stream, r.group, err)
	}
	ok, err := r.handle(ctx, entries(streams))
	return !ok, err
}

// handle calls the handler for each message and acknowledges those it
// accepts. It reports whether all were accepted; an error is a failed
// acknowledgement. It stops when ctx is done, leaving the rest pending.
func (r *reader) handle(ctx context.Context, msgs []redis.XMessage) (ok bool, err error) {
	ok = true
	for _, x := range msgs {
		if ctx.Err() != nil {
			return false, nil
		}
		m, err := decode(r.topic, x)
		if err != nil {
			// Retrying cannot help: drop it. A nil Values is an entry
			// trimmed or deleted from the stream while it was pending.
			r.log.ErrorContext(ctx, "bus: dropping undecodable entry", "entry", x.ID, "err", err)
		} else if err := r.h(ctx, m); err != nil {
			r.log.WarnContext(ctx, "bus: handler failed; will retry", "entry", x.ID, "id", m.ID, "err", err)
			ok = false
			continue
		}
		if err := r.b.rdb.XAck(ctx, r.stream, r.group, x.ID).Err(); err != nil {
			return false, fmt.Errorf("XACK %s %s %s: %w", r.stream, r.group, x.ID, err)
		}
	}
	return ok, nil
}

// entries returns the entries of the one stream read.
func entries(streams []redis.XStream) []redis.XMessage {
	if len(streams) == 0 {
		return nil
	}
	return streams[0].Messages
}

// decode turns a stream entry written by Publish back into a message.
func decode(topic string, x redis.XMessage) (Message, error) {
	if x.Values == nil {
		return Message{}, errors.New("entry no longer in the stream")
	}
	id, _ := x.Values["id"].(string)
	key, _ := x.Values["key"].(string)
	payload, _ := x.Values["payload"].(string)
	ts, _ := x.Values["time"].(string)
	if id == "" {
		return Message{}, errors.New("entry has no id")
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return Message{}, fmt.Errorf("entry time: %w", err)
	}
	return Message{ID: id, Topic: topic, Key: key, Payload: []byte(payload), Time: t}, nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
