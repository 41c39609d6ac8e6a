package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/server/config"
)

// clusterReducers is serve's server.ReducerCluster with NATS on: the cluster's
// Reducers (host/cluster), started once the server has loaded its nodes (their folds
// are its reducer nodes) and before it is ready. Until then its doors answer 503.
type clusterReducers struct {
	r atomic.Pointer[cluster.Reducers]
}

// errReducersNotStarted answers a reducer request that came before the start (503).
var errReducersNotStarted = errors.New("the cluster's reducers are not started yet")

func (c *clusterReducers) get() (*cluster.Reducers, error) {
	r := c.r.Load()
	if r == nil {
		return nil, errReducersNotStarted
	}
	return r, nil
}

func (c *clusterReducers) Apply(ctx context.Context, node, key string, ev abi.ReduceEvent) (reducer.Result, error) {
	r, err := c.get()
	if err != nil {
		return reducer.Result{}, err
	}
	return r.Apply(ctx, node, key, ev)
}

func (c *clusterReducers) State(ctx context.Context, node, key string) (uint64, json.RawMessage, error) {
	r, err := c.get()
	if err != nil {
		return 0, nil, err
	}
	return r.State(ctx, node, key)
}

func (c *clusterReducers) Keys(ctx context.Context, node, after string, limit int) ([]reducer.KeyInfo, bool, error) {
	r, err := c.get()
	if err != nil {
		return nil, false, err
	}
	return r.Keys(ctx, node, after, limit)
}

func (c *clusterReducers) FailedIntents(ctx context.Context, node string) ([]reducer.FailedIntent, error) {
	r, err := c.get()
	if err != nil {
		return nil, err
	}
	return r.FailedIntents(ctx, node)
}

func (c *clusterReducers) RetryFailed(ctx context.Context, node, opID string) error {
	r, err := c.get()
	if err != nil {
		return err
	}
	return r.RetryFailed(ctx, node, opID)
}

func (c *clusterReducers) DeadLetters(ctx context.Context, node string) ([]reducer.DeadLetter, error) {
	r, err := c.get()
	if err != nil {
		return nil, err
	}
	return r.DeadLetters(ctx, node)
}

func (c *clusterReducers) RetryDeadLetter(ctx context.Context, node, key, eventID string) (reducer.Result, error) {
	r, err := c.get()
	if err != nil {
		return reducer.Result{}, err
	}
	return r.RetryDeadLetter(ctx, node, key, eventID)
}

func (c *clusterReducers) PendingIntents() map[string]int {
	r, err := c.get()
	if err != nil {
		return nil
	}
	return r.PendingIntents()
}

// startReducers starts the cluster's Reducers for srv's reducer nodes: events for a key
// reach its owner from any host; the owner publishes each state change on its event
// bus (which the bridge carries to every host) and carries out its keys' intents
// through the cluster, like any effect call.
func (p *natsParts) startReducers(ctx context.Context, f *config.File, srv *server.Server, logger *slog.Logger) error {
	r, err := cluster.NewReducers(ctx, p.nc, p.hostID, srv.ReducerFolds(), cluster.ReducersConfig{
		Replicas: f.NATS.Replicas, Logger: logger,
		OnApplied: srv.PublishStateChange,
		Carry:     p.carryIntent,
	})
	if err != nil {
		return err
	}
	p.reducers.r.Store(r)
	return nil
}

// carryIntent runs an intent's effect somewhere in the cluster with the intent's
// operation id, so a repeat is answered rather than run again (EffectRecords). An error
// answer that asking again cannot change (a 4xx other than 408 and 429, not marked
// retryable) is permanent: the intent goes to the failed intents.
func (p *natsParts) carryIntent(ctx context.Context, e reducer.OutboxEntry) error {
	data := e.Intent.OperationData
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	_, err := p.client.Effect(ctx, e.Intent.Node, abi.EffectInput{EffectType: e.Intent.EffectType, OperationData: data, OperationID: e.OperationID})
	if re, ok := errors.AsType[*cluster.RemoteError](err); ok && re.Status >= 400 && re.Status < 500 &&
		re.Status != http.StatusRequestTimeout && re.Status != http.StatusTooManyRequests && !re.Retryable {
		return reducer.Permanent(fmt.Errorf("intent %s: %w", e.OperationID, err))
	}
	return err
}

// closeReducers stops the cluster's Reducers (its partitions go to other hosts at
// once); after the HTTP server and the NATS service stopped, before the connection.
func (p *natsParts) closeReducers() {
	if p == nil {
		return
	}
	if r := p.reducers.r.Load(); r != nil {
		r.Close()
	}
}
