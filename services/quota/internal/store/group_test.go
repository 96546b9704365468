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
			return quota.Reservation{ID: fmt.Sprint("res_", i), CustomerID: "cus_1", RequestID: request, Status: quota.StatusPending,
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
				if errors.Is(err, quota.ErrDuplicateRequest) {
					want = quota.ErrDuplicateRequest
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
