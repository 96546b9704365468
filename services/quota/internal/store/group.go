package store

import (
	"context"
	"sync"
)

// maxGroups is how many group transactions are open at once. Below it a
// caller's transaction starts at once, alone; above it callers queue and
// the next group takes them all.
const maxGroups = 4

// group commits the transactions of concurrent callers together: one
// database transaction runs the work of many calls one after the other
// and commits once, and each caller returns when that commit is durable.
// A reservation is thus durable before its call returns, while the
// commit, the costliest part of a short transaction, is shared.
//
// If any caller's work fails, or the commit does, the group is rolled
// back and each caller's work runs again in a transaction of its own, so
// that one caller's failure (a duplicate request id, a reservation not
// found) is its own and never another's.
type group struct {
	run     func(ctx context.Context, fn func(ctx context.Context) error) error // one transaction
	mu      sync.Mutex
	queue   []*groupCall
	running int
}

type groupCall struct {
	ctx  context.Context
	fn   func(ctx context.Context) error
	err  error
	done chan struct{}
}

// inGroup marks the context of the work of a group transaction, in which
// a nested InTx joins the group's transaction.
type inGroup struct{}

// do runs fn in a group transaction and returns its outcome.
func (g *group) do(ctx context.Context, fn func(ctx context.Context) error) error {
	c := &groupCall{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	lead := g.running < maxGroups
	if lead {
		g.running++
	}
	g.mu.Unlock()
	if lead {
		g.flush()
	}
	<-c.done // the work is in a transaction: it ends, the caller waits for it
	return c.err
}

// flush runs what is queued as one group; if more queued meanwhile,
// another goroutine takes this group's place.
func (g *group) flush() {
	g.mu.Lock()
	batch := g.queue
	g.queue = nil
	g.mu.Unlock()
	if len(batch) > 0 {
		g.exec(batch)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		go g.flush()
		return
	}
	g.running--
}

func (g *group) exec(batch []*groupCall) {
	defer func() {
		for _, c := range batch {
			close(c.done)
		}
	}()
	if len(batch) == 1 {
		c := batch[0]
		c.err = g.run(context.WithValue(c.ctx, inGroup{}, true), c.fn)
		return
	}
	// The group's transaction is no caller's: one that leaves must not
	// roll back the others' work.
	ctx := context.WithValue(context.WithoutCancel(batch[0].ctx), inGroup{}, true)
	err := g.run(ctx, func(ctx context.Context) error {
		for _, c := range batch {
			if err := c.fn(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	for _, c := range batch {
		c.err = g.run(context.WithValue(c.ctx, inGroup{}, true), c.fn)
	}
}
