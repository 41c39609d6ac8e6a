package server

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer"
)

// ReducerCluster holds the state of reducer keys across a cluster (package
// host/cluster's Reducers): Options.ReducerCluster. Its methods must be safe for
// concurrent use. Errors are mapped to HTTP answers by what they match: a
// *reducer.FoldError 422 (the state is unchanged), reducer.ErrInvalidEvent 400,
// reducer.ErrNotFound 404 (no such reducer node on the key's owner),
// context.DeadlineExceeded 504, anything else 503 (retryable: deliver again with the
// same event id).
type ReducerCluster interface {
	// Apply applies ev to key of node on the key's owner and answers once it is durable.
	// ctx carries the request's reduction (ReductionOf).
	Apply(ctx context.Context, node, key string, ev abi.ReduceEvent) (reducer.Result, error)
	// State returns key's sequence and state (0 and nil for a key without events).
	State(ctx context.Context, node, key string) (uint64, json.RawMessage, error)
	// Keys lists up to limit keys of node after the key after, in the order of
	// reducer.Store.Keys, and whether more follow.
	Keys(ctx context.Context, node, after string, limit int) ([]reducer.KeyInfo, bool, error)
	// FailedIntents lists node's intents whose effect refused them for good.
	FailedIntents(ctx context.Context, node string) ([]reducer.FailedIntent, error)
	// RetryFailed puts node's failed intent opID back among its key's pending intents;
	// reducer.ErrNotFound when there is none.
	RetryFailed(ctx context.Context, node, opID string) error
	// DeadLetters lists node's events whose fold failed and that were not applied since,
	// ordered by key, then event id.
	DeadLetters(ctx context.Context, node string) ([]reducer.DeadLetter, error)
	// RetryDeadLetter applies the dead letter (node, key, eventID)'s event again on the
	// key's owner, as Apply does (ctx carries the request's reduction); the dead letter
	// goes when it is applied. reducer.ErrNotFound when there is none.
	RetryDeadLetter(ctx context.Context, node, key, eventID string) (reducer.Result, error)
	// PendingIntents returns, per reducer node, the intents pending on the keys this
	// host owns (each key counted by one host: summed over the hosts, the cluster's),
	// without blocking on the network.
	PendingIntents() map[string]int
}

// ReductionOf returns the reduction an HTTP request named (?reduction=) for a fold
// called with ctx, or "" (the node's first).
func ReductionOf(ctx context.Context) string {
	r, _ := ctx.Value(reductionKey{}).(string)
	return r
}

// WithReduction returns ctx naming reduction for the folds of reducer nodes
// (ReducerFolds): a cluster passes on the reduction a request named to the key's owner.
func WithReduction(ctx context.Context, reduction string) context.Context {
	if reduction == "" {
		return ctx
	}
	return context.WithValue(ctx, reductionKey{}, reduction)
}

// ReducerFolds returns the fold of every reducer node loaded now, by name: each folds
// through the version serving at the time of the call (a reload is picked up), with
// the reduction its context names (WithReduction) or the input names, else the
// manifest's first. A cluster's Reducers is built from it once the server has loaded.
func (s *Server) ReducerFolds() map[string]reducer.Fold {
	out := map[string]reducer.Fold{}
	for _, name := range slices.Sorted(maps.Keys(*s.nodes.Load())) {
		n := s.acquire(name)
		if n == nil {
			continue
		}
		if n.reducer != nil {
			out[name] = s.currentFold(name)
		}
		n.release()
	}
	return out
}

// writeClustered writes the answer to a clustered reducer request that failed.
func (s *Server) writeClustered(w http.ResponseWriter, n *node, key, eventID string, err error) {
	if _, ok := errors.AsType[*reducer.FoldError](err); ok {
		s.writeApplied(w, n, key, eventID, reducer.Result{}, err)
		return
	}
	status, code, retryable := http.StatusServiceUnavailable, "unavailable", true
	switch {
	case errors.Is(err, reducer.ErrInvalidEvent):
		status, code, retryable = http.StatusBadRequest, codeInvalidInput, false
	case errors.Is(err, reducer.ErrNotFound):
		status, code, retryable = http.StatusNotFound, codeNotFound, false
	case errors.Is(err, context.DeadlineExceeded):
		status, code = http.StatusGatewayTimeout, "timeout"
	}
	writeJSON(w, status, apiError{Error: errorBody{Code: code, Message: err.Error(), Retryable: retryable}})
}

// PublishStateChange publishes a TopicReducerStateChanged event for an event applied
// to key of reducer node (not for a Duplicate), as the server does for the events it
// applies to its own store. A cluster's key owner calls it for every event it applies,
// whichever host received it, so GET /v1/reducers/{node}/events on the owner (and, with
// the event bridge, on every host) streams them.
func (s *Server) PublishStateChange(ctx context.Context, node, key, eventID string, res reducer.Result) {
	if res.Duplicate {
		return
	}
	s.publishChange(ctx, node, key, eventID, res)
}
