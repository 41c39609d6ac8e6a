package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
)

// Operations a node serves: compute nodes OperationCompute, effect nodes OperationEffect.
const (
	OperationCompute = "compute"
	OperationEffect  = "effect"
)

// Response is the outcome of one operation as the HTTP API answers it: the status and
// the JSON body (an abi.ComputeOutput, an effect response, or an error object with a
// stable code). Invoke and a Router return the same bytes, so a call answered by another
// host reads exactly like a local one.
type Response struct {
	Status int
	Body   []byte
}

// Router sends an operation for a node this server has not loaded to another host — the
// cluster (package host/cluster). Route returns the other host's Response; an error means
// no host could answer (none serves the node, or none replied in time).
//
// A Router must be safe for concurrent use.
type Router interface {
	Route(ctx context.Context, name, operation string, body []byte) (Response, error)
}

// EffectRecorder deduplicates effects: Run returns exec's Response, or the Response
// recorded for an earlier request with the same node and operation id (dedup true).
// It must be safe for concurrent use.
type EffectRecorder interface {
	Run(ctx context.Context, node string, body []byte, exec func(context.Context) Response) (resp Response, dedup bool)
}

// HeaderDeduplicated is "true" on the response to a repeated effect answered from the
// record of its first, committed run.
const HeaderDeduplicated = "Onex-Deduplicated"

// Endpoint is one operation of one loaded node.
type Endpoint struct {
	Node      string
	Operation string
}

// Endpoints returns the operations of the loaded nodes, sorted by node name.
func (s *Server) Endpoints() []Endpoint {
	nodes := *s.nodes.Load()
	out := make([]Endpoint, 0, len(nodes))
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		op := OperationCompute
		if nodes[name].reducer != nil || nodes[name].kind() == abi.KindOrchestrator {
			continue // reducers and orchestrators have their own routes (/v1/reducers, /v1/workflows)
		}
		if nodes[name].effect != nil {
			op = OperationEffect
		}
		out = append(out, Endpoint{Node: name, Operation: op})
	}
	return out
}

// Invoke runs one operation (OperationCompute with an abi.ComputeInput body,
// OperationEffect with an abi.EffectInput body) on the node name loaded here, exactly as
// POST /v1/nodes/{name}/{operation} would, metrics and logs included. It never routes: a
// node not loaded here is a 404 Response. Until the server is ready (Ready) it answers
// 503 without running anything. It is safe for concurrent use.
func (s *Server) Invoke(ctx context.Context, name, operation string, body []byte) Response {
	if !s.Ready() {
		return notReadyResponse()
	}
	n := s.acquire(name)
	if n == nil {
		return errorResponse(http.StatusNotFound, codeNotFound, fmt.Sprintf("no node named %q", name))
	}
	defer n.release()
	ctx, end := s.startInvoke(ctx, name, operation)
	resp := s.invoke(ctx, n, operation, body, "")
	end(resp)
	return resp
}

// invoke runs operation on n.
func (s *Server) invoke(ctx context.Context, n *node, operation string, body []byte, correlationID string) Response {
	switch {
	case n.reducer != nil:
		return errorResponse(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s is a reducer node: POST /v1/reducers/%s/keys/{key}/events", n.name, n.name))
	case n.kind() == abi.KindOrchestrator:
		return errorResponse(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s is an orchestrator node: start its workflows with POST /v1/workflows", n.name))
	case operation == OperationCompute && n.compute == nil:
		return errorResponse(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s is an effect node: POST .../effect", n.name))
	case operation == OperationEffect && n.effect == nil:
		return errorResponse(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s is a compute node: POST .../compute", n.name))
	case operation == OperationCompute:
		in, err := abi.DecodeComputeInput(body)
		if err != nil {
			return errorResponse(http.StatusBadRequest, codeInvalidInput, err.Error())
		}
		start := time.Now()
		out, err := n.compute.Process(ctx, in)
		if errors.Is(err, host.ErrClosed) {
			// A reload closed this version before the computation reached it (ErrClosed is
			// never the answer of a guest that ran): a pure computation runs again on the
			// version now serving.
			if m := s.acquire(n.name); m != nil {
				if m != n && m.compute != nil {
					out, err = m.compute.Process(ctx, in)
				}
				m.release()
			}
		}
		s.metrics.observe(n.name, in.Computation(), OperationCompute, time.Since(start), out.FuelUsed, err)
		s.log.DebugContext(ctx, "compute", "node", n.name, "computation", in.Computation(), "operation_id", out.OperationID,
			"correlation_id", correlationID, "cache_hit", out.CacheHit, "error", err)
		if err != nil {
			status, body := classify(err)
			return jsonResponse(status, apiError{Error: body, OperationID: out.OperationID})
		}
		return jsonResponse(http.StatusOK, out)
	case operation == OperationEffect:
		in, err := abi.DecodeEffectInput(body)
		if err != nil {
			return errorResponse(http.StatusBadRequest, codeInvalidInput, err.Error())
		}
		start := time.Now()
		out, err := n.effect.Process(ctx, in)
		s.metrics.observe(n.name, in.Effect(), OperationEffect, time.Since(start), out.FuelUsed, err)
		s.log.InfoContext(ctx, "effect", "node", n.name, "effect", in.Effect(), "operation_id", out.OperationID,
			"correlation_id", correlationID, "transaction_state", out.TransactionState,
			"retry_count", out.RetryCount, "error", err)
		if err != nil {
			// The output says how far the effect got and what its rollback did.
			status, body := classify(err)
			return jsonResponse(status, effectResponse{EffectOutput: out, Error: &body})
		}
		return jsonResponse(http.StatusOK, effectResponse{EffectOutput: out})
	default:
		return errorResponse(http.StatusNotFound, codeNotFound, fmt.Sprintf("no operation %q (compute or effect)", operation))
	}
}

// serveOperation is the handler of POST /v1/nodes/{name}/{compute,effect}: the local node
// when loaded here, else the Router's cluster, else 404.
func (s *Server) serveOperation(operation string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.Ready() {
			writeNotReady(w)
			return
		}
		name := r.PathValue("name")
		n := s.acquire(name)
		if n == nil && s.opts.Router == nil {
			writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no node named %q", name))
			return
		}
		if n != nil {
			defer n.release()
		}
		b, ok := s.body(w, r)
		if !ok {
			return
		}
		if n != nil {
			exec := func(ctx context.Context) Response {
				return s.invoke(ctx, n, operation, b, r.Header.Get("X-Correlation-ID"))
			}
			if operation == OperationEffect && s.opts.Effects != nil {
				resp, dedup := s.opts.Effects.Run(r.Context(), name, b, exec)
				if dedup {
					w.Header().Set(HeaderDeduplicated, "true")
				}
				writeResponse(w, resp)
				return
			}
			writeResponse(w, exec(r.Context()))
			return
		}
		resp, err := s.opts.Router.Route(r.Context(), name, operation, b)
		if err != nil {
			s.log.InfoContext(r.Context(), "route", "node", name, "operation", operation, "error", err)
			writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no node named %q here or in the cluster: %v", name, err))
			return
		}
		writeResponse(w, resp)
	}
}

// jsonResponse encodes v as a Response body, as writeJSON would.
func jsonResponse(status int, v any) Response {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return errorResponse(http.StatusInternalServerError, "internal", "encoding the response: "+err.Error())
	}
	return Response{Status: status, Body: buf.Bytes()}
}

// errorResponse is the Response of an error the server itself gives.
func errorResponse(status int, code, message string) Response {
	return jsonResponse(status, apiError{Error: errorBody{Code: code, Message: message}})
}

// notReadyResponse is the answer to an operation before the server is ready: until Load
// has loaded every node and Options.BeforeReady (crash recovery) has returned, no
// operation runs, so that no effect runs on state a crash left half-changed, nor is
// undone by the recovery. 503, code "unavailable", retryable.
func notReadyResponse() Response {
	return jsonResponse(http.StatusServiceUnavailable, apiError{Error: errorBody{Code: codeUnavailable,
		Message: "not ready: nodes are loading or crash recovery is running", Retryable: true}})
}

// writeNotReady writes notReadyResponse, with Retry-After.
func writeNotReady(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeResponse(w, notReadyResponse())
}

// writeResponse writes r.
func writeResponse(w http.ResponseWriter, r Response) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body) // the client went away: nothing to do
}
