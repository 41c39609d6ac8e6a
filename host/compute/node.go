package compute

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/internal/cache"
	"github.com/onexhost/onex-host/host/internal/metrics"
	"github.com/onexhost/onex-host/host/internal/node"
	"github.com/onexhost/onex-host/host/tracing"
)

// Node runs a compute plugin with ONEX's envelope: it assigns operation ids, checks that
// input and result are JSON, times each call, serves deterministic computations from the
// host's cache, runs batches in parallel and keeps per-computation metrics. It is safe
// for concurrent use by multiple goroutines (each call checks out its own instance).
type Node struct {
	plugin  *host.Plugin
	rt      node.Runtime
	metrics *metrics.Registry
}

// New wraps p, which must be a compute node: otherwise New returns a *host.PluginError
// matching host.ErrUnsupported.
func New(p *host.Plugin) (*Node, error) {
	if kind := p.Manifest().Kind; kind != abi.KindCompute {
		return nil, &host.PluginError{Plugin: p.Name(), Kind: host.ErrUnsupported,
			Message: fmt.Sprintf("kind %q is not a compute node", kind)}
	}
	return &Node{plugin: p, rt: node.Of(p), metrics: metrics.New()}, nil
}

// Plugin returns the plugin the node runs.
func (n *Node) Plugin() *host.Plugin { return n.plugin }

// Metrics returns a snapshot of the node's metrics, by computation. Cache hits count as
// operations with a processing time of 0, as in ONEX.
func (n *Node) Metrics() map[string]host.ComputationMetrics { return n.metrics.Snapshot() }

// Invalidate removes the cached result of computation on data (the exact input bytes),
// if any, here and in the shared cache level (host.Config.SharedCache); a computation of
// it running now does not store its result locally. A failure of the shared level is
// logged, not returned.
func (n *Node) Invalidate(computation string, data []byte) {
	if len(data) == 0 {
		data = []byte("null")
	}
	n.rt.Invalidate(computation, data)
}

// Process runs one ComputeInput. An empty OperationID gets a fresh UUID and an empty
// ComputationType means abi.DefaultComputation. Data that is not JSON fails with
// host.ErrInvalidInput before the guest runs; a result that is not JSON fails with
// host.ErrInvalidOutput.
//
// When the manifest declares the node deterministic, the input does not set NoCache and
// the plugin's CacheTTL is not negative, the result comes from the host's cache when
// present (CacheHit true, ProcessingTimeMS 0, the original result bytes); otherwise
// concurrent callers of the same input share one guest call, and its result is cached.
// CacheOutcome then says how this call was answered ("hit", "shared_hit", "joined" or
// "miss", as counted in host.Host.CacheStats); it is empty when the cache was not asked.
// ProcessingTimeMS is the wall time of the call, including the wait for an instance or
// for a shared computation. Errors are never cached; other errors are those of
// host.Plugin.Call. On error the output carries only the operation id and the
// computation type. The Result is the caller's own copy.
func (n *Node) Process(ctx context.Context, in abi.ComputeInput) (abi.ComputeOutput, error) {
	return n.process(ctx, in, false)
}

func (n *Node) process(ctx context.Context, in abi.ComputeInput, parallel bool) (abi.ComputeOutput, error) {
	p, rt := n.plugin, n.rt
	name := in.Computation()
	opID := in.OperationID
	if opID == "" {
		opID = uuid.NewString()
	}
	ctx, sp := tracing.Start(ctx, "onex.compute", trace.SpanKindInternal)
	defer sp.End()
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
	if ttl := rt.CacheTTL(); p.Manifest().Deterministic && !in.NoCache && ttl >= 0 {
		// A hit skips validating the input: its bytes hash to those of an input that
		// was validated when the result was stored.
		key := cache.KeyOf(p.Digest(), name, data)
		cached = true
		result, outcome, err = rt.Fetch(ctx, key, ttl, func(ctx context.Context) ([]byte, error) {
			var st node.Stats
			res, err := rt.Compute(ctx, name, opID, data, &st)
			fuel.Store(st.Fuel)
			acquire.Store(int64(st.Acquire))
			return res, err
		})
		if err != nil {
			err = n.cacheError(name, err)
		} else {
			result = append([]byte(nil), result...) // the cache's bytes stay the cache's
		}
	} else {
		var st node.Stats
		result, err = rt.Compute(ctx, name, opID, data, &st)
		fuel.Store(st.Fuel)
		acquire.Store(int64(st.Acquire))
	}
	hit := cached && (outcome == cache.Hit || outcome == cache.SharedHit)
	elapsed := time.Since(start)
	if hit {
		elapsed = 0
	}
	n.metrics.Observe(name, 1, elapsed, err != nil)
	if sp.IsRecording() {
		sp.SetAttributes(attribute.String("onex.node", p.Name()), attribute.String("onex.computation", name),
			attribute.String("onex.operation_id", opID), attribute.Bool("onex.cache_hit", hit),
			attribute.Int64("onex.fuel", int64(fuel.Load())),
			attribute.Float64("onex.instance_wait_ms", float64(acquire.Load())/1e6))
		if !hit {
			// The call's wall time less getting an instance: the guest's run, or the wait
			// for the shared computation that answered it.
			sp.SetAttributes(attribute.Float64("onex.guest_time_ms", float64((elapsed-time.Duration(acquire.Load())).Nanoseconds())/1e6))
		}
		if cached {
			sp.SetAttributes(attribute.String("onex.cache", outcome.String()))
		}
		if err != nil {
			sp.SetStatus(codes.Error, err.Error())
		}
	}
	// Getting an instance is not the operation: a cold instance (a standard-Go guest's
	// runtime starting) or a full pool would otherwise make every first call "slow".
	if threshold := rt.SlowThreshold(); threshold > 0 && elapsed-time.Duration(acquire.Load()) >= threshold {
		rt.Logger().WarnContext(ctx, "slow operation", "computation", name, "operation_id", opID,
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

// cacheError turns what the cache returned into a *host.PluginError: the computation's
// own error, or the caller giving up on a shared computation.
func (n *Node) cacheError(name string, err error) error {
	if pe, ok := errors.AsType[*host.PluginError](err); ok {
		return pe
	}
	return n.rt.WaitError(name, err, "waiting for the result")
}
