package coalesce_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meterplane/meterplane/services/quota/internal/coalesce"
)

type op struct{ in, out int }

// TestBatcher: every operation runs exactly once and its caller returns
// after its batch; concurrent callers share batches, and no more than
// Max batches run at once.
func TestBatcher(t *testing.T) {
	var running, most, batches atomic.Int64
	b := &coalesce.Batcher[op]{Max: 2, Exec: func(ops []*op) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		batches.Add(1)
		time.Sleep(time.Millisecond)
		for _, o := range ops {
			o.out += o.in * 2
		}
		running.Add(-1)
	}}
	const callers = 500
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			o := &op{in: i}
			b.Do(o)
			if o.out != 2*i {
				t.Errorf("op %d: out %d, want %d", i, o.out, 2*i)
			}
		})
	}
	wg.Wait()
	if most.Load() > 2 {
		t.Errorf("%d batches ran at once, want at most 2", most.Load())
	}
	if batches.Load() >= callers {
		t.Errorf("%d batches for %d concurrent callers: none shared", batches.Load(), callers)
	}
}
