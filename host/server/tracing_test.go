package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/tracing"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// An incoming traceparent, sampled.
const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
	traceparent = "00-" + parentTrace + "-" + parentSpan + "-01"
)

// lockedBuffer collects log output written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records returns the JSON log records written so far.
func (l *lockedBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &r), line)
		out = append(out, r)
	}
	return out
}

// tracedServer serves core and the effects test node, with tp (nil: tracing off) and a
// JSON debug log with trace ids in logs.
func tracedServer(t *testing.T, tp trace.TracerProvider) (url string, logs *lockedBuffer) {
	t.Helper()
	effectsPath, err := plugintest.Path("plugins/testdata/effects")
	require.NoError(t, err)
	logs = &lockedBuffer{}
	logger := slog.New(tracing.Handler(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").WithLogger(logger))
	require.NoError(t, err)
	srv := server.New(h, server.Options{Logger: logger, TracerProvider: tp})
	require.NoError(t, srv.Load(ctx, []server.NodeSpec{
		{Path: corePath},
		{Path: effectsPath, Plugin: host.PluginConfig{Grants: host.Grants{KV: true, Events: true,
			Hosts: []string{"example.invalid"}, Paths: []host.PathGrant{{Dir: t.TempDir()}}}}},
	}))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		require.NoError(t, h.Close(ctx))
	})
	return ts.URL, logs
}

// postTraced sends body with the given traceparent ("" for none) and returns the response's
// traceresponse header and status.
func postTraced(t *testing.T, url, tp, body string) (traceresponse string, status int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if tp != "" {
		req.Header.Set("traceparent", tp)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Header.Get(server.HeaderTraceresponse), resp.StatusCode
}

// spanTree indexes exported spans by name; each name must be unique unless counted.
type spanTree []sdktrace.ReadOnlySpan

func (s spanTree) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, sp := range s {
		if sp.Name() == name {
			out = append(out, sp)
		}
	}
	return out
}

func (s spanTree) one(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	got := s.named(name)
	require.Len(t, got, 1, "spans named %q", name)
	return got[0]
}

func attr(sp sdktrace.ReadOnlySpan, key string) (string, bool) {
	for _, kv := range sp.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit(), true
		}
	}
	return "", false
}

func TestTrace_ComputeAndEffectSpanTrees(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	url, logs := tracedServer(t, tp)

	t.Run("compute", func(t *testing.T) {
		tr, status := postTraced(t, url+"/v1/nodes/core/compute", traceparent,
			`{"computation_type":"string_uppercase","data":"\"hi\""}`)
		require.Equal(t, http.StatusOK, status)
		require.True(t, strings.HasPrefix(tr, "00-"+parentTrace+"-"), tr)
		spans := spanTree(rec.Ended())
		srv := spans.one(t, "POST /v1/nodes/{name}/compute")
		call := spans.one(t, "onex.compute")
		assert.Equal(t, parentTrace, srv.SpanContext().TraceID().String())
		assert.Equal(t, parentSpan, srv.Parent().SpanID().String(), "the server span continues the caller's")
		assert.Equal(t, trace.SpanKindServer, srv.SpanKind())
		assert.Equal(t, srv.SpanContext().SpanID(), call.Parent().SpanID())
		assert.Equal(t, srv.SpanContext().SpanID().String(), tr[36:52], "traceresponse names the server span")
		for _, key := range []string{"onex.computation", "onex.cache", "onex.fuel", "onex.instance_wait_ms", "onex.guest_time_ms"} {
			_, ok := attr(call, key)
			assert.True(t, ok, "the node call span has %s", key)
		}
		cache, _ := attr(call, "onex.cache")
		assert.Equal(t, "miss", cache)
	})

	t.Run("effect with two capability calls and a rollback", func(t *testing.T) {
		before := len(rec.Ended())
		_, status := postTraced(t, url+"/v1/nodes/effects/effect", traceparent,
			`{"effect_type":"script","max_retries":0,"operation_data":{"steps":[`+
				`{"op":"kv.put","key":"a","value":"1"},{"op":"kv.put","key":"b","value":"2"}],"fail_after":2}}`)
		require.NotEqual(t, http.StatusOK, status)
		spans := spanTree(rec.Ended()[before:])
		srv := spans.one(t, "POST /v1/nodes/{name}/effect")
		eff := spans.one(t, "onex.effect")
		att := spans.one(t, "onex.effect.attempt")
		rb := spans.one(t, "onex.effect.rollback")
		caps := spans.named("onex.capability")
		comps := spans.named("onex.compensate")
		require.Len(t, caps, 2)
		require.Len(t, comps, 2)
		assert.Equal(t, srv.SpanContext().SpanID(), eff.Parent().SpanID())
		assert.Equal(t, eff.SpanContext().SpanID(), att.Parent().SpanID())
		assert.Equal(t, att.SpanContext().SpanID(), rb.Parent().SpanID())
		for _, c := range caps {
			assert.Equal(t, att.SpanContext().SpanID(), c.Parent().SpanID())
			op, _ := attr(c, "onex.op")
			assert.Equal(t, "kv.put", op)
		}
		for _, c := range comps {
			assert.Equal(t, rb.SpanContext().SpanID(), c.Parent().SpanID())
		}
		for _, sp := range spans {
			assert.Equal(t, parentTrace, sp.SpanContext().TraceID().String(), sp.Name())
		}
	})

	// Every record of the traced requests carries the trace id, the access log included.
	var access int
	for _, r := range logs.records(t) {
		if r["msg"] == "request" {
			access++
			assert.Equal(t, parentTrace, r[tracing.LogTraceID], "%v", r)
			assert.Len(t, r[tracing.LogSpanID], 16, "%v", r)
		}
	}
	assert.Equal(t, 2, access, "one access-log record per request")
}

func TestTrace_IDsWithoutTracing(t *testing.T) {
	url, logs := tracedServer(t, nil)
	body := `{"computation_type":"string_uppercase","data":"\"hi\""}`

	tr, status := postTraced(t, url+"/v1/nodes/core/compute", traceparent, body)
	require.Equal(t, http.StatusOK, status)
	require.True(t, strings.HasPrefix(tr, "00-"+parentTrace+"-"), "the caller's trace id goes on: %s", tr)
	assert.NotEqual(t, parentSpan, tr[36:52], "with a span id of the request's own")

	fresh, status := postTraced(t, url+"/v1/nodes/core/compute", "", body)
	require.Equal(t, http.StatusOK, status)
	sc := spanContextOf(t, fresh)
	require.True(t, sc.IsValid(), fresh)
	assert.NotEqual(t, parentTrace, sc.TraceID().String())

	byTrace := map[string][]string{}
	for _, r := range logs.records(t) {
		if id, ok := r[tracing.LogTraceID].(string); ok {
			byTrace[id] = append(byTrace[id], r["msg"].(string))
		}
	}
	assert.ElementsMatch(t, []string{"compute", "request"}, byTrace[parentTrace])
	assert.ElementsMatch(t, []string{"compute", "request"}, byTrace[sc.TraceID().String()])
}

// spanContextOf parses a traceparent-formatted value.
func spanContextOf(t *testing.T, v string) trace.SpanContext {
	t.Helper()
	h := http.Header{}
	h.Set("traceparent", v)
	return trace.SpanContextFromContext(tracing.Extract(context.Background(), h))
}
