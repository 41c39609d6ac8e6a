package tracing

import (
	"context"
	"encoding/hex"
	"math/rand/v2"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Scope is the instrumentation scope of onex-host's spans.
const Scope = "github.com/onexhost/onex-host"

// Propagator reads and writes W3C traceparent and tracestate headers (HTTP and NATS).
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Start starts a span named name, of the given kind, as a child of ctx's span and from
// that span's tracer provider. When ctx's span is not recording (tracing off, not
// sampled, or no span at all) it returns ctx and that span, allocating nothing: the
// caller ends it as usual (a no-op) and should set attributes only when IsRecording.
func Start(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer(Scope).Start(ctx, name, trace.WithSpanKind(kind))
}

// WithIDs returns ctx carrying a span context for a request that tracing does not
// record: ctx's remote span context (from an incoming traceparent, see Extract) with a
// new span id, or a new trace id and span id, unsampled. It makes no span; the ids
// appear in log records (Handler) and in propagated headers.
func WithIDs(ctx context.Context) context.Context {
	parent := trace.SpanContextFromContext(ctx)
	cfg := trace.SpanContextConfig{TraceID: parent.TraceID(), TraceState: parent.TraceState(),
		TraceFlags: parent.TraceFlags()}
	if !parent.TraceID().IsValid() {
		cfg.TraceID = newTraceID()
		cfg.TraceFlags = 0
	}
	cfg.SpanID = newSpanID()
	return trace.ContextWithSpanContext(ctx, trace.NewSpanContext(cfg))
}

// Extract returns ctx with the remote span context of h's traceparent header, if valid.
func Extract(ctx context.Context, h http.Header) context.Context {
	return Propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// Inject writes ctx's span context into h as traceparent (and tracestate) headers; it
// writes nothing when ctx has no valid span context.
func Inject(ctx context.Context, h http.Header) {
	Propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// Traceparent returns sc as a W3C traceparent value, "" for an invalid sc.
func Traceparent(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	// One allocation: the request path pays for it on every call.
	var b [55]byte
	tid, sid := sc.TraceID(), sc.SpanID()
	b[0], b[1], b[2], b[35], b[52] = '0', '0', '-', '-', '-'
	hex.Encode(b[3:35], tid[:])
	hex.Encode(b[36:52], sid[:])
	hex.Encode(b[53:55], []byte{byte(sc.TraceFlags())})
	return string(b[:])
}

// newTraceID returns a random, valid trace id. The ids are not secrets: the runtime's
// per-goroutine generator is enough, and costs no lock.
func newTraceID() trace.TraceID {
	var id trace.TraceID
	for !id.IsValid() {
		a, b := rand.Uint64(), rand.Uint64()
		for i := range 8 {
			id[i], id[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
		}
	}
	return id
}

// newSpanID returns a random, valid span id.
func newSpanID() trace.SpanID {
	var id trace.SpanID
	for !id.IsValid() {
		a := rand.Uint64()
		for i := range 8 {
			id[i] = byte(a >> (8 * i))
		}
	}
	return id
}
