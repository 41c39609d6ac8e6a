package host

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/onexhost/onex-host/host/internal/cache"
	"github.com/onexhost/onex-host/host/internal/capcall"
	"github.com/onexhost/onex-host/host/internal/metrics"
	"github.com/onexhost/onex-host/host/internal/node"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// ComputationMetrics are ONEX's per-computation metrics, as of one moment: what the
// node kinds' Metrics methods return.
type ComputationMetrics = metrics.Snapshot

// The node kinds (host/compute, host/effect) reach a plugin's internals through
// node.Runtime; host never imports them.
func init() {
	node.Of = func(p node.Plugin) node.Runtime { return nodeRuntime{p.(*Plugin)} }
}

// nodeRuntime implements node.Runtime for one plugin.
type nodeRuntime struct{ p *Plugin }

func (r nodeRuntime) Logger() *slog.Logger         { return r.p.logger }
func (r nodeRuntime) MaxInstances() int            { return r.p.limits.maxInstances }
func (r nodeRuntime) CacheTTL() time.Duration      { return r.p.limits.cacheTTL }
func (r nodeRuntime) SlowThreshold() time.Duration { return r.p.host.cfg.SlowThreshold }

func (r nodeRuntime) WaitError(op string, err error, waiting string) error {
	return r.p.waitError(op, err, waiting)
}

func (r nodeRuntime) Fetch(ctx context.Context, key cache.Key, ttl time.Duration, compute func(context.Context) ([]byte, error)) ([]byte, cache.Outcome, error) {
	return r.p.host.fetch(ctx, key, ttl, compute)
}

// Invalidate removes the cached result of computation on data here and in the shared
// cache level (Config.SharedCache).
func (r nodeRuntime) Invalidate(computation string, data []byte) {
	p := r.p
	key := cache.KeyOf(p.digest, computation, data)
	p.host.cache.Invalidate(key)
	if shared := p.host.cfg.SharedCache; shared != nil {
		if err := shared.Invalidate(context.Background(), key.String()); err != nil {
			p.logger.Warn("shared cache: invalidate failed", "computation", computation, "error", err)
		}
	}
}

// Compute checks that data is JSON, converts it for the guest by the computation's input
// Encoding, runs the guest and converts its output back into the JSON result by the
// output Encoding ("null" when a JSON computation returns nothing).
func (r nodeRuntime) Compute(ctx context.Context, name, opID string, data []byte, st *node.Stats) ([]byte, error) {
	p := r.p
	if !json.Valid(data) {
		return nil, p.errorf(name, ErrInvalidInput, "operation %s: data is not valid JSON", opID)
	}
	entry, ok := p.Entry(name)
	if !ok { // call reports it
		entry = Entry{Input: EncodingJSON, Output: EncodingJSON}
	}
	in, err := entry.Input.guestInput(data)
	if err != nil {
		return nil, p.errorf(name, ErrInvalidInput, "operation %s: %v", opID, err)
	}
	var cs callStats
	out, err := p.call(ctx, name, in, nil, &cs)
	st.Fuel += cs.fuel
	st.Acquire += cs.acquire
	if err != nil {
		return nil, err
	}
	result, err := entry.Output.result(out)
	if err != nil {
		return nil, p.errorf(name, ErrInvalidOutput, "operation %s: %v", opID, err)
	}
	return result, nil
}

func (r nodeRuntime) OpenJournal() error { return r.p.host.openJournal() }

// Enter admits one effect: the host's gate (its shutdown waits for the effect and
// cancels it at the deadline) and a reference to the plugin (closing it, a reload, lets
// the effect finish).
func (r nodeRuntime) Enter(ctx context.Context, op string) (context.Context, func(), error) {
	p := r.p
	h := p.host
	if !h.effects.enter() {
		return nil, nil, p.errorf(op, ErrClosed, "the host is shutting down")
	}
	if !p.enter() {
		h.effects.exit()
		return nil, nil, p.errorf(op, ErrClosed, "the plugin is closed")
	}
	ctx, stop := h.effects.bind(ctx)
	return ctx, func() {
		stop()
		p.exit()
		h.effects.exit()
	}, nil
}

func (r nodeRuntime) Begin(number int, opID string) (*tx.Tx, error) {
	return r.p.host.txm.Begin(r.p.name, number, opID)
}

func (r nodeRuntime) Capabilities() *capcall.Plugin { return &r.p.caps }

func (r nodeRuntime) CallHeld(ctx context.Context, computation string, data []byte, a *capcall.Attempt, st *node.Stats) ([]byte, error) {
	var cs callStats
	out, err := r.p.callHeld(ctx, computation, data, a, &cs)
	st.Fuel += cs.fuel
	st.Acquire += cs.acquire
	return out, err
}

func (r nodeRuntime) MarkPublished(txID string) { r.p.host.markPublished(txID) }
