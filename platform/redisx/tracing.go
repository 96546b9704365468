package redisx

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// tracing is a go-redis hook that records a client span for each command
// and pipeline run within a recorded span, such as a traced gRPC call's:
// named after the command ("evalsha", "pipeline get hget"), without the
// arguments (keys name customers; values are theirs).
//
// It records nothing, and costs one check, where the context has no
// recorded span: when tracing is off (no OTLP exporter), and in workers
// such as a bus consumer, whose blocking reads would otherwise each start
// a trace of their own. (redisotel formats every command's arguments and
// walks the stack for each command, recorded or not.)
type tracing struct {
	tracer trace.Tracer
}

func newTracing() tracing {
	return tracing{tracer: otel.Tracer("github.com/meterplane/meterplane/platform/redisx")}
}

// instrument adds the hook to c, and to each node of a cluster.
func instrument(c Client) {
	h := newTracing()
	switch c := c.(type) {
	case *redis.ClusterClient:
		c.OnNewNode(func(n *redis.Client) { n.AddHook(h) })
	default:
		c.AddHook(h)
	}
}

var spanKind = trace.WithSpanKind(trace.SpanKindClient)

func (h tracing) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tracing) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !trace.SpanFromContext(ctx).IsRecording() {
			return next(ctx, cmd)
		}
		ctx, span := h.tracer.Start(ctx, cmd.FullName(), spanKind,
			trace.WithAttributes(semconv.DBSystemRedis, semconv.DBOperationName(cmd.Name())))
		defer span.End()
		err := next(ctx, cmd)
		record(span, err)
		return err
	}
}

func (h tracing) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !trace.SpanFromContext(ctx).IsRecording() {
			return next(ctx, cmds)
		}
		// The first few commands name the span; a pipeline may have
		// thousands.
		names := make([]string, 0, min(len(cmds), 4)+1)
		for i, c := range cmds {
			if i == 4 {
				names = append(names, "…")
				break
			}
			names = append(names, c.Name())
		}
		ctx, span := h.tracer.Start(ctx, "pipeline "+strings.Join(names, " "), spanKind,
			trace.WithAttributes(semconv.DBSystemRedis, semconv.DBOperationName("pipeline"),
				attribute.Int("db.redis.commands", len(cmds))))
		defer span.End()
		err := next(ctx, cmds)
		record(span, err)
		return err
	}
}

// record marks the span failed unless err is nil or redis.Nil (a missing
// key, an answer).
func record(span trace.Span, err error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
}

var _ redis.Hook = tracing{}
