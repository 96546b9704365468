package metering

import (
	"context"
	"time"
)

// FoldInterval is how often the fold worker folds pending batches of
// counter aggregates into the rollups (and publishes usage.recorded) when
// fewer than a fold's load are waiting. Queries fold what is pending
// first, so they never wait for it.
const FoldInterval = time.Second

// FoldWorker folds pending batches until ctx is done: at once after a
// fold that found a full load, else every FoldInterval. A failed fold is
// logged and retried at the next interval; a bad batch never fails it
// (see Fold).
func (s *Service) FoldWorker(ctx context.Context) error {
	s.FoldEvery(ctx, FoldInterval, func(err error) {
		s.log.ErrorContext(ctx, "metering: fold pending rollups; will retry", "err", err)
	})
	return nil
}

// FoldEvery folds pending batches until ctx is done: at once after a fold
// that found a full load, else every interval. A failed fold is passed to
// fail and retried at the next interval.
func (s *Service) FoldEvery(ctx context.Context, interval time.Duration, fail func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := s.Fold(ctx, false)
		if err != nil && ctx.Err() == nil {
			fail(err)
		}
		if n == foldBatches {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PartitionWorker returns the worker that creates the event partitions of
// this month and the next ahead of time, and drops those older than
// retention months (never, if 0), hourly, until ctx is done.
func (s *Service) PartitionWorker(retention int) func(context.Context) error {
	return func(ctx context.Context) error {
		tick := time.NewTicker(time.Hour)
		defer tick.Stop()
		for {
			s.KeepPartitions(ctx, retention)
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}
}

// KeepPartitions creates the event partitions of this month and the next
// and drops those older than retention months (none, if 0), logging what
// fails.
func (s *Service) KeepPartitions(ctx context.Context, retention int) {
	now := s.clock.Now()
	if err := s.store.Prepare(ctx, []time.Time{now, now.AddDate(0, 1, 0)}); err != nil {
		s.log.WarnContext(ctx, "metering: create event partitions", "err", err)
	}
	if retention == 0 {
		return
	}
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	dropped, err := s.store.DropPartitionsBefore(ctx, month.AddDate(0, -retention, 0))
	if err != nil {
		s.log.WarnContext(ctx, "metering: drop old event partitions", "err", err)
	}
	for _, name := range dropped {
		s.log.InfoContext(ctx, "metering: dropped event partition past the retention", "partition", name)
	}
}
