package storage

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// tracing is a gorm plugin that records a client span for each statement
// run within a recorded span, such as a traced gRPC call's: named after
// the operation and table ("SELECT invoices"), with the SQL text as
// prepared (placeholders, never the values).
//
// It records nothing, and costs one check, where the context has no
// recorded span: when tracing is off (no OTLP exporter), and in workers
// such as an outbox relay, whose polls would otherwise each start a trace
// of their own. (gorm.io/plugin/opentelemetry would link the MySQL and
// ClickHouse drivers into every binary and parse the connection URL at
// every statement.)
type tracing struct {
	tracer trace.Tracer
	system attribute.KeyValue
}

func newTracing(d Dialect) tracing {
	system := semconv.DBSystemPostgreSQL
	if d == SQLite {
		system = semconv.DBSystemSqlite
	}
	return tracing{tracer: otel.Tracer("github.com/meterplane/meterplane/platform/storage"), system: system}
}

func (tracing) Name() string { return "meterplane:tracing" }

// Initialize registers the span's start before and its end after each of
// gorm's statement callbacks.
func (p tracing) Initialize(db *gorm.DB) error {
	cb := db.Callback()
	// registerer is gorm's callback, whose type is unexported.
	type registerer interface {
		Register(name string, fn func(*gorm.DB)) error
	}
	var errs []error
	for _, c := range []struct {
		name          string
		before, after registerer
	}{
		{"create", cb.Create().Before("gorm:create"), cb.Create().After("gorm:create")},
		{"query", cb.Query().Before("gorm:query"), cb.Query().After("gorm:query")},
		{"update", cb.Update().Before("gorm:update"), cb.Update().After("gorm:update")},
		{"delete", cb.Delete().Before("gorm:delete"), cb.Delete().After("gorm:delete")},
		{"row", cb.Row().Before("gorm:row"), cb.Row().After("gorm:row")},
		{"raw", cb.Raw().Before("gorm:raw"), cb.Raw().After("gorm:raw")},
	} {
		errs = append(errs, c.before.Register("meterplane:span_start_"+c.name, p.start),
			c.after.Register("meterplane:span_end_"+c.name, p.end))
	}
	return errors.Join(errs...)
}

// spanContext is a statement's context while its span is open; end
// restores parent, so that a statement object reused for another query
// does not nest the next span under this one.
type spanContext struct {
	context.Context
	parent context.Context
}

func (p tracing) start(tx *gorm.DB) {
	ctx := tx.Statement.Context
	if ctx == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	spanCtx, _ := p.tracer.Start(ctx, "db", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(p.system))
	tx.Statement.Context = spanContext{Context: spanCtx, parent: ctx}
}

func (p tracing) end(tx *gorm.DB) {
	sc, ok := tx.Statement.Context.(spanContext)
	if !ok {
		return
	}
	tx.Statement.Context = sc.parent
	span := trace.SpanFromContext(sc.Context)
	query := tx.Statement.SQL.String()
	op, _, _ := strings.Cut(strings.TrimSpace(query), " ")
	op = strings.ToUpper(op)
	name := op
	if table := tx.Statement.Table; table != "" {
		name += " " + table
		span.SetAttributes(semconv.DBCollectionName(table))
	}
	if name != "" {
		span.SetName(name)
	}
	span.SetAttributes(semconv.DBOperationName(op), semconv.DBQueryText(query),
		attribute.Int64("db.rows_affected", tx.Statement.RowsAffected))
	if err := tx.Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
