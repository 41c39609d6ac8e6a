package tracing_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/host/tracing"
)

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestWithIDs(t *testing.T) {
	tests := []struct {
		name   string
		header string
		same   bool // the trace id is the header's
	}{
		{name: "continues an incoming trace", header: traceparent, same: true},
		{name: "starts a trace without one", header: ""},
		{name: "starts a trace for a malformed one", header: "00-zz-00f067aa0ba902b7-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("traceparent", tt.header)
			}
			sc := trace.SpanContextFromContext(tracing.WithIDs(tracing.Extract(context.Background(), h)))
			require.True(t, sc.IsValid())
			assert.False(t, sc.IsRemote())
			assert.NotEqual(t, "00f067aa0ba902b7", sc.SpanID().String())
			assert.Equal(t, tt.same, sc.TraceID().String() == "4bf92f3577b34da6a3ce929d0e0e4736")
			out := http.Header{}
			tracing.Inject(trace.ContextWithSpanContext(context.Background(), sc), out)
			assert.Equal(t, tracing.Traceparent(sc), out.Get("traceparent"))
		})
	}
}

func TestHandler_AddsIDs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(tracing.Handler(slog.NewTextHandler(&buf, nil)))
	ctx := tracing.WithIDs(context.Background())
	sc := trace.SpanContextFromContext(ctx)
	log.InfoContext(ctx, "with")
	log.Info("without")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "trace_id="+sc.TraceID().String())
	assert.Contains(t, lines[0], "span_id="+sc.SpanID().String())
	assert.NotContains(t, lines[1], "trace_id")
}

func TestStart_ChildOfRecordingSpan(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, root := tp.Tracer("test").Start(context.Background(), "root")
	_, child := tracing.Start(ctx, "child", trace.SpanKindInternal)
	child.End()
	root.End()
	require.Len(t, rec.Ended(), 2)
	assert.Equal(t, root.SpanContext().SpanID(), rec.Ended()[0].Parent().SpanID())

	// Without a recording span, Start hands back the context's span and allocates
	// nothing.
	plain := tracing.WithIDs(context.Background())
	got, sp := tracing.Start(plain, "nothing", trace.SpanKindInternal)
	assert.Equal(t, plain, got)
	assert.False(t, sp.IsRecording())
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_, sp := tracing.Start(plain, "nothing", trace.SpanKindInternal)
		sp.End()
	}))
}

// TestNewProvider_Env is sequential: it sets OTEL_* variables.
func TestNewProvider_Env(t *testing.T) {
	received := make(chan string, 16)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received <- r.URL.Path + " " + r.Header.Get("Content-Type")
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()

	tests := []struct {
		name    string
		cfg     tracing.Config
		env     map[string]string
		on      bool
		wantErr bool
	}{
		{name: "off by default", on: false},
		{name: "config file exporter", cfg: tracing.Config{Exporter: "otlp", Endpoint: collector.URL}, on: true},
		{name: "env exporter and endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp",
			"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}, on: true},
		{name: "env endpoint wins over the file's", cfg: tracing.Config{Exporter: "otlp", Endpoint: "http://127.0.0.1:1"},
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}, on: true},
		{name: "env none wins over the file", cfg: tracing.Config{Exporter: "otlp"},
			env: map[string]string{"OTEL_TRACES_EXPORTER": "none"}, on: false},
		{name: "sdk disabled", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, on: false},
		{name: "unknown env exporter", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, wantErr: true},
		{name: "unknown file exporter", cfg: tracing.Config{Exporter: "jaeger"}, wantErr: true},
		{name: "endpoint not a URL", cfg: tracing.Config{Exporter: "otlp", Endpoint: "collector:4318"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME"} {
				t.Setenv(k, tt.env[k])
			}
			tp, err := tracing.NewProvider(context.Background(), tt.cfg)
			if tt.wantErr {
				require.ErrorIs(t, err, tracing.ErrConfig)
				return
			}
			require.NoError(t, err)
			if !tt.on {
				assert.Nil(t, tp)
				return
			}
			require.NotNil(t, tp)
			_, sp := tp.Tracer("test").Start(context.Background(), "exported")
			sp.End()
			require.NoError(t, tp.Shutdown(context.Background())) // flushes
			select {
			case got := <-received:
				assert.Equal(t, "/v1/traces application/x-protobuf", got)
			default:
				t.Fatal("the collector received no spans")
			}
		})
	}
}

func TestTraceparent(t *testing.T) {
	h := http.Header{}
	h.Set("traceparent", traceparent)
	sc := trace.SpanContextFromContext(tracing.Extract(context.Background(), h))
	assert.Equal(t, traceparent, tracing.Traceparent(sc))
	assert.Empty(t, tracing.Traceparent(trace.SpanContext{}))
}
