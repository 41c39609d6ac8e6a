package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/container"
	"github.com/onexhost/onex-host/host/events"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/reducer/fsm"
)

// Reducer nodes (package host/reducer) are served under /v1/reducers/{node}: the server
// owns each key's state in Options.Reducers; the plugin only folds.
//
//	POST /v1/reducers/{node}/keys/{key}/events       apply one event (abi.ReduceEvent)
//	GET  /v1/reducers/{node}/keys/{key}              a key's state and sequence
//	GET  /v1/reducers/{node}/keys?cursor=&limit=     the node's keys, paged
//	GET  /v1/reducers/{node}/dead-letters            events whose fold failed
//	POST /v1/reducers/{node}/dead-letters/retry?key=&event_id=
//	GET  /v1/reducers/{node}/failed-intents          intents whose effect refused them for good
//	POST /v1/reducers/{node}/failed-intents/retry?operation_id=
//	GET  /v1/reducers/{node}/events[?key=]           state changes, as server-sent events

// TopicReducerStateChanged is the bus topic of a reducer's state changes: one event per
// applied (not duplicate) event, EventType "reducer.state_changed", Key the key, Headers
// "node", Payload a StateChange. GET /v1/reducers/{node}/events streams them.
const TopicReducerStateChanged = "onex.evt.reducer.state_changed.v1"

// StateChange is the payload of a TopicReducerStateChanged event.
type StateChange struct {
	Node     string          `json:"node"`
	Key      string          `json:"key"`
	Sequence uint64          `json:"sequence"`
	EventID  string          `json:"event_id"`
	State    json.RawMessage `json:"state"`
	Intents  int             `json:"intents"` // how many intents the event produced
}

// Default and largest page sizes of GET /v1/reducers/{node}/keys.
const (
	defaultKeysLimit = 100
	maxKeysLimit     = 1000
)

// foldSource returns the fold of a reducer node version: where the fold comes from.
// Today the plugin's onex_reduce export (reducer.FoldOf); another source (an FSM
// contract named by the node's spec) is one more case here.
func foldSource(spec NodeSpec, p *host.Plugin) (reducer.Fold, error) {
	if spec.FSM != "" {
		m, err := fsm.LoadFile(spec.FSM)
		if err != nil {
			return nil, err
		}
		return m.Fold(), nil
	}
	return reducer.FoldOf(p)
}

// loadFSM loads an FSM contract spec (NodeSpec.FSM) as a reducer node without a plugin.
func (s *Server) loadFSM(spec NodeSpec, prev *node) (*node, error) {
	m, err := fsm.LoadFile(spec.FSM)
	if err != nil {
		return nil, err
	}
	name := m.Name()
	if spec.Name != "" {
		name = spec.Name
	}
	n := &node{name: name, spec: spec, idle: make(chan struct{}), fsmDigest: "fsm:" + m.Name() + "@" + m.Version()}
	if err := s.loadReducer(n, prev); err != nil {
		return nil, err
	}
	return n, nil
}

// reductionKey carries the reduction a request names (?reduction=) to the fold.
type reductionKey struct{}

// loadReducer makes n, a freshly loaded reducer plugin, a reducer node: its fold, and
// the reducer.Node of its name — prev's, when n replaces it (reload), so that the
// per-key order holds across versions.
func (s *Server) loadReducer(n *node, prev *node) error {
	fold, err := foldSource(n.spec, n.plugin)
	if err != nil {
		return err
	}
	n.fold = fold
	if prev != nil && prev.reducer != nil && prev.name == n.name {
		n.reducer = prev.reducer
		return nil
	}
	if s.opts.Reducers == nil {
		return fmt.Errorf("server: %s is a reducer node and the server has no reducer store (Options.Reducers)", n.name)
	}
	n.reducer, err = reducer.NewNode(n.name, "", s.currentFold(n.name), s.opts.Reducers)
	return err
}

// currentFold is the fold of the reducer node name's reducer.Node: it folds through the
// version serving at the time of the call, with the reduction the request named (or the
// manifest's first). A version closed by a reload before the fold reached it is not the
// event's fault: the fold, being pure, runs again on the version now serving.
func (s *Server) currentFold(name string) reducer.Fold {
	return func(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
		for attempt := 0; ; attempt++ {
			n := s.acquire(name)
			if n == nil || n.fold == nil {
				return abi.ReduceOutput{}, fmt.Errorf("server: reducer %s is not loaded: %w", name, host.ErrUnavailable)
			}
			if r, ok := ctx.Value(reductionKey{}).(string); ok && r != "" {
				in.Reduction = r
			}
			if in.Reduction == "" {
				in.Reduction = defaultReduction(n)
			}
			out, err := n.fold(ctx, in)
			n.release()
			if errors.Is(err, host.ErrClosed) && attempt == 0 {
				continue
			}
			return out, err
		}
	}
}

// defaultReduction is the reduction run when a request names none: the manifest's first.
func defaultReduction(n *node) string {
	if cs := n.computations(); len(cs) > 0 {
		return cs[0].Name
	}
	return ""
}

// reducerNode acquires the reducer node the request names, or writes 404.
func (s *Server) reducerNode(w http.ResponseWriter, r *http.Request) *node {
	name := r.PathValue("node")
	n := s.acquire(name)
	if n == nil {
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("no reducer node named %q", name))
		return nil
	}
	if n.reducer == nil {
		n.release()
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("%s is a %s node, not a reducer", name, n.kind()))
		return nil
	}
	return n
}

// reduceContext returns ctx carrying the ?reduction= of r, or writes 404 for a reduction
// the node lacks (before anything is folded, so it is no dead letter).
func reduceContext(w http.ResponseWriter, r *http.Request, n *node) (context.Context, bool) {
	red := r.URL.Query().Get("reduction")
	if red == "" {
		return r.Context(), true
	}
	if !slices.ContainsFunc(n.computations(), func(c abi.Computation) bool { return c.Name == red }) {
		writeError(w, http.StatusNotFound, "unknown_computation", fmt.Sprintf("reducer %s has no reduction %q", n.name, red))
		return nil, false
	}
	return context.WithValue(r.Context(), reductionKey{}, red), true
}

// reduceResponse is the answer to an applied (or duplicate) event.
type reduceResponse struct {
	Node      string                `json:"node"`
	Key       string                `json:"key"`
	Sequence  uint64                `json:"sequence"`
	State     json.RawMessage       `json:"state"`
	Intents   []reducer.OutboxEntry `json:"intents"`
	Duplicate bool                  `json:"duplicate"`
	// Projection is the fold's projection of this event (an FSM node's fsm_state, …);
	// absent when it gave none, and for a duplicate.
	Projection json.RawMessage `json:"projection,omitempty"`
}

// foldFailure is the 422 answer to an event whose fold failed: the state is unchanged
// and the event is a dead letter (retry with POST .../dead-letters/retry).
type foldFailure struct {
	Error errorBody `json:"error"`
	// Cause is the fold's own error: the plugin's code and message.
	Cause      errorBody `json:"cause"`
	Key        string    `json:"key"`
	EventID    string    `json:"event_id"`
	DeadLetter bool      `json:"dead_letter"`
}

// acceptedResponse is the 202 answer to an asynchronous event.
type acceptedResponse struct {
	Node    string `json:"node"`
	Key     string `json:"key"`
	EventID string `json:"event_id"`
	// Durable is false: the event is applied after the answer; see postEvent.
	Durable bool `json:"durable"`
}

// postEvent is POST /v1/reducers/{node}/keys/{key}/events. The body is one
// abi.ReduceEvent, decoded strictly (abi.DecodeReduceEvent). Synchronously (the default)
// the answer comes once the event's new state, sequence, id and intents are durable.
//
// Asynchronously (?async=true, or the header "Prefer: respond-async") the answer is 202
// as soon as the event is decoded, BEFORE it is applied: it is not durable at the 202 and
// is lost if the process dies before applying it. A client that must know redelivers the
// same event_id (duplicates change nothing) or reads the key's sequence.
func (s *Server) postEvent(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		writeNotReady(w)
		return
	}
	n := s.reducerNode(w, r)
	if n == nil {
		return
	}
	defer n.release()
	ctx, ok := reduceContext(w, r, n)
	if !ok {
		return
	}
	b, ok := s.body(w, r)
	if !ok {
		return
	}
	ev, err := abi.DecodeReduceEvent(b)
	if err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidInput, err.Error())
		return
	}
	key := r.PathValue("key")
	if r.URL.Query().Get("async") == "true" || strings.Contains(strings.ToLower(r.Header.Get("Prefer")), "respond-async") {
		n.refs.Add(1) // the apply holds the version, so a reload waits for it
		go func() {
			defer n.release()
			if _, err := s.apply(context.WithoutCancel(ctx), n, key, ev); err != nil {
				s.log.Warn("asynchronous reducer event failed", "node", n.name, "key", key, "event_id", ev.EventID, "error", err)
			}
		}()
		w.Header().Set("Preference-Applied", "respond-async")
		writeJSON(w, http.StatusAccepted, acceptedResponse{Node: n.name, Key: key, EventID: ev.EventID})
		return
	}
	res, err := s.apply(ctx, n, key, ev)
	if err != nil && s.opts.ReducerCluster != nil {
		s.writeClustered(w, n, key, ev.EventID, err)
		return
	}
	s.writeApplied(w, n, key, ev.EventID, res, err)
}

// apply applies ev to key with metrics, and publishes the state change.
func (s *Server) apply(ctx context.Context, n *node, key string, ev abi.ReduceEvent) (reducer.Result, error) {
	start := time.Now()
	if s.opts.ReducerCluster != nil { // the key's owner publishes the change (PublishStateChange)
		res, err := s.opts.ReducerCluster.Apply(ctx, n.name, key, ev)
		s.reducerMetrics.observe(n.name, time.Since(start), res, err)
		return res, err
	}
	res, err := n.reducer.Apply(ctx, key, ev)
	s.reducerMetrics.observe(n.name, time.Since(start), res, err)
	if err == nil && !res.Duplicate {
		s.publishChange(ctx, n.name, key, ev.EventID, res)
	}
	return res, err
}

// publishChange publishes a TopicReducerStateChanged event on the host's bus. A bus that
// refuses it (closed, or a blocking subscriber outlasting ctx) costs only the event stream.
func (s *Server) publishChange(ctx context.Context, node, key, eventID string, res reducer.Result) {
	bus, err := container.Get[*events.Bus](s.host.Services(), host.ServiceEvents)
	if err != nil {
		return
	}
	payload, err := json.Marshal(StateChange{Node: node, Key: key, Sequence: res.Sequence, EventID: eventID, State: res.State, Intents: len(res.Intents)})
	if err != nil {
		return
	}
	e := abi.Event{EventType: "reducer.state_changed", Topic: TopicReducerStateChanged, Key: key,
		Headers: map[string]string{"node": node}, Payload: payload}
	if err := bus.Publish(ctx, e); err != nil {
		s.log.Debug("reducer state change not published", "node", node, "key", key, "error", err)
	}
}

// writeApplied writes the answer to Apply or Retry.
func (s *Server) writeApplied(w http.ResponseWriter, n *node, key, eventID string, res reducer.Result, err error) {
	if err == nil {
		intents := res.Intents
		if intents == nil {
			intents = []reducer.OutboxEntry{}
		}
		writeJSON(w, http.StatusOK, reduceResponse{Node: n.name, Key: key, Sequence: res.Sequence, State: res.State,
			Intents: intents, Duplicate: res.Duplicate, Projection: res.Projection})
		return
	}
	if fe, ok := errors.AsType[*reducer.FoldError](err); ok {
		_, cause := classify(fe.Err)
		writeJSON(w, http.StatusUnprocessableEntity, foldFailure{
			Error: errorBody{Code: "fold_failed", Message: fe.Error()}, Cause: cause,
			Key: key, EventID: eventID, DeadLetter: true})
		return
	}
	status, code, retryable := http.StatusInternalServerError, "internal", true // may or may not be applied: redeliver
	switch {
	case errors.Is(err, reducer.ErrInvalidEvent):
		status, code, retryable = http.StatusBadRequest, codeInvalidInput, false
	case errors.Is(err, reducer.ErrNotFound):
		status, code, retryable = http.StatusNotFound, codeNotFound, false
	case errors.Is(err, reducer.ErrConflict):
		status, code = http.StatusConflict, "conflict"
	case errors.Is(err, reducer.ErrClosed):
		status, code = http.StatusServiceUnavailable, "closed"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		status, code = http.StatusServiceUnavailable, "canceled"
	}
	writeJSON(w, status, apiError{Error: errorBody{Code: code, Message: err.Error(), Retryable: retryable}})
}

// keyResponse is GET /v1/reducers/{node}/keys/{key}.
type keyResponse struct {
	Node     string          `json:"node"`
	Key      string          `json:"key"`
	Sequence uint64          `json:"sequence"`
	State    json.RawMessage `json:"state"`
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) {
	n := s.reducerNode(w, r)
	if n == nil {
		return
	}
	defer n.release()
	key := r.PathValue("key")
	var ks reducer.KeyState
	var err error
	if s.opts.ReducerCluster != nil {
		ks.Sequence, ks.State, err = s.opts.ReducerCluster.State(r.Context(), n.name, key)
		if err != nil {
			s.writeClustered(w, n, key, "", err)
			return
		}
	} else {
		ks, err = s.opts.Reducers.State(n.name, key)
	}
	switch {
	case err != nil:
		s.writeApplied(w, n, key, "", reducer.Result{}, err)
	case ks.Sequence == 0:
		writeError(w, http.StatusNotFound, codeNotFound, fmt.Sprintf("reducer %s has no key %q", n.name, key))
	default:
		writeJSON(w, http.StatusOK, keyResponse{Node: n.name, Key: key, Sequence: ks.Sequence, State: ks.State})
	}
}

// keysResponse is GET /v1/reducers/{node}/keys: a page of keys in the store's order
// (shorter keys first, then byte order); NextCursor, when set, is the cursor of the next.
type keysResponse struct {
	Keys       []reducer.KeyInfo `json:"keys"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	n := s.reducerNode(w, r)
	if n == nil {
		return
	}
	defer n.release()
	limit := defaultKeysLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		l, err := strconv.Atoi(v)
		if err != nil || l < 1 || l > maxKeysLimit {
			writeError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf("limit must be an integer from 1 to %d", maxKeysLimit))
			return
		}
		limit = l
	}
	var keys []reducer.KeyInfo
	var more bool
	var err error
	if s.opts.ReducerCluster != nil {
		keys, more, err = s.opts.ReducerCluster.Keys(r.Context(), n.name, r.URL.Query().Get("cursor"), limit)
		if err != nil {
			s.writeClustered(w, n, "", "", err)
			return
		}
	} else {
		keys, more, err = s.opts.Reducers.Keys(n.name, r.URL.Query().Get("cursor"), limit)
	}
	if err != nil {
		s.writeApplied(w, n, "", "", reducer.Result{}, err)
		return
	}
	out := keysResponse{Keys: keys}
	if out.Keys == nil {
		out.Keys = []reducer.KeyInfo{}
	}
	if more {
		out.NextCursor = keys[len(keys)-1].Key
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listDeadLetters(w http.ResponseWriter, r *http.Request) {
	if c := s.opts.ReducerCluster; c != nil {
		listOf(s, w, r, "dead_letters", func(node string) ([]reducer.DeadLetter, error) { return c.DeadLetters(r.Context(), node) })
		return
	}
	listOf(s, w, r, "dead_letters", s.opts.Reducers.DeadLetters)
}

func (s *Server) listFailedIntents(w http.ResponseWriter, r *http.Request) {
	if c := s.opts.ReducerCluster; c != nil {
		listOf(s, w, r, "failed_intents", func(node string) ([]reducer.FailedIntent, error) { return c.FailedIntents(r.Context(), node) })
		return
	}
	listOf(s, w, r, "failed_intents", s.opts.Reducers.FailedIntents)
}

// listOf answers {field: list(node)} for the request's reducer node (an empty list, not
// null, when there is nothing).
func listOf[T any](s *Server, w http.ResponseWriter, r *http.Request, field string, list func(node string) ([]T, error)) {
	n := s.reducerNode(w, r)
	if n == nil {
		return
	}
	defer n.release()
	items, err := list(n.name)
	if err != nil {
		s.writeApplied(w, n, "", "", reducer.Result{}, err)
		return
	}
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, map[string]any{field: items})
}

// retryFailedIntent is POST /v1/reducers/{node}/failed-intents/retry?operation_id=O: the
// intent goes back to the outbox (answered 202; the dispatcher carries it out), 404 when
// the node has no such failed intent.
func (s *Server) retryFailedIntent(w http.ResponseWriter, r *http.Request) {
	n := s.reducerNode(w, r)
	if n == nil {
		return
	}
	defer n.release()
	id := r.URL.Query().Get("operation_id")
	if id == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "the operation_id query parameter is required")
		return
	}
	if c := s.opts.ReducerCluster; c != nil {
		if err := c.RetryFailed(r.Context(), n.name, id); err != nil {
			s.writeClustered(w, n, "", "", err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"operation_id": id, "requeued": true})
		return
	}
	fs, err := s.opts.Reducers.FailedIntents(n.name)
	if err == nil && !slices.ContainsFunc(fs, func(f reducer.FailedIntent) bool { return f.Entry.OperationID == id }) {
		err = fmt.Errorf("%w: node %s has no failed intent %q", reducer.ErrNotFound, n.name, id)
	}
	if err == nil {
		err = s.opts.Reducers.RetryFailed(id)
	}
	if err != nil {
		s.writeApplied(w, n, "", "", reducer.Result{}, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"operation_id": id, "requeued": true})
}

// retryDeadLetter is POST /v1/reducers/{node}/dead-letters/retry?key=K&event_id=E: the
// event is applied again (Node.Retry) and answered as postEvent answers.
func (s *Server) retryDeadLetter(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		writeNotReady(w)
		return
	}
	n := s.reducerNode(w, r)
	if n == nil {
		return
	}
	defer n.release()
	key, id := r.URL.Query().Get("key"), r.URL.Query().Get("event_id")
	if key == "" || id == "" {
		writeError(w, http.StatusBadRequest, codeBadRequest, "the key and event_id query parameters are required")
		return
	}
	ctx, ok := reduceContext(w, r, n)
	if !ok {
		return
	}
	start := time.Now()
	if c := s.opts.ReducerCluster; c != nil { // the key's owner publishes the change
		res, err := c.RetryDeadLetter(ctx, n.name, key, id)
		s.reducerMetrics.observe(n.name, time.Since(start), res, err)
		if err != nil {
			s.writeClustered(w, n, key, id, err)
			return
		}
		s.writeApplied(w, n, key, id, res, nil)
		return
	}
	res, err := n.reducer.Retry(ctx, key, id)
	s.reducerMetrics.observe(n.name, time.Since(start), res, err)
	if err == nil && !res.Duplicate {
		s.publishChange(ctx, n.name, key, id, res)
	}
	s.writeApplied(w, n, key, id, res, err)
}

// streamStateChanges is GET /v1/reducers/{node}/events[?key=K]: the node's state changes
// (TopicReducerStateChanged events; of one key with ?key=) as server-sent events.
func (s *Server) streamStateChanges(w http.ResponseWriter, r *http.Request) {
	n := s.reducerNode(w, r)
	if n == nil {
		return
	}
	name := n.name
	n.release() // the stream outlives versions
	key, byKey := r.URL.Query().Get("key"), r.URL.Query().Has("key")
	s.streamBus(w, r, TopicReducerStateChanged, func(e abi.Event) bool {
		return e.Headers["node"] == name && (!byKey || e.Key == key)
	})
}

// registerReducers adds the reducer routes to mux, with the roles of compute calls.
func (s *Server) registerReducers(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/reducers/{node}/keys/{key}/events", s.authorize(RoleInvoke, s.postEvent))
	mux.HandleFunc("GET /v1/reducers/{node}/keys/{key}", s.authorize(RoleInvoke, s.getKey))
	mux.HandleFunc("GET /v1/reducers/{node}/keys", s.authorize(RoleInvoke, s.listKeys))
	mux.HandleFunc("GET /v1/reducers/{node}/dead-letters", s.authorize(RoleInvoke, s.listDeadLetters))
	mux.HandleFunc("POST /v1/reducers/{node}/dead-letters/retry", s.authorize(RoleInvoke, s.retryDeadLetter))
	mux.HandleFunc("GET /v1/reducers/{node}/failed-intents", s.authorize(RoleInvoke, s.listFailedIntents))
	mux.HandleFunc("POST /v1/reducers/{node}/failed-intents/retry", s.authorize(RoleInvoke, s.retryFailedIntent))
	mux.HandleFunc("GET /v1/reducers/{node}/events", s.authorize(RoleInvoke, s.streamStateChanges))
}
