// Package tracing gives onex-host's requests OpenTelemetry spans and W3C trace context,
// and its log records their trace and span ids.
//
// The spans of one request form a tree: the HTTP request (package host/server) or the
// NATS request (package host/cluster), the node call (host/compute, host/effect), each
// effect attempt with its capability operations (host/internal/capcall), and each
// rollback with its compensations (host/internal/tx). Below the request, every span is
// started by Start from the tracer provider of the span in the context, so there is no
// global tracer provider: a request whose span is not recording (tracing off, or not
// sampled) costs each of them one context lookup.
//
// Trace and span ids exist even when tracing is off: WithIDs gives a request the ids of
// an incoming traceparent, or new ones, without a tracer provider, and Handler adds
// them to every log record made with that context.
package tracing
