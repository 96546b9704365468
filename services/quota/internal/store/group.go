package store

import (
	"context"

	"github.com/meterplane/meterplane/services/quota/internal/coalesce"
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
	run   func(ctx context.Context, fn func(ctx context.Context) error) error // one transaction
	calls *coalesce.Batcher[groupCall]
}

type groupCall struct {
	ctx context.Context
	fn  func(ctx context.Context) error
	err error
}

func newGroup(run func(ctx context.Context, fn func(ctx context.Context) error) error) *group {
	g := &group{run: run}
	g.calls = &coalesce.Batcher[groupCall]{Max: maxGroups, Exec: g.exec}
	return g
}

// inGroup marks the context of the work of a group transaction, in which
// a nested InTx joins the group's transaction.
type inGroup struct{}

// do runs fn in a group transaction and returns its outcome. The work is
// in a transaction: it ends, the caller waits for it.
func (g *group) do(ctx context.Context, fn func(ctx context.Context) error) error {
	c := &groupCall{ctx: ctx, fn: fn}
	g.calls.Do(c)
	return c.err
}

func (g *group) exec(batch []*groupCall) {
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
