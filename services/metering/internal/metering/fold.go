package metering

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/meterplane/meterplane/platform/errs"
	"github.com/meterplane/meterplane/platform/money"
	"github.com/meterplane/meterplane/platform/page"
)

// foldBatches is the most ingested batches one fold takes.
const foldBatches = 500

// Fold takes pending batches of counter aggregates, merges them, adds them
// to the rollups and writes one usage.recorded per customer, meter and hour
// they touch, all in one transaction, so every batch is added and announced
// exactly once. It returns how many batches it took. Unless wait is set,
// it skips batches a concurrent fold holds; with wait, it waits for that
// fold, so that every batch committed before the call is in the rollups
// when it returns (if fewer than foldBatches were pending).
//
// One bad batch never blocks the others: a batch that cannot be read is
// quarantined as it is taken, and when folding a set of batches fails
// because of what a batch holds, they are folded one by one and the batch
// that fails alone is quarantined (see Service.quarantine).
func (s *Service) Fold(ctx context.Context, wait bool) (int, error) {
	n, _, err := s.foldSome(ctx, foldBatches, wait)
	if err == nil || !errors.Is(err, ErrBadBatch) && !errs.Is(err, errs.NotFound) {
		return n, err
	}
	// Isolate the bad batch: fold one by one, as many as were taken.
	folded := 0
	for range foldBatches {
		n, id, err := s.foldSome(ctx, 1, wait)
		switch {
		case err != nil && id != "" && (errors.Is(err, ErrBadBatch) || errs.Is(err, errs.NotFound)):
			q := Quarantined{BatchID: id, Error: err.Error(), Time: s.clock.Now()}
			if err := s.store.Quarantine(ctx, id, q.Error, q.Time); err != nil {
				return folded, err
			}
			s.quarantined(ctx, q)
			folded++
		case err != nil:
			return folded, err
		case n == 0:
			return folded, nil
		default:
			folded += n
		}
	}
	return folded, nil
}

// foldSome folds up to limit batches in one transaction and returns how
// many it took, and the id of the last one it read (to quarantine it when
// it was the only one and failed).
func (s *Service) foldSome(ctx context.Context, limit int, wait bool) (int, string, error) {
	var taken Taken
	err := s.store.InTx(ctx, func(ctx context.Context) error {
		var err error
		taken, err = s.store.TakePending(ctx, limit, wait, s.clock.Now())
		if err != nil || len(taken.IDs) == 0 {
			return err
		}
		deltas := mergeDeltas(taken.Deltas)
		if err := s.store.AddRollups(ctx, deltas); err != nil {
			return err
		}
		out, err := s.recordedHours(ctx, deltas)
		if err != nil {
			return err
		}
		return s.store.Publish(ctx, TopicRecorded, out, s.clock.Now())
	})
	last := ""
	if len(taken.IDs) > 0 {
		last = taken.IDs[len(taken.IDs)-1]
	}
	if err != nil {
		return 0, last, err
	}
	for _, q := range taken.Bad {
		s.quarantined(ctx, q)
	}
	return len(taken.IDs) + len(taken.Bad), last, nil
}

// quarantined reports a batch moved aside: in the log, with its id, and
// in the metering.fold.quarantined_batches counter.
func (s *Service) quarantined(ctx context.Context, q Quarantined) {
	s.log.ErrorContext(ctx, "metering: quarantined a batch of pending rollups that cannot be folded; the others fold on",
		"batch_id", q.BatchID, "err", q.Error)
	s.quarantineCount.Add(ctx, 1)
}

// ListQuarantined lists the quarantined batches by id.
func (s *Service) ListQuarantined(ctx context.Context, pr page.Request) (page.Page[Quarantined], error) {
	var v errs.Violations
	pr.Check(&v)
	if err := v.Err(); err != nil {
		return page.Page[Quarantined]{}, err
	}
	after, limit := pr.Cursor()
	qs, err := s.store.ListQuarantined(ctx, after, limit+1)
	if err != nil {
		return page.Page[Quarantined]{}, err
	}
	return page.New(qs, limit, func(q Quarantined) string { return q.BatchID }), nil
}

// settle folds every batch committed before the call, so that the rollups
// hold all accepted usage.
func (s *Service) settle(ctx context.Context) error {
	for {
		pending, err := s.store.HasPending(ctx)
		if err != nil || !pending {
			return err
		}
		if n, err := s.Fold(ctx, true); err != nil || n < foldBatches {
			return err
		}
	}
}

// mergeDeltas merges the aggregates of one customer, meter, hour and
// subject, and sorts them by those: one order for every writer, so that
// concurrent folds do not deadlock on rollup rows.
func mergeDeltas(ds []RollupDelta) []RollupDelta {
	type group struct {
		customer, meter, subject string
		hour                     int64
	}
	at := make(map[group]int, len(ds))
	out := ds[:0:0]
	for _, d := range ds {
		g := group{d.CustomerID, d.Meter, d.Subject, d.Hour.Unix()}
		if i, ok := at[g]; ok {
			out[i].Merge(d.Rollup)
			continue
		}
		at[g] = len(out)
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b RollupDelta) int {
		return cmp.Or(strings.Compare(a.CustomerID, b.CustomerID), strings.Compare(a.Meter, b.Meter),
			a.Hour.Compare(b.Hour), strings.Compare(a.Subject, b.Subject))
	})
	return out
}

// recordedHours makes one usage.recorded per customer, meter and hour of
// sorted deltas, summing their subjects.
func (s *Service) recordedHours(ctx context.Context, deltas []RollupDelta) ([]Outgoing, error) {
	var out []Outgoing
	for i := 0; i < len(deltas); {
		d := deltas[i]
		ev := RecordedEvent{Hour: d.Hour}
		total := money.Decimal{}
		for ; i < len(deltas) && deltas[i].CustomerID == d.CustomerID && deltas[i].Meter == d.Meter && deltas[i].Hour.Equal(d.Hour); i++ {
			total = total.Add(deltas[i].Total)
			ev.Count += deltas[i].Count
		}
		ev.Quantity = total.String()
		msg, err := s.recorded(ctx, d.CustomerID, d.Meter, ev)
		if err != nil {
			return nil, err
		}
		out = append(out, msg)
	}
	return out, nil
}
