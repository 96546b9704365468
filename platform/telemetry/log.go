package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// The log formats.
const (
	LogJSON = "json" // one JSON object a line, for log collectors
	LogText = "text" // slog's key=value lines, for people
)

// NewLogger returns a logger that writes records at level and above to w
// in format (LogJSON, the default when empty, or LogText), each with the trace_id and span_id of
// its context's span (see TraceHandler).
func NewLogger(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case LogJSON, "":
		h = slog.NewJSONHandler(w, opts)
	case LogText:
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(TraceHandler{h}), nil
}

// TraceHandler adds trace_id and span_id to each record logged with a
// context that carries a span (the *Context methods of slog.Logger), so a
// log line leads to its trace. The ids are there whether or not the span
// is recorded. A record that has a trace_id attribute of its own keeps it
// and gets no second one.
type TraceHandler struct{ slog.Handler }

// Handle adds the span's ids and passes the record on.
func (h TraceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !hasTraceID(r) {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func hasTraceID(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		found = a.Key == "trace_id"
		return !found
	})
	return found
}

// WithAttrs keeps the wrapper around the derived handler.
func (h TraceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return TraceHandler{h.Handler.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler. (The ids then
// land in the group, as any attribute added to the record would.)
func (h TraceHandler) WithGroup(name string) slog.Handler {
	return TraceHandler{h.Handler.WithGroup(name)}
}
