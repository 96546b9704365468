package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/meterplane/meterplane/platform/bus"
	"github.com/meterplane/meterplane/platform/storage"
)

// batch is the most events one round publishes.
const batch = 500

// Relay publishes the committed events of a database's outbox to the bus,
// oldest first, and deletes them. Several relays may run on one PostgreSQL
// database: each round locks the rows it publishes and skips those another
// relay has locked. Events are not ordered across rounds run concurrently.
type Relay struct {
	db   *storage.DB
	bus  *bus.Bus
	log  *slog.Logger
	kick chan struct{}
	// published counts the events published, by topic; lag records the
	// age of each round's oldest event when it was published.
	published metric.Int64Counter
	lag       metric.Float64Histogram

	// Poll is how long Run waits after a round that found no event, unless
	// Kick is called. Default 100 ms.
	Poll time.Duration
	// Retry is how long Run waits after a round that failed. Default 1 s.
	Retry time.Duration
}

// NewRelay returns a relay from db's outbox to b. Set its fields before
// Run.
func NewRelay(db *storage.DB, b *bus.Bus, log *slog.Logger) *Relay {
	r := &Relay{db: db, bus: b, log: log, kick: make(chan struct{}, 1), Poll: 100 * time.Millisecond, Retry: time.Second}
	// The instruments cannot fail with the SDK's meter; if one did, the
	// relay would go on without it.
	meter := otel.Meter("github.com/meterplane/meterplane/platform/outbox")
	r.published, _ = meter.Int64Counter("meterplane.outbox.published",
		metric.WithDescription("Events the outbox relays published to the bus, by topic."), metric.WithUnit("{event}"))
	r.lag, _ = meter.Float64Histogram("meterplane.outbox.relay.lag",
		metric.WithDescription("Age of the oldest event of each relay round when it was published: how far the relay is behind."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
	return r
}

// Kick wakes Run if it is waiting for events; it never blocks. Call it
// after committing a transaction that added events, to publish them at
// once instead of after Poll.
func (r *Relay) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run publishes events until ctx is done, then returns nil. A failed round
// is logged and retried after Retry.
func (r *Relay) Run(ctx context.Context) error {
	for {
		n, err := r.Once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case err != nil:
			r.log.ErrorContext(ctx, "outbox relay: round failed; will retry", "err", err)
			if !wait(ctx, r.Retry, nil) {
				return nil
			}
		case n == 0:
			if !wait(ctx, r.Poll, r.kick) {
				return nil
			}
		}
	}
}

// row is one outbox event.
type row struct {
	ID        int64
	EventID   string
	Topic     string
	Key       string
	Payload   []byte
	CreatedAt time.Time
}

// Once runs one round: in one transaction, it selects up to 500 of the
// oldest events, publishes them, and deletes them. It returns how many it
// published. If publishing fails, the transaction rolls back, so the events
// stay in the outbox, possibly some of them already published. If ctx
// carries a transaction of the relay's database, the round joins it.
func (r *Relay) Once(ctx context.Context) (int, error) {
	q := "SELECT id, event_id, topic, key, payload, created_at FROM outbox ORDER BY id LIMIT ?"
	if r.db.Dialect() == storage.Postgres {
		q += " FOR UPDATE SKIP LOCKED"
	}
	var n int
	err := r.db.InTx(ctx, func(ctx context.Context) error {
		var rows []row
		if err := r.db.Conn(ctx).Raw(q, batch).Scan(&rows).Error; err != nil {
			return fmt.Errorf("outbox: select events: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		ids := make([]int64, len(rows))
		msgs := make([]bus.Message, len(rows))
		for i, e := range rows {
			msgs[i] = bus.Message{ID: e.EventID, Topic: e.Topic, Key: e.Key, Payload: e.Payload, Time: e.CreatedAt}
			ids[i] = e.ID
		}
		if err := r.bus.PublishAll(ctx, msgs); err != nil {
			return fmt.Errorf("outbox: publish events: %w", err)
		}
		if err := r.db.Conn(ctx).Exec("DELETE FROM outbox WHERE id IN ?", ids).Error; err != nil {
			return fmt.Errorf("outbox: delete published events: %w", err)
		}
		n = len(rows)
		r.observe(ctx, rows)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// observe records a published round in the metrics. (A round that then
// fails to commit is published, possibly again later, too.)
func (r *Relay) observe(ctx context.Context, rows []row) {
	if r.published == nil || r.lag == nil {
		return
	}
	r.lag.Record(ctx, time.Since(rows[0].CreatedAt).Seconds())
	byTopic := map[string]int64{}
	for _, e := range rows {
		byTopic[e.Topic]++
	}
	for topic, n := range byTopic {
		r.published.Add(ctx, n, metric.WithAttributes(attribute.String("topic", topic)))
	}
}

// wait waits for d, a value on kick, or the end of ctx, and reports
// whether ctx is still live.
func wait(ctx context.Context, d time.Duration, kick <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-kick:
	}
	return true
}
