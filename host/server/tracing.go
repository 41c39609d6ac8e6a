package server

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/host/tracing"
)

// HeaderTraceresponse carries the request's trace context back to the client (W3C
// Trace Context level 2's traceresponse, in traceparent's format): the trace id to look
// for in the logs and in the collector.
const HeaderTraceresponse = "Traceresponse"

// traced gives each HTTP request its trace context before anything else runs: a server
// span when tracing is on (child of an incoming traceparent), else the incoming trace id
// (or a new one) with a new span id, so that every log record of the request carries
// trace_id and span_id either way.
func (s *Server) traced(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := tracing.Extract(r.Context(), r.Header)
		var sp trace.Span
		if s.tracer != nil {
			ctx, sp = s.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer))
		}
		// The SDK gives every span ids, sampled or not; a provider that gives none (the
		// API's no-op) and no provider at all get ids of the request's own.
		if sc := trace.SpanContextFromContext(ctx); !sc.IsValid() || sc.IsRemote() {
			ctx = tracing.WithIDs(ctx)
		}
		w.Header().Set(HeaderTraceresponse, tracing.Traceparent(trace.SpanContextFromContext(ctx)))
		r = r.WithContext(ctx)
		if sp == nil || !sp.IsRecording() {
			h.ServeHTTP(w, r)
			if sp != nil {
				sp.End()
			}
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if r.Pattern != "" {
			sp.SetName(r.Pattern) // low cardinality: "POST /v1/nodes/{name}/compute"
		}
		sp.SetAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
			attribute.Int("http.response.status_code", sw.status))
		if sw.status >= 500 {
			sp.SetStatus(codes.Error, http.StatusText(sw.status))
		}
		sp.End()
	})
}

// StartRequest gives a request served outside the HTTP API (a NATS request of package
// host/cluster) its trace context, as the HTTP API gives its own: ctx's span context —
// typically remote, from the request's traceparent (tracing.Extract) — is continued by a
// server span when tracing is on (Options.TracerProvider), else by a new span id (and a
// new trace id when ctx has none). Invoke called with the returned context runs under it,
// and every log record made with it carries its trace_id and span_id (with a logger
// wrapped by tracing.Handler). A ctx that already holds a local span context is returned
// as is. end ends the span, if any, with the request's Response: call it once. It does
// not block.
func (s *Server) StartRequest(ctx context.Context, node, operation string) (_ context.Context, end func(Response)) {
	return s.startInvoke(ctx, node, operation)
}

// startInvoke gives a call of Invoke (a NATS request of the cluster, or an embedder's
// call) its trace context, as traced does for HTTP: a server span when tracing is on and
// ctx holds no local span, else ids. end ends the span, if any.
func (s *Server) startInvoke(ctx context.Context, name, operation string) (context.Context, func(Response)) {
	sc := trace.SpanContextFromContext(ctx)
	if sc.IsValid() && !sc.IsRemote() {
		return ctx, func(Response) {} // the caller's own span (or ids) stands
	}
	if s.tracer == nil {
		return tracing.WithIDs(ctx), func(Response) {}
	}
	ctx, sp := s.tracer.Start(ctx, "invoke "+operation, trace.WithSpanKind(trace.SpanKindServer))
	if !sp.IsRecording() {
		if sc := trace.SpanContextFromContext(ctx); !sc.IsValid() || sc.IsRemote() {
			ctx = tracing.WithIDs(ctx) // a provider that gives no ids
		}
		return ctx, func(Response) {}
	}
	sp.SetAttributes(attribute.String("onex.node", name), attribute.String("onex.operation", operation))
	return ctx, func(r Response) {
		sp.SetAttributes(attribute.Int("onex.status", r.Status))
		if r.Status >= 500 {
			sp.SetStatus(codes.Error, http.StatusText(r.Status))
		}
		sp.End()
	}
}
