package live

import (
	"context"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/trace"

	"github.com/meterplane/meterplane/services/quota/internal/coalesce"
)

// maxPipelines is how many pipelines of scripts are in flight to Redis at
// once. Below it a script goes out at once, alone; above it the scripts of
// concurrent calls queue and the next free pipeline takes them all. Two,
// so that a slow script (a large rebuild) does not hold every call; more
// makes smaller batches and costs Redis more per call (measured: 4 gave
// about one script per read, 2 about eight).
const maxPipelines = 2

// pipeliner sends the scripts of concurrent calls to Redis together: one
// write and one read for many calls instead of one each, on both sides,
// which is most of a CheckQuota's cost. Each script stays one atomic
// EVALSHA; only the round trip is shared. A pipeline is not a
// transaction, and it needs none: the calls of one pipeline were
// concurrent anyway, so any order is one they could have had.
type pipeliner struct {
	rdb   redis.UniversalClient
	calls *coalesce.Batcher[scriptCall]
}

func newPipeliner(rdb redis.UniversalClient) *pipeliner {
	p := &pipeliner{rdb: rdb}
	p.calls = &coalesce.Batcher[scriptCall]{Max: maxPipelines, Exec: p.exec}
	return p
}

// scriptCall is one script run waiting for its pipeline.
type scriptCall struct {
	// ctx is the caller's, for its trace only.
	ctx    context.Context
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// run runs script as the Script.Run of go-redis would, in a pipeline
// shared with concurrent calls. A caller whose context ends stops waiting;
// its script may still run, as it may when a reply is lost.
func (p *pipeliner) run(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	c := &scriptCall{ctx: ctx, script: script, keys: keys, args: args}
	select {
	case <-p.calls.Submit(c):
		return c.cmd
	case <-ctx.Done():
		cmd := redis.NewCmd(ctx)
		cmd.SetErr(ctx.Err())
		return cmd
	}
}

// exec runs a batch in one pipeline. The pipeline is not bound to any one
// caller's context: a caller that leaves must not fail the others. When
// the first caller is traced, the pipeline's span goes in its trace (and
// in no other caller's). A script Redis does not know yet (after a
// restart or SCRIPT FLUSH) is run again by itself, which loads it.
func (p *pipeliner) exec(batch []*scriptCall) {
	ctx := context.Background()
	if first := batch[0].ctx; first != nil && trace.SpanFromContext(first).IsRecording() {
		ctx = context.WithoutCancel(first)
	}
	if len(batch) == 1 {
		c := batch[0]
		c.cmd = c.script.Run(ctx, p.rdb, c.keys, c.args...)
		return
	}
	pipe := p.rdb.Pipeline()
	for _, c := range batch {
		c.cmd = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	pipe.Exec(ctx) // each command carries its own error
	for _, c := range batch {
		if err := c.cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
			c.cmd = c.script.Run(ctx, p.rdb, c.keys, c.args...)
		}
	}
}
