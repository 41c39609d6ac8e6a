package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
)

// Handler returns the server's HTTP handler (see the package documentation for the API).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !s.Ready() {
			writeError(w, http.StatusServiceUnavailable, codeUnavailable, "not ready: nodes are loading or crash recovery is running")
			return
		}
		if s.holds.Load() > 0 {
			writeError(w, http.StatusServiceUnavailable, codeUnavailable, "not ready: still starting (the workflow engine)")
			return
		}
		if q := s.quarantine(); q != nil {
			writeJSON(w, http.StatusServiceUnavailable, q)
			return
		}
		body := map[string]any{"status": "ready", "nodes": s.Names()}
		if s.opts.Status != nil {
			for k, v := range s.opts.Status() {
				body[k] = v
			}
		}
		writeJSON(w, http.StatusOK, body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /v1/nodes", s.authorize(RoleInvoke, s.listNodes))
	mux.HandleFunc("GET /v1/nodes/{name}", s.authorize(RoleInvoke, s.getNode))
	mux.HandleFunc("POST /v1/nodes/{name}/compute", s.authorize(RoleInvoke, s.serveOperation(OperationCompute)))
	mux.HandleFunc("POST /v1/nodes/{name}/batch", s.authorize(RoleInvoke, s.batch))
	mux.HandleFunc("POST /v1/nodes/{name}/effect", s.authorize(RoleInvoke, s.serveOperation(OperationEffect)))
	mux.HandleFunc("POST /v1/nodes/{name}/reload", s.authorize(RoleAdmin, s.reload))
	mux.HandleFunc("GET /v1/cache", s.authorize(RoleInvoke, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.host.CacheStats())
	}))
	mux.HandleFunc("DELETE /v1/cache", s.authorize(RoleAdmin, func(w http.ResponseWriter, r *http.Request) {
		if err := s.host.ClearCache(r.Context()); err != nil {
			writeError(w, http.StatusServiceUnavailable, codeUnavailable, err.Error()+" (this host's level was cleared)")
			return
		}
		writeJSON(w, http.StatusOK, s.host.CacheStats())
	}))
	mux.HandleFunc("GET /v1/breakers", s.authorize(RoleInvoke, s.listBreakers))
	mux.HandleFunc("POST /v1/breakers/{action}", s.authorize(RoleAdmin, s.operateBreaker))
	mux.HandleFunc("GET /v1/events", s.authorize(RoleInvoke, s.streamEvents))
	s.registerReducers(mux)
	s.registerWorkflows(mux)
	mux.HandleFunc("GET /v1/journal", s.authorize(RoleAdmin, s.listJournal))
	mux.HandleFunc("GET /v1/journal/{id}", s.authorize(RoleAdmin, s.getJournal))
	s.handleUI(mux)
	return s.traced(s.logged(mux))
}

// nodeInfo is what /v1/nodes says of a node.
type nodeInfo struct {
	Name     string         `json:"name"`
	Path     string         `json:"path"`
	Digest   string         `json:"digest"`
	Flavour  host.Flavour   `json:"flavour"`
	Manifest abi.Manifest   `json:"manifest"`
	Pool     host.PoolStats `json:"pool"`
}

func info(n *node) nodeInfo {
	if n.plugin == nil {
		return nodeInfo{Name: n.name, Path: n.spec.source(), Digest: n.digest(), Flavour: "fsm",
			Manifest: abi.Manifest{Name: n.name, Kind: abi.KindReducer}}
	}
	return nodeInfo{Name: n.name, Path: n.spec.Path, Digest: n.plugin.Digest(), Flavour: n.plugin.Flavour(),
		Manifest: n.plugin.Manifest(), Pool: n.plugin.Stats()}
}

func (s *Server) listNodes(w http.ResponseWriter, r *http.Request) {
	nodes := *s.nodes.Load()
	out := make([]nodeInfo, 0, len(nodes))
	for _, name := range slices.Sorted(maps.Keys(nodes)) {
		out = append(out, info(nodes[name]))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getNode(w http.ResponseWriter, r *http.Request) {
	n := s.node(w, r)
	if n == nil {
		return
	}
	defer n.release()
	writeJSON(w, http.StatusOK, info(n))
}

// node acquires the node the request names, or writes 404.
func (s *Server) node(w http.ResponseWriter, r *http.Request) *node {
	name := r.PathValue("name")
	n := s.acquire(name)
	if n == nil {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no node named %q", name))
	}
	return n
}

// body reads the request body up to the limit, or writes the error.
func (s *Server) body(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("the body exceeds %d bytes", s.opts.MaxRequestBytes))
		} else {
			writeError(w, http.StatusBadRequest, codeBadRequest, "reading the body: "+err.Error())
		}
		return nil, false
	}
	return b, true
}

// batchItem is one line of a batch response: the output, or the error.
type batchItem struct {
	*abi.ComputeOutput
	Error *errorBody `json:"error,omitempty"`
}

func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
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
	if n != nil && n.compute == nil {
		writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("%s is not a compute node: batches are for compute nodes", n.name))
		return
	}
	b, ok := s.body(w, r)
	if !ok {
		return
	}
	ndjson := r.Header.Get("Content-Type") == "application/x-ndjson"
	var inputs []abi.ComputeInput
	if ndjson {
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), int(s.opts.MaxRequestBytes))
		for line := 1; sc.Scan(); line++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			in, err := abi.DecodeComputeInput(sc.Bytes())
			if err != nil {
				writeError(w, http.StatusBadRequest, codeInvalidInput, fmt.Sprintf("line %d: %v", line, err))
				return
			}
			inputs = append(inputs, in)
		}
	} else {
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			writeError(w, http.StatusBadRequest, codeInvalidInput, "the body must be a JSON array of ComputeInput objects (or NDJSON with Content-Type application/x-ndjson): "+err.Error())
			return
		}
		for i, item := range items {
			// The envelope decoder is the doors' one strict decoder (unknown fields, a
			// missing computation_type and invalid UTF-8 are refused).
			in, err := abi.DecodeComputeInput(item)
			if err != nil {
				writeError(w, http.StatusBadRequest, codeInvalidInput, fmt.Sprintf("item %d: %v", i, err))
				return
			}
			inputs = append(inputs, in)
		}
	}
	if n == nil {
		items, err := s.routeBatch(r.Context(), name, inputs)
		if err != nil {
			writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no node named %q here or in the cluster: %v", name, err))
			return
		}
		writeBatch(w, items, ndjson)
		return
	}
	start := time.Now()
	results, err := n.compute.ProcessBatch(r.Context(), inputs, compute.BatchOptions{})
	if err != nil && results == nil {
		writeHostError(w, err, "")
		return
	}
	items := make([]batchItem, len(results))
	for i, res := range results {
		s.metrics.observe(n.name, inputs[i].Computation(), "compute", 0, res.Output.FuelUsed, res.Err)
		if res.Err != nil {
			_, body := classify(res.Err)
			out := abi.ComputeOutput{OperationID: res.Output.OperationID, ComputationType: res.Output.ComputationType}
			items[i] = batchItem{ComputeOutput: &out, Error: &body}
			continue
		}
		out := res.Output
		items[i] = batchItem{ComputeOutput: &out}
	}
	s.metrics.batchSeconds.WithLabelValues(n.name).Observe(time.Since(start).Seconds())
	writeBatch(w, items, ndjson)
}

// writeBatch writes a batch's items as a JSON array, or as NDJSON.
func writeBatch(w http.ResponseWriter, items []batchItem, ndjson bool) {
	if !ndjson {
		writeJSON(w, http.StatusOK, items)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if enc.Encode(it) != nil {
			return
		}
	}
}

// routeBatchParallel bounds the items of a routed batch in flight at once.
const routeBatchParallel = 16

// routeBatch sends each input of a batch for a node loaded elsewhere to the cluster, at
// most routeBatchParallel at once, and returns the items in input order; an item no host
// answered is an "unavailable" error item. The error is the cluster's when no item got an
// answer at all.
func (s *Server) routeBatch(ctx context.Context, name string, inputs []abi.ComputeInput) ([]batchItem, error) {
	items := make([]batchItem, len(inputs))
	errs := make([]error, len(inputs))
	// routeBatchParallel workers take the items in order: the goroutines are bounded
	// however long the batch is.
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(routeBatchParallel, len(inputs)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(inputs); i = int(next.Add(1) - 1) {
				s.routeItem(ctx, name, i, inputs[i], items, errs)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 && !slices.ContainsFunc(errs, func(err error) bool { return err == nil }) {
		return nil, errs[0] // no host answered at all
	}
	for i, err := range errs {
		if err == nil {
			continue
		}
		items[i] = batchItem{ComputeOutput: &abi.ComputeOutput{OperationID: inputs[i].OperationID, ComputationType: inputs[i].Computation()},
			Error: &errorBody{Code: codeUnavailable, Message: err.Error(), Retryable: true}}
	}
	return items, nil
}

// routeItem routes inputs[i] = in and fills items[i] or errs[i].
func (s *Server) routeItem(ctx context.Context, name string, i int, in abi.ComputeInput, items []batchItem, errs []error) {
	body, err := json.Marshal(in)
	if err != nil {
		errs[i] = err
		return
	}
	resp, err := s.opts.Router.Route(ctx, name, OperationCompute, body)
	if err != nil {
		errs[i] = err
		return
	}
	out := &abi.ComputeOutput{}
	var failed apiError
	if resp.Status == http.StatusOK {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			errs[i] = err
		}
	} else if err := json.Unmarshal(resp.Body, &failed); err != nil || failed.Error.Code == "" {
		failed.Error = errorBody{Code: "internal", Message: fmt.Sprintf("status %d: %s", resp.Status, resp.Body)}
	}
	if resp.Status != http.StatusOK {
		out = &abi.ComputeOutput{OperationID: failed.OperationID, ComputationType: in.Computation()}
		items[i] = batchItem{ComputeOutput: out, Error: &failed.Error}
		return
	}
	items[i] = batchItem{ComputeOutput: out}
}

// effectResponse is an effect's response: the output, and the error when it failed.
type effectResponse struct {
	abi.EffectOutput
	Error *errorBody `json:"error,omitempty"`
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	digest, err := s.Reload(r.Context(), name)
	switch {
	case errors.Is(err, errUnknownNode):
		writeError(w, http.StatusNotFound, codeNotFound, err.Error())
	case err != nil:
		status, body := classify(err)
		if status == http.StatusInternalServerError {
			status, body.Code = http.StatusUnprocessableEntity, "reload_failed"
		}
		writeJSON(w, status, apiError{Error: body})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"node": name, "digest": digest})
	}
}

// breakerInfo is what /v1/breakers says of a breaker. Every call asked of it is in exactly
// one of successes, failures, rejected, late and canceled once it has finished.
type breakerInfo struct {
	Service    string    `json:"service"`
	State      string    `json:"state"`
	Disabled   bool      `json:"disabled,omitempty"`
	OpenedAt   time.Time `json:"opened_at,omitzero"`
	RetryAfter float64   `json:"retry_after_seconds,omitempty"`
	Successes  uint64    `json:"successes"`
	Failures   uint64    `json:"failures"`
	Rejected   uint64    `json:"rejected"`
	// Late counts results not judged because the breaker changed state while the call ran.
	Late uint64 `json:"late"`
	// Canceled counts calls whose caller gave up.
	Canceled uint64 `json:"canceled"`
}

func (s *Server) listBreakers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.breakerInfos())
}

func (s *Server) operateBreaker(w http.ResponseWriter, r *http.Request) {
	service := r.URL.Query().Get("service")
	if service == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "the service query parameter is required, e.g. ?service=http:api.example.com")
		return
	}
	switch action := r.PathValue("action"); action {
	case "force-open":
		s.host.ForceOpenBreaker(service)
	case "force-close":
		s.host.ForceCloseBreaker(service)
	case "reset":
		s.host.ResetBreaker(service)
	default:
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("unknown action %q (want force-open, force-close or reset)", action))
		return
	}
	s.log.InfoContext(r.Context(), "breaker operated", "service", service, "action", r.PathValue("action"))
	s.listBreakers(w, r)
}

// logged logs one record per request: method, path, status, duration. Never headers.
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		s.log.DebugContext(r.Context(), "request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
	})
}

// statusWriter remembers the status written, and passes Flush through for event streams.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
