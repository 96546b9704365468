package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
	"github.com/meterplane/meterplane/services/quota/internal/quota"
	"github.com/meterplane/meterplane/services/quota/internal/store"
	"github.com/meterplane/meterplane/services/quota/migrations"
)

// TestGroupTransactions: concurrent callers' transactions share group
// transactions, yet each caller gets its own outcome: a duplicate request
// id or a failing caller fails alone, everyone else's work is committed
// when their call returns, and the failing caller's is not.
func TestGroupTransactions(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "quota", migrations.FS, func(t *testing.T, db *storage.DB) {
		st := store.New(db)
		ctx := t.Context()
		now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
		intent := func(i int, request string) quota.Reservation {
			return quota.Reservation{ID: fmt.Sprint("res_", i), CustomerID: "cus_1", Key: request, Status: quota.StatusPending,
				Items: []quota.Item{{Feature: "sites", Quantity: 1000}}, ExpireTime: now.Add(time.Minute), CreateTime: now, UpdateTime: now}
		}
		errBoom := errors.New("boom")
		const n = 40
		errsOf := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errsOf[i] = st.InTx(ctx, func(ctx context.Context) error {
					request := fmt.Sprint("req-", i)
					if i == 7 {
						request = "req-3" // a duplicate of caller 3's
					}
					if err := st.AddIntent(ctx, intent(i, request)); err != nil {
						return err
					}
					if i == 11 {
						return errBoom // after its insert: it must roll back
					}
					_, err := st.MarkHeld(ctx, fmt.Sprint("res_", i), now) // nested: joins the transaction
					return err
				})
			})
		}
		wg.Wait()
		for i, err := range errsOf {
			var want error
			switch i {
			case 11:
				want = errBoom
			case 7, 3: // one of the two wins
				if errors.Is(err, quota.ErrDuplicateKey) {
					want = quota.ErrDuplicateKey
				}
			}
			if !errors.Is(err, want) {
				t.Errorf("caller %d: got %v, want %v", i, err, want)
			}
		}
		if (errsOf[3] == nil) == (errsOf[7] == nil) {
			t.Errorf("callers 3 and 7 share a request id: got %v and %v, want exactly one duplicate", errsOf[3], errsOf[7])
		}
		for i := range n {
			r, err := st.Reservation(ctx, fmt.Sprint("res_", i))
			lost := i == 11 || (i == 3 && errsOf[3] != nil) || (i == 7 && errsOf[7] != nil)
			switch {
			case lost && err == nil:
				t.Errorf("reservation %d is stored although its call failed", i)
			case !lost && (err != nil || r.Status != quota.StatusHeld):
				t.Errorf("reservation %d: got %v, %v; want it held", i, r, err)
			}
		}
	})
}

// TestBatchedIntents: intents and held marks written outside a
// transaction by concurrent callers share statements, yet each caller
// learns its own outcome: of callers sharing a request id exactly one
// inserts, and a reservation is marked held once.
func TestBatchedIntents(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, "quota", migrations.FS, func(t *testing.T, db *storage.DB) {
		st := store.New(db)
		ctx := t.Context()
		now := time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)
		const n = 60
		errsOf := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				request := fmt.Sprint("req-", i%20) // three callers per request id
				errsOf[i] = st.AddIntent(ctx, quota.Reservation{ID: fmt.Sprint("res_", i), CustomerID: "cus_1", Key: request,
					Status: quota.StatusPending, Items: []quota.Item{{Feature: "sites", Quantity: 1000}},
					ExpireTime: now.Add(time.Minute), CreateTime: now, UpdateTime: now})
			})
		}
		wg.Wait()
		winners := map[int]int{}
		for i, err := range errsOf {
			switch {
			case err == nil:
				winners[i%20]++
			case !errors.Is(err, quota.ErrDuplicateKey):
				t.Errorf("caller %d: %v", i, err)
			}
		}
		for r := range 20 {
			if winners[r] != 1 {
				t.Errorf("request id req-%d: %d callers inserted, want 1", r, winners[r])
			}
		}
		heldOf := make([]bool, n)
		for i := range n {
			wg.Go(func() {
				var err error
				if heldOf[i], err = st.MarkHeld(ctx, fmt.Sprint("res_", i%30), now); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for id := range 30 {
			marks := 0
			for i := id; i < n; i += 30 {
				if heldOf[i] {
					marks++
				}
			}
			want := 0
			if errsOf[id] == nil {
				want = 1
			}
			if marks != want {
				t.Errorf("res_%d marked held %d times, want %d", id, marks, want)
			}
			if r, found, err := st.ByKey(ctx, "cus_1", fmt.Sprint("req-", id%20)); err != nil || !found || (r.ID == fmt.Sprint("res_", id)) != (errsOf[id] == nil) {
				t.Errorf("req-%d: %v, %v, %v", id%20, r, found, err)
			}
		}
	})
}
