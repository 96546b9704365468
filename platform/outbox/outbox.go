// Package outbox publishes a service's events exactly when its transaction
// commits. A service writes each event with Add in the transaction that
// changes its state; a Relay later publishes the committed events to the
// bus and deletes them. Publication is at-least-once: a relay that stops
// between publishing and committing publishes again, so consumers dedupe
// with Seen, in the transaction that applies the event's effect.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/meterplane/meterplane/platform/storage"
)

// Add records an event to publish on topic and returns its new, random
// event id. It writes through db.Conn(ctx), so it joins the transaction ctx
// carries: the event is published only if that transaction commits.
func Add(ctx context.Context, db *storage.DB, topic, key string, payload []byte, at time.Time) (eventID string, err error) {
	ids, err := AddAll(ctx, db, []Message{{Topic: topic, Key: key, Payload: payload}}, at)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// Message is an event to publish.
type Message struct {
	Topic   string
	Key     string
	Payload []byte
}

// AddAll records events like Add, in few statements, and returns their
// event ids in order.
func AddAll(ctx context.Context, db *storage.DB, msgs []Message, at time.Time) ([]string, error) {
	const rowsPerInsert = 1000
	ids := make([]string, len(msgs))
	for start := 0; start < len(msgs); start += rowsPerInsert {
		chunk := msgs[start:min(start+rowsPerInsert, len(msgs))]
		var sql strings.Builder
		sql.WriteString("INSERT INTO outbox (event_id, topic, key, payload, created_at) VALUES ")
		args := make([]any, 0, 5*len(chunk))
		for i, m := range chunk {
			if m.Topic == "" {
				return nil, errors.New("outbox: add: empty topic")
			}
			if m.Payload == nil {
				m.Payload = []byte{}
			}
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString("(?, ?, ?, ?, ?)")
			ids[start+i] = uuid.NewString()
			args = append(args, ids[start+i], m.Topic, m.Key, m.Payload, at.UTC())
		}
		if err := db.Conn(ctx).Exec(sql.String(), args...).Error; err != nil {
			return nil, fmt.Errorf("outbox: insert events: %w", err)
		}
	}
	return ids, nil
}

// Seen records that consumer has received the event eventID and reports
// whether it had already. It writes through db.Conn(ctx): called in the
// transaction that applies the event's effect, with the effect skipped when
// it reports true, each event's effect is applied once however often the
// event is delivered. A concurrent transaction recording the same event
// waits for this one and then reports true if this one commits.
func Seen(ctx context.Context, db *storage.DB, consumer, eventID string, at time.Time) (bool, error) {
	// ON CONFLICT DO NOTHING rather than a failing INSERT, which would abort
	// the caller's PostgreSQL transaction.
	res := db.Conn(ctx).Exec("INSERT INTO inbox (consumer, event_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		consumer, eventID, at.UTC())
	if res.Error != nil {
		return false, fmt.Errorf("outbox: insert into inbox: %w", res.Error)
	}
	return res.RowsAffected == 0, nil
}
