package cluster_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/tracing"
)

// A request through the cluster is one trace: the serving host's spans continue the
// client's, whether the client records spans or only carries ids (tracing off).
func TestTrace_ClientToServiceIsOneTrace(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	served := tracetest.NewSpanRecorder()
	newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") },
		// AlwaysSample: an ids-only caller's trace context is unsampled, which the default
		// parent-based sampler would follow.
		memberOptions{nodes: onlyCore, tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(served),
			sdktrace.WithSampler(sdktrace.AlwaysSample()))})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	c := patientClient(t, nc, 2)
	in := abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte("[1,2,3]")}

	t.Run("traced client", func(t *testing.T) {
		before := len(served.Ended())
		client := tracetest.NewSpanRecorder()
		ctx, root := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(client)).Tracer("test").Start(context.Background(), "submit")
		_, err := c.Compute(ctx, "core", in)
		require.NoError(t, err)
		root.End()
		var request sdktrace.ReadOnlySpan
		for _, sp := range client.Ended() {
			if sp.Name() == "onex.cluster.request" {
				request = sp
			}
		}
		require.NotNil(t, request, "the client's request span")
		assert.Equal(t, trace.SpanKindClient, request.SpanKind())
		invoke, call := servedSpans(t, served.Ended()[before:])
		assert.Equal(t, root.SpanContext().TraceID(), invoke.SpanContext().TraceID())
		assert.Equal(t, request.SpanContext().SpanID(), invoke.Parent().SpanID())
		assert.True(t, invoke.Parent().IsRemote())
		assert.Equal(t, invoke.SpanContext().SpanID(), call.Parent().SpanID())
	})

	t.Run("ids only", func(t *testing.T) {
		before := len(served.Ended())
		ctx := tracing.WithIDs(context.Background())
		_, err := c.Compute(ctx, "core", in)
		require.NoError(t, err)
		invoke, _ := servedSpans(t, served.Ended()[before:])
		sc := trace.SpanContextFromContext(ctx)
		assert.Equal(t, sc.TraceID(), invoke.SpanContext().TraceID())
		assert.Equal(t, sc.SpanID(), invoke.Parent().SpanID())
	})
}

// servedSpans returns the serving host's request span and node call span.
func servedSpans(t *testing.T, spans []sdktrace.ReadOnlySpan) (invoke, call sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, sp := range spans {
		switch sp.Name() {
		case "invoke compute":
			invoke = sp
		case "onex.compute":
			call = sp
		}
	}
	require.NotNil(t, invoke, "the serving host's request span")
	require.NotNil(t, call, "the serving host's node call span")
	assert.Equal(t, trace.SpanKindServer, invoke.SpanKind())
	return invoke, call
}
