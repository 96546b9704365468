package metering

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/ids"
	"github.com/meterplane/meterplane/platform/money"
)

// Ingest stores events exactly once per customer and idempotency key. Each
// event gets a result; a bad event is rejected alone and nothing of it is
// stored. prefix names the events in field paths, for example "events".
// The error is for the batch as a whole: too many events, or a failure of
// the store, in which case nothing is stored.
func (s *Service) Ingest(ctx context.Context, prefix string, in []EventInput) ([]Result, error) {
	if len(in) > MaxBatch {
		return nil, errs.Field(prefix, "must hold at most %d events", MaxBatch)
	}
	now := s.clock.Now()
	results := make([]Result, len(in))
	events := make([]Event, len(in))
	meters := map[string]Meter{}
	var valid []int
	for i, e := range in {
		results[i] = Result{Index: i}
		field := func(name string) string { return fmt.Sprintf("%s[%d].%s", prefix, i, name) }
		if prefix == "event" {
			field = func(name string) string { return "event." + name }
		}
		ev, reason, f, msg := s.check(ctx, e, now, meters, field)
		if reason != 0 {
			results[i] = Result{Index: i, Status: Rejected, Reason: reason, Field: f, Message: msg}
			continue
		}
		events[i] = ev
		valid = append(valid, i)
	}
	for n, id := range newEventIDs(len(valid)) {
		events[valid[n]].ID = id
	}
	if err := s.checkCustomers(ctx, events, results, &valid, prefix); err != nil {
		return nil, err
	}

	// Within the batch, the first event of a key goes to the store; the
	// others are answered like it.
	firstOf := map[[2]string]int{}
	var batch []int
	dupOf := map[int]int{}
	for _, i := range valid {
		k := [2]string{events[i].CustomerID, events[i].Key}
		if j, ok := firstOf[k]; ok {
			dupOf[i] = j
			continue
		}
		firstOf[k] = i
		batch = append(batch, i)
	}
	if len(batch) > 0 {
		times := make([]time.Time, len(batch))
		for n, i := range batch {
			times[n] = events[i].Time
		}
		if err := s.store.Prepare(ctx, times); err != nil {
			return nil, err
		}
		err := s.store.InTx(ctx, func(ctx context.Context) error {
			toAdd := make([]Event, len(batch))
			for n, i := range batch {
				toAdd[n] = events[i]
			}
			// Usually every event is new: what they change besides
			// themselves is summed while the store adds them, from the
			// meters the checks read (the goroutine must not use the
			// transaction).
			summed := make(chan effects, 1)
			go func() { summed <- effectsOf(toAdd, meters) }()
			claims, err := s.store.AddEvents(ctx, toAdd, now)
			if err != nil {
				return err
			}
			accepted := make([]Event, 0, len(batch))
			for n, i := range batch {
				c := claims[n]
				switch {
				case c.New:
					results[i] = Result{Index: i, Status: Accepted, EventID: events[i].ID}
					accepted = append(accepted, events[i])
				case bytes.Equal(c.Hash, events[i].Hash):
					results[i] = Result{Index: i, Status: Duplicate, EventID: c.EventID}
				default:
					results[i] = conflict(i, prefix, c.EventID)
				}
			}
			fx := <-summed
			if len(accepted) < len(toAdd) {
				fx = effectsOf(accepted, meters)
			}
			return s.record(ctx, fx, now)
		})
		if err != nil {
			return nil, err
		}
	}
	for i, j := range dupOf {
		switch {
		case !bytes.Equal(events[i].Hash, events[j].Hash):
			results[i] = conflict(i, prefix, results[j].EventID)
		case results[j].Status == Rejected:
			results[i] = results[j]
			results[i].Index = i
		default:
			results[i] = Result{Index: i, Status: Duplicate, EventID: results[j].EventID}
		}
	}
	s.ingested.add(ctx, results)
	return results, nil
}

func conflict(i int, prefix, eventID string) Result {
	field := fmt.Sprintf("%s[%d].idempotency_key", prefix, i)
	if prefix == "event" {
		field = "event.idempotency_key"
	}
	return Result{Index: i, Status: Rejected, Reason: KeyConflict, Field: field,
		Message: fmt.Sprintf("idempotency key was used for event %s with a different payload", eventID)}
}

// check validates one event and completes it with its hash, or says
// why it is rejected.
func (s *Service) check(ctx context.Context, e EventInput, now time.Time, meters map[string]Meter, field func(string) string) (Event, Reason, string, string) {
	q, reason, f, msg := e.Validate(field)
	if reason != 0 {
		return Event{}, reason, f, msg
	}
	if e.Time.After(now.Add(MaxFuture)) {
		return Event{}, FutureTime, field("time"), fmt.Sprintf("is more than %v in the future", MaxFuture)
	}
	var err error
	m, ok := meters[e.Meter]
	if !ok {
		m, err = s.meter(ctx, e.Meter)
		if err != nil {
			return Event{}, UnknownMeter, field("meter_key"), fmt.Sprintf("no meter %q", e.Meter)
		}
		meters[e.Meter] = m
	}
	switch {
	case m.Aggregation.Gauge() && e.Subject == "":
		return Event{}, Invalid, field("subject"), "is required for a gauge: the level is a subject's"
	case m.Aggregation == UniqueCount && e.Subject == "":
		return Event{}, Invalid, field("subject"), "is required: the meter counts distinct subjects"
	case !m.Aggregation.Gauge() && e.Delta:
		return Event{}, Invalid, field("delta"), "is only for gauges"
	case q.IsNegative() && !e.Delta:
		return Event{}, NegativeQuantity, field("quantity"), "must not be negative"
	case m.FedByQuota && e.Source != QuotaSource:
		return Event{}, SourceNotAllowed, field("source"),
			fmt.Sprintf("meter %q is fed by the quota service: it takes events from source %q only", m.Key, QuotaSource)
	}
	ev := Event{CustomerID: e.CustomerID, Meter: e.Meter, Quantity: q, Time: e.Time.UTC().Truncate(time.Microsecond), Key: e.Key,
		Subject: e.Subject, Delta: e.Delta, Source: e.Source, Properties: e.Properties}
	ev.Hash = hashEvent(ev)
	return ev, 0, "", ""
}

// checkCustomers rejects events of unknown customers and of closed
// periods, removing them from valid.
func (s *Service) checkCustomers(ctx context.Context, events []Event, results []Result, valid *[]int, prefix string) error {
	var ids []string
	listed := map[string]bool{}
	for _, i := range *valid {
		if id := events[i].CustomerID; !listed[id] {
			listed[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	known, err := s.customers.Known(ctx, ids)
	if err != nil {
		return err
	}
	closed, err := s.store.ClosedBefore(ctx, ids)
	if err != nil {
		return err
	}
	field := func(i int, name string) string {
		if prefix == "event" {
			return "event." + name
		}
		return fmt.Sprintf("%s[%d].%s", prefix, i, name)
	}
	*valid = slices.DeleteFunc(*valid, func(i int) bool {
		e := events[i]
		switch {
		case !known[e.CustomerID]:
			results[i] = Result{Index: i, Status: Rejected, Reason: UnknownCustomer, Field: field(i, "customer_id"), Message: fmt.Sprintf("no customer %q", e.CustomerID)}
		case e.Time.Before(closed[e.CustomerID]):
			results[i] = Result{Index: i, Status: Rejected, Reason: LatePeriodClosed, Field: field(i, "time"),
				Message: fmt.Sprintf("usage before %s is invoiced and closed", closed[e.CustomerID].Format(time.RFC3339))}
		default:
			return false
		}
		return true
	})
	return nil
}

// hashEvent fingerprints an event's payload: everything but its id, each
// field as its 8-byte big-endian length and its bytes.
func hashEvent(e Event) []byte {
	b := make([]byte, 0, 256)
	write := func(s string) {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	write(e.CustomerID)
	write(e.Meter)
	write(e.Quantity.String())
	write(e.Time.Format(time.RFC3339Nano))
	write(e.Key)
	write(e.Subject)
	write(strconv.FormatBool(e.Delta))
	write(e.Source)
	keys := make([]string, 0, len(e.Properties))
	for k := range e.Properties {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		write(k)
		write(e.Properties[k])
	}
	h := sha256.Sum256(b)
	return h[:]
}

// effects is what accepted events change besides being stored: the
// batch's hourly aggregates of counters, the sources seen on each day, and
// the gauge events, whose levels depend on the points stored before them.
type effects struct {
	rollups []RollupDelta
	sources []SourceDay
	gauges  []Event
}

// effectsOf sums what accepted events change, without storing anything;
// meters holds the meter of every event.
func effectsOf(accepted []Event, meters map[string]Meter) effects {
	type group struct {
		customer, meter, subject string
		hour                     time.Time
	}
	var fx effects
	rollups := map[group]int{}
	noted := map[SourceDay]bool{}
	for _, e := range accepted {
		if e.Source != "" {
			// Event times are UTC, so equal days are equal keys.
			sd := SourceDay{CustomerID: e.CustomerID, Source: e.Source, Day: e.Time.Truncate(24 * time.Hour)}
			if !noted[sd] {
				noted[sd] = true
				fx.sources = append(fx.sources, sd)
			}
		}
		if meters[e.Meter].Aggregation.Gauge() {
			fx.gauges = append(fx.gauges, e)
			continue
		}
		one := Rollup{Hour: e.Time.Truncate(time.Hour), Subject: e.Subject, Total: e.Quantity, Count: 1, Max: e.Quantity,
			LatestTime: e.Time, Latest: e.Quantity}
		g := group{e.CustomerID, e.Meter, e.Subject, one.Hour}
		if i, ok := rollups[g]; ok {
			fx.rollups[i].Merge(one)
		} else {
			rollups[g] = len(fx.rollups)
			fx.rollups = append(fx.rollups, RollupDelta{CustomerID: e.CustomerID, Meter: e.Meter, Rollup: one})
		}
	}
	return fx
}

// record stores the effects of events just added: the hourly aggregates,
// pending until a fold adds them to the rollups; the sources seen; and
// gauge levels and their usage.recorded events.
func (s *Service) record(ctx context.Context, fx effects, now time.Time) error {
	if len(fx.rollups) > 0 {
		if err := s.store.AddPending(ctx, ids.New("bat"), fx.rollups); err != nil {
			return err
		}
	}
	if err := s.store.NoteSources(ctx, fx.sources); err != nil {
		return err
	}
	out := make([]Outgoing, 0, len(fx.gauges))
	for _, e := range fx.gauges {
		level, err := s.applyGauge(ctx, e)
		if err != nil {
			return err
		}
		msg, err := s.recorded(ctx, e.CustomerID, e.Meter, RecordedEvent{Hour: e.Time.Truncate(time.Hour), Quantity: e.Quantity.String(), Count: 1, Subject: e.Subject, Level: level.String()})
		if err != nil {
			return err
		}
		out = append(out, msg)
	}
	return s.store.Publish(ctx, TopicRecorded, out, now)
}

// Merge adds the aggregate o of the same hour (or day) to r.
func (r *Rollup) Merge(o Rollup) {
	r.Total = r.Total.Add(o.Total)
	r.Count += o.Count
	if o.Max.GreaterThan(r.Max) {
		r.Max = o.Max
	}
	if !o.LatestTime.Before(r.LatestTime) {
		r.LatestTime, r.Latest = o.LatestTime, o.Latest
	}
}

// newEventIDs returns n new event ids (n ≤ 65,536) in the form of
// ids.New("evt"): one UUIDv7 whose last two bytes, random in a plain
// UUIDv7, count the events, a counter RFC 9562 (section 6.2) allows, so a
// batch reads randomness once (a measured speed choice of ingestion:
// docs/benchmarks.md).
func newEventIDs(n int) []string {
	u := uuid.Must(uuid.NewV7())
	ids := make([]string, n)
	for i := range ids {
		binary.BigEndian.PutUint16(u[14:], uint16(i))
		ids[i] = "evt_" + hex.EncodeToString(u[:])
	}
	return ids
}

// recorded completes and encodes a usage.recorded event.
func (s *Service) recorded(ctx context.Context, customerID, meterKey string, ev RecordedEvent) (Outgoing, error) {
	m, err := s.meter(ctx, meterKey)
	if err != nil {
		return Outgoing{}, err
	}
	ev.CustomerID, ev.MeterKey, ev.FeatureKey = customerID, m.Key, m.Feature
	ev.Aggregation = "AGGREGATION_" + strings.ToUpper(m.Aggregation.String())
	payload, err := json.Marshal(ev)
	return Outgoing{Key: customerID, Payload: payload}, err
}

// applyGauge inserts a gauge event as a point of its subject and updates
// the levels it changes; it returns the subject's level at the event.
func (s *Service) applyGauge(ctx context.Context, e Event) (money.Decimal, error) {
	run, err := s.store.GaugeRun(ctx, e.CustomerID, e.Meter, e.Subject, e.Time)
	if err != nil {
		return money.Decimal{}, err
	}
	p := GaugePoint{Subject: e.Subject, Time: e.Time, EventID: e.ID, Value: e.Quantity, Delta: e.Delta}
	at, _ := slices.BinarySearchFunc(run, p, comparePoints)
	run = slices.Insert(run, at, p)
	var update []GaugePoint
	var newPoint GaugePoint
	level := money.Decimal{}
	for i := range run {
		if run[i].Delta {
			level = level.Add(run[i].Value)
		} else {
			level = run[i].Value
		}
		switch {
		case i == at:
			run[i].Level = level
			newPoint = run[i]
		case !run[i].Level.Equal(level):
			run[i].Level = level
			update = append(update, run[i])
		}
	}
	if err := s.store.PutGaugePoints(ctx, e.CustomerID, e.Meter, []GaugePoint{newPoint}, update); err != nil {
		return money.Decimal{}, err
	}
	return newPoint.Level, nil
}

func comparePoints(a, b GaugePoint) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.EventID, b.EventID)
}
