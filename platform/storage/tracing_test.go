package storage_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/meterplane/meterplane/platform/storage"
	"github.com/meterplane/meterplane/platform/storage/storagetest"
)

// TestStatementSpans: a statement run within a recorded span gets a client
// span under it, named after its operation and table, with the SQL as
// prepared and never the values; a statement outside any gets none.
func TestStatementSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	// The plugin takes the global provider's tracer when a database opens.
	otel.SetTracerProvider(tp)
	var mu sync.Mutex
	traces := map[trace.TraceID]bool{}
	t.Cleanup(func() {
		for _, s := range rec.Ended() {
			if !traces[s.SpanContext().TraceID()] {
				t.Errorf("span %q outside any traced call", s.Name())
			}
		}
	})
	storagetest.Each(t, "widgets", migrations, func(t *testing.T, db *storage.DB) {
		ctx := t.Context()
		var n int64
		if err := db.Conn(ctx).Table("widgets").Count(&n).Error; err != nil {
			t.Fatal(err)
		}

		ctx, call := tp.Tracer("test").Start(ctx, "call")
		mu.Lock()
		traces[call.SpanContext().TraceID()] = true
		mu.Unlock()
		if err := db.Conn(ctx).Create(&widget{ID: "w-secret", Price: "1", CreatedAt: time.Now()}).Error; err != nil {
			t.Fatal(err)
		}
		// A statement object reused after a query: its second span is the
		// call's child too, not the first's.
		q := db.Conn(ctx).Table("widgets").Where("id = ?", "w-secret")
		var got []widget
		if err := q.Find(&got).Error; err != nil || len(got) != 1 {
			t.Fatalf("find: %v, %v", got, err)
		}
		if err := q.Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Conn(ctx).Exec("UPDATE widgets SET name = ? WHERE id = ?", "x", "w-secret").Error; err != nil {
			t.Fatal(err)
		}
		call.End()

		system := "postgresql"
		if db.Dialect() == storage.SQLite {
			system = "sqlite"
		}
		var names []string
		for _, s := range rec.Ended() {
			if s.SpanContext().TraceID() != call.SpanContext().TraceID() || s.Name() == "call" {
				continue
			}
			names = append(names, s.Name())
			if s.Parent().SpanID() != call.SpanContext().SpanID() || s.SpanKind() != trace.SpanKindClient {
				t.Errorf("span %q: parent %s, kind %s; want the call's child, a client", s.Name(), s.Parent().SpanID(), s.SpanKind())
			}
			attrs := map[string]string{}
			for _, a := range s.Attributes() {
				attrs[string(a.Key)] = a.Value.String()
			}
			if attrs["db.system"] != system || attrs["db.query.text"] == "" || strings.Contains(attrs["db.query.text"], "w-secret") {
				t.Errorf("span %q: attributes %v", s.Name(), attrs)
			}
		}
		if want := "INSERT widgets,SELECT widgets,SELECT widgets,UPDATE"; strings.Join(names, ",") != want {
			t.Errorf("spans %v, want %s", names, want)
		}
	})
}
