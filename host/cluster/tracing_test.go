package cluster_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/reducer"
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

// Every NATS request a host serves gets an access-log record (debug level), and every
// record logged while serving it carries its trace and span ids: the caller's trace id
// from the traceparent header with the serving host's span id (that of its server span
// when tracing is on), or new ones when the request has no traceparent.
func TestService_AccessLogCarriesTraceIDs(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	logs := &logRecorder{}
	served := tracetest.NewSpanRecorder()
	newMember(t, "a", func() (*nats.Conn, error) { return e.Connect("a") },
		memberOptions{nodes: onlyCore, logger: slog.New(tracing.Handler(logs)),
			tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(served), sdktrace.WithSampler(sdktrace.AlwaysSample()))})
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	in := abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte("[1,2,3]")}

	// accessRecord waits for the access-log record of the request with trace id tid ("":
	// the first one not seen before) and checks that the request's other records carry
	// the same ids.
	accessRecord := func(t *testing.T, tid string, before int) map[string]any {
		t.Helper()
		var rec map[string]any
		eventually(t, func() bool {
			for _, r := range logs.since(before) {
				if r["msg"] == "request" && r["transport"] == "nats" && (tid == "" || r[tracing.LogTraceID] == tid) {
					rec = r
					return true
				}
			}
			return false
		}, "the access-log record of the request")
		assert.Equal(t, slog.LevelDebug, rec["level"])
		assert.Equal(t, cluster.Subject("core", "compute"), rec["subject"])
		assert.Equal(t, "core", rec["node"])
		assert.Equal(t, "compute", rec["operation"])
		assert.EqualValues(t, 200, rec["status"])
		assert.Regexp(t, "^[0-9a-f]{32}$", rec[tracing.LogTraceID])
		assert.Regexp(t, "^[0-9a-f]{16}$", rec[tracing.LogSpanID])
		// The node's own record of the call (server.Invoke's debug "compute") has the
		// request's ids.
		var compute map[string]any
		for _, r := range logs.since(before) {
			if r["msg"] == "compute" && r[tracing.LogTraceID] == rec[tracing.LogTraceID] {
				compute = r
			}
		}
		require.NotNil(t, compute, "the node's record of the call, with the request's trace id")
		assert.Equal(t, rec[tracing.LogSpanID], compute[tracing.LogSpanID])
		return rec
	}

	t.Run("traceparent", func(t *testing.T) {
		before, spans := logs.len(), len(served.Ended())
		ctx := tracing.WithIDs(context.Background())
		_, err := patientClient(t, nc, 2).Compute(ctx, "core", in)
		require.NoError(t, err)
		sc := trace.SpanContextFromContext(ctx)
		rec := accessRecord(t, sc.TraceID().String(), before)
		invoke, _ := servedSpans(t, served.Ended()[spans:])
		assert.Equal(t, invoke.SpanContext().SpanID().String(), rec[tracing.LogSpanID], "the server span's id")
		assert.NotEqual(t, sc.SpanID().String(), rec[tracing.LogSpanID])
	})

	t.Run("no traceparent", func(t *testing.T) {
		before := logs.len()
		body, err := json.Marshal(in)
		require.NoError(t, err)
		msg, err := nc.Request(cluster.Subject("core", "compute"), body, patience(t))
		require.NoError(t, err)
		assert.Equal(t, "200", msg.Header.Get(cluster.HeaderStatus))
		accessRecord(t, "", before)
	})
}

// logRecorder is a slog.Handler keeping every record (debug included) as its message,
// level and attributes, groups flattened.
type logRecorder struct {
	mu   sync.Mutex // guards recs
	recs []map[string]any
	// attrs are those of WithAttrs, on a copy.
	attrs []slog.Attr
	root  *logRecorder // where records go; nil: this one
}

func (l *logRecorder) sink() *logRecorder {
	if l.root != nil {
		return l.root
	}
	return l
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	m := map[string]any{"msg": r.Message, "level": r.Level}
	add := func(a slog.Attr) bool {
		v := a.Value.Resolve().Any()
		if d, ok := v.(time.Duration); ok {
			v = d.String()
		}
		m[a.Key] = v
		return true
	}
	for _, a := range l.attrs {
		add(a)
	}
	r.Attrs(add)
	s := l.sink()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, m)
	return nil
}

func (l *logRecorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &logRecorder{attrs: append(slices.Clone(l.attrs), as...), root: l.sink()}
}

func (l *logRecorder) WithGroup(string) slog.Handler { return l }

func (l *logRecorder) len() int {
	s := l.sink()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// since returns the records from the before-th on.
func (l *logRecorder) since(before int) []map[string]any {
	s := l.sink()
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.recs[before:])
}

// Reducer requests are logged too, with the caller's trace id: an event submitted by a
// Client, and one a host forwards to the key's owner.
func TestReducers_AccessLogCarriesTraceIDs(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	logs := &logRecorder{}
	var hosts []*cluster.Reducers
	for _, id := range []string{"a", "b"} {
		nc, err := e.Connect(id)
		require.NoError(t, err)
		r, err := cluster.NewReducers(patientContext(t), nc, id, map[string]reducer.Fold{"counter": counterFold},
			cluster.ReducersConfig{Partitions: 4, Logger: slog.New(tracing.Handler(logs)).With("host", id)})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close(); nc.Close() })
		hosts = append(hosts, r)
	}
	a, b := hosts[0], hosts[1]
	ctx := patientContext(t)
	// a owns k's partition once it applied an event of it.
	_, err := a.Apply(ctx, "counter", "k", counterEvent("e0", 1))
	require.NoError(t, err)

	// requests waits for the access records of trace tid and returns them.
	requests := func(t *testing.T, tid string, subject string) []map[string]any {
		t.Helper()
		var out []map[string]any
		eventually(t, func() bool {
			out = nil
			found := false
			for _, r := range logs.since(0) {
				if r["msg"] == "request" && r[tracing.LogTraceID] == tid {
					out = append(out, r)
					found = found || r["subject"] == subject
				}
			}
			return found
		}, "an access record of subject %s", subject)
		return out
	}

	t.Run("forwarded to the owner", func(t *testing.T) {
		ctx := tracing.WithIDs(ctx)
		sc := trace.SpanContextFromContext(ctx)
		_, err := b.Apply(ctx, "counter", "k", counterEvent("e1", 1))
		require.NoError(t, err)
		recs := requests(t, sc.TraceID().String(), "onex.reducer.host.a")
		require.Len(t, recs, 1)
		assert.Equal(t, "a", recs[0]["host"])
		assert.Equal(t, "k", recs[0]["key"])
		assert.Equal(t, "e1", recs[0]["event_id"])
		assert.EqualValues(t, 2, recs[0]["sequence"])
		assert.NotEqual(t, sc.SpanID().String(), recs[0][tracing.LogSpanID])
	})

	t.Run("submitted by a client", func(t *testing.T) {
		nc, err := e.Connect("client")
		require.NoError(t, err)
		defer nc.Close()
		ctx := tracing.WithIDs(ctx)
		sc := trace.SpanContextFromContext(ctx)
		_, err = patientClient(t, nc, 2).Reduce(ctx, "counter", "k", counterEvent("e2", 1))
		require.NoError(t, err)
		recs := requests(t, sc.TraceID().String(), cluster.SubjectReduce)
		// The host that took it, and the owner when that was not the same host.
		require.NotEmpty(t, recs)
		require.LessOrEqual(t, len(recs), 2)
		for _, r := range recs {
			assert.Regexp(t, "^[0-9a-f]{16}$", r[tracing.LogSpanID])
			assert.NotEqual(t, sc.SpanID().String(), r[tracing.LogSpanID])
		}
	})
}
