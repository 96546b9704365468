package redisx_test

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meterplane/meterplane/platform/redisx"
)

// TestCommandSpans: a command or pipeline run within a recorded span gets
// a client span under it, named after its commands, without arguments; a
// command outside any span gets none.
func TestCommandSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	otel.SetTracerProvider(tp)
	r, err := redisx.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := t.Context()
	if err := r.Set(ctx, "{c}:untraced", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	ctx, call := tp.Tracer("test").Start(ctx, "call")
	if err := r.Set(ctx, "{c}:k", "secret-value", 0).Err(); err != nil {
		t.Fatal(err)
	}
	pipe := r.Pipeline()
	pipe.Get(ctx, "{c}:k")
	pipe.Get(ctx, "{c}:missing")
	pipe.Exec(ctx)
	call.End()

	// A command that dials a connection has the connection's setup
	// commands (HELLO, CLIENT SETINFO) under its span; only the call's
	// children are the commands it ran.
	var names []string
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID() != call.SpanContext().TraceID() {
			t.Errorf("span %q outside the call", s.Name())
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.String(), "secret") || strings.Contains(a.Value.String(), "{c}") {
				t.Errorf("span %q shows an argument: %s=%s", s.Name(), a.Key, a.Value.String())
			}
		}
		if s.Parent().SpanID() != call.SpanContext().SpanID() {
			continue
		}
		names = append(names, s.Name())
		if s.SpanKind() != trace.SpanKindClient || s.Status().Code != 0 {
			t.Errorf("span %q: kind %s, status %v; want a client, no error (a missing key is none)", s.Name(), s.SpanKind(), s.Status())
		}
	}
	if want := "set,pipeline get get"; strings.Join(names, ",") != want {
		t.Errorf("spans %v, want %s", names, want)
	}
}
