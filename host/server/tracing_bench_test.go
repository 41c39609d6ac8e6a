package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/tracing"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// BenchmarkTracing_Echo is one echo computation through the HTTP handler (no network,
// cache off so the guest runs) with tracing off (the default: ids only), on with the
// API's no-op provider, and on with the SDK exporting in batches to an exporter that
// drops the spans; each with a logger at info that drops records, as serve's would.
//
//	go test -run '^$' -bench BenchmarkTracing_Echo -benchmem -count 5 ./host/server
func BenchmarkTracing_Echo(b *testing.B) {
	sdk := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = sdk.Shutdown(context.Background()) })
	for _, bc := range []struct {
		name string
		tp   trace.TracerProvider
	}{
		{name: "off", tp: nil},
		{name: "noop", tp: noop.NewTracerProvider()},
		{name: "sdk", tp: sdk},
	} {
		b.Run(bc.name, func(b *testing.B) {
			logger := slog.New(tracing.Handler(slog.DiscardHandler))
			ctx := context.Background()
			h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").WithLogger(logger))
			require.NoError(b, err)
			b.Cleanup(func() { _ = h.Close(ctx) })
			srv := server.New(h, server.Options{Logger: logger, TracerProvider: bc.tp})
			require.NoError(b, srv.Load(ctx, []server.NodeSpec{{Path: filepath.Join(plugintest.Root(), "plugins/testdata/wat/echo.wasm")}}))
			handler := srv.Handler()
			const body = `{"computation_type":"default","data":{"a":1},"cache_enabled":false}`
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/nodes/echo/compute", strings.NewReader(body))
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
