package tracing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Exporters Config.Exporter and OTEL_TRACES_EXPORTER may name.
const (
	ExporterNone = "none" // no tracing; the ids still reach the logs
	ExporterOTLP = "otlp" // OTLP over HTTP/protobuf
)

// DefaultServiceName is the service.name of the spans unless OTEL_SERVICE_NAME or
// Config.ServiceName says otherwise.
const DefaultServiceName = "onex-host"

// ErrConfig is returned by NewProvider for an exporter it does not know (in Config or
// OTEL_TRACES_EXPORTER) or an exporter it could not create.
var ErrConfig = errors.New("tracing: config")

// Config is the tracing block of the server's configuration file. The zero value turns
// tracing off. The standard OTEL_* environment variables override it (see NewProvider).
type Config struct {
	// Exporter is ExporterOTLP or ExporterNone; "" means ExporterNone.
	Exporter string `yaml:"exporter"`
	// Endpoint is the collector's OTLP/HTTP base URL (spans go to Endpoint +
	// "/v1/traces"), like OTEL_EXPORTER_OTLP_ENDPOINT. "": the exporter's default,
	// http://localhost:4318.
	Endpoint string `yaml:"endpoint"`
	// ServiceName is the spans' service.name. "": DefaultServiceName.
	ServiceName string `yaml:"service_name"`
}

// Validate reports an unknown exporter or an endpoint that is not an http(s) URL,
// wrapping ErrConfig.
func (c Config) Validate() error {
	switch c.Exporter {
	case "", ExporterNone, ExporterOTLP:
	default:
		return fmt.Errorf("%w: exporter %q is not %s or %s", ErrConfig, c.Exporter, ExporterOTLP, ExporterNone)
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		return fmt.Errorf("%w: endpoint %q is not an http:// or https:// URL", ErrConfig, c.Endpoint)
	}
	return nil
}

// NewProvider returns the tracer provider cfg and the environment describe, or nil when
// tracing is off: with neither Config.Exporter nor OTEL_TRACES_EXPORTER set to "otlp",
// with OTEL_TRACES_EXPORTER=none, or with OTEL_SDK_DISABLED=true. The environment wins
// over cfg: OTEL_TRACES_EXPORTER over Exporter, OTEL_EXPORTER_OTLP_ENDPOINT and
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT over Endpoint, OTEL_SERVICE_NAME over ServiceName;
// the exporter reads the other OTEL_EXPORTER_OTLP_* variables (headers, timeout,
// compression, certificates), and the SDK OTEL_TRACES_SAMPLER (default
// parentbased_always_on), OTEL_TRACES_SAMPLER_ARG, OTEL_RESOURCE_ATTRIBUTES and
// OTEL_BSP_*. Spans are exported in batches; the caller shuts the provider down to
// flush them. It does not block: no connection is made before the first export.
func NewProvider(ctx context.Context, cfg Config) (*sdktrace.TracerProvider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return nil, nil
	}
	exporter := cfg.Exporter
	if v, ok := os.LookupEnv("OTEL_TRACES_EXPORTER"); ok && v != "" {
		exporter = v
	}
	switch exporter {
	case "", ExporterNone:
		return nil, nil
	case ExporterOTLP:
	default:
		return nil, fmt.Errorf("%w: OTEL_TRACES_EXPORTER %q is not %s or %s", ErrConfig, exporter, ExporterOTLP, ExporterNone)
	}
	var opts []otlptracehttp.Option
	if cfg.Endpoint != "" && os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(strings.TrimSuffix(cfg.Endpoint, "/")+"/v1/traces"))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: otlp exporter: %w", ErrConfig, err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	if v := os.Getenv("OTEL_SERVICE_NAME"); v != "" {
		name = v
	}
	// resource.Default reads OTEL_RESOURCE_ATTRIBUTES; the service name set here wins
	// over its unknown_service default.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", name)))
	if err != nil {
		res = resource.Default() // conflicting schema URLs: keep the SDK's
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}
