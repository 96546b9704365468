// Package coalesce runs the operations of concurrent callers together:
// one Redis pipeline, one SQL statement or one transaction for many calls
// instead of one each, which is most of a short call's cost.
package coalesce

import "sync"

// Batcher runs operations in batches, at most Max batches at once. Below
// Max an operation's batch starts at once, with the operation alone;
// above it operations queue, and the next batch takes all that queued.
// Exec runs one batch and records each operation's outcome in it.
type Batcher[T any] struct {
	Max  int
	Exec func(ops []*T)

	mu      sync.Mutex
	queue   []*T
	dones   []chan struct{}
	running int
}

// Submit queues op and returns a channel closed when its batch has run.
// A caller that starts a batch runs it before Submit returns.
func (b *Batcher[T]) Submit(op *T) <-chan struct{} {
	done := make(chan struct{})
	b.mu.Lock()
	b.queue = append(b.queue, op)
	b.dones = append(b.dones, done)
	lead := b.running < b.Max
	if lead {
		b.running++
	}
	b.mu.Unlock()
	if lead {
		b.flush()
	}
	return done
}

// Do runs op in a batch and returns when the batch has run.
func (b *Batcher[T]) Do(op *T) { <-b.Submit(op) }

// flush runs what is queued as one batch; if more queued meanwhile,
// another goroutine takes this batch's place, so that the caller returns
// with its own outcome.
func (b *Batcher[T]) flush() {
	b.mu.Lock()
	ops, dones := b.queue, b.dones
	b.queue, b.dones = nil, nil
	b.mu.Unlock()
	if len(ops) > 0 {
		b.Exec(ops)
	}
	for _, d := range dones {
		close(d)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) > 0 {
		go b.flush()
		return
	}
	b.running--
}
