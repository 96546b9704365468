package telemetry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/meterplane/meterplane/platform/telemetry"
)

// spanContext returns a context carrying a span with fixed ids, as a
// traced call's context does (recorded or not).
func spanContext(t *testing.T) (context.Context, trace.SpanContext) {
	t.Helper()
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})
	return trace.ContextWithSpanContext(context.Background(), sc), sc
}

func TestJSONLogCarriesTraceAndSpanIDs(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := telemetry.NewLogger(&buf, telemetry.LogJSON, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	ctx, sc := spanContext(t)
	log.With("service", "quota").InfoContext(ctx, "in a span", "n", 1)
	log.Info("outside any span")
	log.InfoContext(ctx, "names its own", "trace_id", "mine")
	log.DebugContext(ctx, "below the level")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), buf.String())
	}
	var recs []map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		recs = append(recs, m)
	}
	if r := recs[0]; r["msg"] != "in a span" || r["trace_id"] != sc.TraceID().String() || r["span_id"] != sc.SpanID().String() ||
		r["service"] != "quota" || r["n"] != float64(1) || r["level"] != "INFO" {
		t.Errorf("record in a span = %v", r)
	}
	if r := recs[1]; r["trace_id"] != nil || r["span_id"] != nil {
		t.Errorf("record outside a span = %v, want no ids", r)
	}
	if got := strings.Count(lines[2], `"trace_id"`); got != 1 || recs[2]["trace_id"] != "mine" {
		t.Errorf("a record naming its trace_id = %s, want its own and only it", lines[2])
	}
}

func TestTextLogCarriesTraceID(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := telemetry.NewLogger(&buf, telemetry.LogText, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	ctx, sc := spanContext(t)
	log.WarnContext(ctx, "slow call")
	if out := buf.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "msg=\"slow call\"") ||
		!strings.Contains(out, "trace_id="+sc.TraceID().String()) || !strings.Contains(out, "span_id="+sc.SpanID().String()) {
		t.Errorf("text record = %q", out)
	}
	if _, err := telemetry.NewLogger(&buf, "xml", slog.LevelInfo); err == nil {
		t.Error("format xml: no error")
	}
}
