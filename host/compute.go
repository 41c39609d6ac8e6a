package host

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/cache"
	"github.com/onexhost/onex-host/host/internal/metrics"
)

// ComputeNode runs a compute plugin with ONEX's envelope: it assigns operation ids,
// checks that input and result are JSON, times each call, serves deterministic
// computations from the host's cache, runs batches in parallel and keeps per-computation
// metrics. It is safe for concurrent use by multiple goroutines (each call checks out its
// own instance).
type ComputeNode struct {
	plugin  *Plugin
	metrics *metrics.Registry
}

// ComputationMetrics are ONEX's per-computation metrics, as of one moment.
type ComputationMetrics = metrics.Snapshot

// NewComputeNode wraps p, which must be a compute node (ErrUnsupported otherwise).
func NewComputeNode(p *Plugin) (*ComputeNode, error) {
	if p.manifest.Kind != abi.KindCompute {
		return nil, p.errorf("", ErrUnsupported, "kind %q is not a compute node", p.manifest.Kind)
	}
	return &ComputeNode{plugin: p, metrics: metrics.New()}, nil
}

// Plugin returns the plugin the node runs.
func (n *ComputeNode) Plugin() *Plugin { return n.plugin }

// Metrics returns a snapshot of the node's metrics, by computation. Cache hits count as
// operations with a processing time of 0, as in ONEX.
func (n *ComputeNode) Metrics() map[string]ComputationMetrics { return n.metrics.Snapshot() }

// Invalidate removes the cached result of computation on data (the exact input bytes),
// if any, here and in the shared cache level (Config.SharedCache); a computation of it
// running now does not store its result locally.
func (n *ComputeNode) Invalidate(computation string, data []byte) {
	if len(data) == 0 {
		data = []byte("null")
	}
	key := cache.KeyOf(n.plugin.digest, computation, data)
	n.plugin.host.cache.Invalidate(key)
	if shared := n.plugin.host.cfg.SharedCache; shared != nil {
		if err := shared.Invalidate(context.Background(), key.String()); err != nil {
			n.plugin.logger.Warn("shared cache: invalidate failed", "computation", computation, "error", err)
		}
	}
}

// Process runs one ComputeInput. An empty OperationID gets a fresh UUID and an empty
// ComputationType means abi.DefaultComputation. Data that is not JSON fails with
// ErrInvalidInput before the guest runs; a result that is not JSON fails with
// ErrInvalidOutput.
//
// When the manifest declares the node deterministic, the input does not set NoCache and
// the plugin's CacheTTL is not negative,
// the result comes from the host's cache when present (CacheHit true, ProcessingTimeMS 0,
// the original result bytes); otherwise concurrent callers of the same input share one
// guest call, and its result is cached. CacheOutcome then says how this call was answered
// ("hit", "shared_hit", "joined" or "miss", as counted in Host.CacheStats); it is empty
// when the cache was not asked. ProcessingTimeMS is the wall time of the call,
// including the wait for an instance or for a shared computation. Errors are never cached;
// other errors are those of Plugin.Call. On error the output carries only the operation
// id and the computation type.
func (n *ComputeNode) Process(ctx context.Context, in abi.ComputeInput) (abi.ComputeOutput, error) {
	return n.process(ctx, in, false)
}

func (n *ComputeNode) process(ctx context.Context, in abi.ComputeInput, parallel bool) (abi.ComputeOutput, error) {
	p := n.plugin
	name := in.Computation()
	opID := in.OperationID
	if opID == "" {
		opID = uuid.NewString()
	}
	data := []byte(in.Data)
	if len(data) == 0 {
		data = []byte("null")
	}
	start := time.Now()
	var (
		result  []byte
		outcome cache.Outcome
		cached  bool // the cache was asked
		err     error
		// fuel is the metered work of this caller's own guest call, if it made one, and
		// acquire the time that call spent getting an instance (waiting for one or
		// creating it). The shared computation may outlive a caller that gave up
		// waiting: hence atomic.
		fuel    atomic.Uint64
		acquire atomic.Int64
	)
	if p.manifest.Deterministic && !in.NoCache && p.limits.cacheTTL >= 0 {
		// A hit skips validating the input: its bytes hash to those of an input that
		// was validated when the result was stored.
		key := cache.KeyOf(p.digest, name, data)
		cached = true
		result, outcome, err = p.host.fetch(ctx, key, p.limits.cacheTTL, func(ctx context.Context) ([]byte, error) {
			var st callStats
			res, err := n.call(ctx, name, opID, data, &st)
			fuel.Store(st.fuel)
			acquire.Store(int64(st.acquire))
			return res, err
		})
		if err != nil {
			err = n.cacheError(name, err)
		} else {
			result = append([]byte(nil), result...) // the cache's bytes stay the cache's
		}
	} else {
		var st callStats
		result, err = n.call(ctx, name, opID, data, &st)
		fuel.Store(st.fuel)
		acquire.Store(int64(st.acquire))
	}
	hit := cached && (outcome == cache.Hit || outcome == cache.SharedHit)
	elapsed := time.Since(start)
	if hit {
		elapsed = 0
	}
	n.metrics.Observe(name, 1, elapsed, err != nil)
	// Getting an instance is not the operation: a cold instance (a standard-Go guest's
	// runtime starting) or a full pool would otherwise make every first call "slow".
	if threshold := p.host.cfg.SlowThreshold; threshold > 0 && elapsed-time.Duration(acquire.Load()) >= threshold {
		p.logger.Warn("slow operation", "computation", name, "operation_id", opID,
			"processing_time_ms", float64(elapsed.Nanoseconds())/1e6,
			"instance_wait_ms", float64(acquire.Load())/1e6, "threshold", threshold)
	}
	if err != nil {
		return abi.ComputeOutput{OperationID: opID, ComputationType: name}, err
	}
	out := abi.ComputeOutput{
		Result:                result,
		OperationID:           opID,
		ComputationType:       name,
		ProcessingTimeMS:      float64(elapsed.Nanoseconds()) / 1e6,
		CacheHit:              hit,
		ParallelExecutionUsed: parallel,
		FuelUsed:              fuel.Load(),
		Metadata:              in.Metadata,
	}
	if cached {
		out.CacheOutcome = outcome.String()
	}
	return out, nil
}

// call checks that data is JSON, converts it for the guest by the computation's input
// Encoding, runs the guest and converts its output back into the JSON result by the
// output Encoding ("null" when a JSON computation returns nothing).
func (n *ComputeNode) call(ctx context.Context, name, opID string, data []byte, st *callStats) ([]byte, error) {
	if !json.Valid(data) {
		return nil, n.plugin.errorf(name, ErrInvalidInput, "operation %s: data is not valid JSON", opID)
	}
	entry, ok := n.plugin.Entry(name)
	if !ok { // Call reports it
		entry = Entry{Input: EncodingJSON, Output: EncodingJSON}
	}
	in, err := entry.Input.guestInput(data)
	if err != nil {
		return nil, n.plugin.errorf(name, ErrInvalidInput, "operation %s: %v", opID, err)
	}
	out, err := n.plugin.call(ctx, name, in, nil, st)
	if err != nil {
		return nil, err
	}
	result, err := entry.Output.result(out)
	if err != nil {
		return nil, n.plugin.errorf(name, ErrInvalidOutput, "operation %s: %v", opID, err)
	}
	return result, nil
}

// cacheError turns what the cache returned into a *PluginError: the computation's own
// error, or the caller giving up on a shared computation.
func (n *ComputeNode) cacheError(name string, err error) error {
	if pe, ok := errors.AsType[*PluginError](err); ok {
		return pe
	}
	return n.plugin.waitError(name, err, "waiting for the result")
}
