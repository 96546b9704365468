// Package telemetry sets up OpenTelemetry traces and metrics for a binary:
// metrics are always served for Prometheus on /metrics, and traces and
// metrics also go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Telemetry holds the providers of one binary.
type Telemetry struct {
	// Metrics serves the Prometheus text format.
	Metrics http.Handler
	// MeterProvider and TracerProvider are the providers Setup installed
	// globally, for instrumentation that must not pick up another's (as
	// parallel tests would, each setting the globals).
	MeterProvider  metric.MeterProvider
	TracerProvider trace.TracerProvider
	shutdown       []func(context.Context) error
}

// Setup installs global tracer and meter providers for service. When
// otlpEndpoint is set, the OTLP exporters read it (and the other standard
// OTEL_EXPORTER_OTLP_* variables) from the environment.
func Setup(ctx context.Context, service, otlpEndpoint string) (*Telemetry, error) {
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service))

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	promExporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	metricOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExporter)}
	// Without an exporter no span is recorded: a recorded span that goes
	// nowhere costs every call its attributes and events for nothing. Spans
	// still get ids, which logs and error messages quote.
	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.NeverSample())}
	if otlpEndpoint != "" {
		te, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp traces: %w", err)
		}
		me, err := otlpmetricgrpc.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp metrics: %w", err)
		}
		traceOpts = append(traceOpts, sdktrace.WithBatcher(te), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
		metricOpts = append(metricOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me)))
	}
	tp := sdktrace.NewTracerProvider(traceOpts...)
	mp := sdkmetric.NewMeterProvider(metricOpts...)
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))

	return &Telemetry{
		Metrics:        promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		MeterProvider:  mp,
		TracerProvider: tp,
		shutdown:       []func(context.Context) error{tp.Shutdown, mp.Shutdown},
	}, nil
}

// Shutdown flushes and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	return errors.Join(errs...)
}
