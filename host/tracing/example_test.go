package tracing_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/host/tracing"
)

// A request's log records carry the trace id of its incoming traceparent, with tracing
// off: WithIDs gives the request a span id of its own under the caller's trace.
func ExampleHandler() {
	h := http.Header{}
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	ctx := tracing.WithIDs(tracing.Extract(context.Background(), h))

	// Leave out the time and the (random) span id, so the output is stable.
	drop := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey || a.Key == tracing.LogSpanID {
			return slog.Attr{}
		}
		return a
	}
	log := slog.New(tracing.Handler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: drop})))
	log.InfoContext(ctx, "request", "path", "/healthz")

	sc := trace.SpanContextFromContext(ctx)
	fmt.Println(sc.TraceID(), sc.IsSampled())
	// Output:
	// level=INFO msg=request path=/healthz trace_id=4bf92f3577b34da6a3ce929d0e0e4736
	// 4bf92f3577b34da6a3ce929d0e0e4736 true
}
