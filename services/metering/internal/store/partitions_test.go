package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/metering/internal/store"
	"github.com/meterplane/meterplane/services/metering/migrations"
)

// TestConcurrentPartitions has several stores (as several replicas would)
// create the partitions of new months at once on PostgreSQL: every one
// succeeds, whether PostgreSQL reports the race as "already exists" or as
// a unique violation on pg_type.
func TestConcurrentPartitions(t *testing.T) {
	t.Parallel()
	db := storagetest.Postgres(t, "metering", migrations.FS)
	const creators = 8
	for m := range 12 {
		month := time.Date(2031, time.Month(1+m), 1, 0, 0, 0, 0, time.UTC)
		start := make(chan struct{})
		errs := make(chan error, creators)
		var wg sync.WaitGroup
		for range creators {
			st := store.New(db) // its own cache of the partitions it made
			wg.Go(func() {
				<-start
				errs <- st.Prepare(t.Context(), []time.Time{month.Add(time.Hour)})
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", month.Format("2006-01"), err)
			}
		}
	}
}

// TestPartitionOutsideTransaction checks that a partition created while
// the caller's transaction is open stays when that transaction rolls back.
func TestPartitionOutsideTransaction(t *testing.T) {
	t.Parallel()
	db := storagetest.Postgres(t, "metering", migrations.FS)
	st := store.New(db)
	rollback := errors.New("roll back")
	err := st.InTx(t.Context(), func(ctx context.Context) error {
		if err := st.Prepare(ctx, []time.Time{time.Date(2032, 3, 4, 0, 0, 0, 0, time.UTC)}); err != nil {
			return err
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	var n int64
	if err := db.Conn(t.Context()).Raw("SELECT COUNT(*) FROM pg_class WHERE relname = 'events_2032_03'").Scan(&n).Error; err != nil || n != 1 {
		t.Errorf("partition after the caller's rollback: %d, %v; want it to exist", n, err)
	}
}
