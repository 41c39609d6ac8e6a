package host

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/container"
	"github.com/onexhost/onex-host/host/events"
	"github.com/onexhost/onex-host/host/internal/breaker"
	"github.com/onexhost/onex-host/host/internal/capcall"
	"github.com/onexhost/onex-host/host/internal/native"
	"github.com/onexhost/onex-host/host/internal/tx"
)

// BreakerPolicy sets how a service's circuit breaker judges it (ONEX's circuit breaker
// settings); a zero field means ONEX's default. See Config.Breakers.
type BreakerPolicy = breaker.Policy

// FastFailBreakers is ONEX's fast-fail preset: quick to open (3 failures), quick to try
// again (30 s). ResilientBreakers is its resilient preset: slow to open (10 failures),
// 120 s open. Use either as Config.Breakers or in BreakerOverrides.
func FastFailBreakers() BreakerPolicy  { return breaker.FastFail() }
func ResilientBreakers() BreakerPolicy { return breaker.Resilient() }

// BreakerStats is one circuit breaker's state and exact counters.
type BreakerStats = breaker.Stats

// TransactionStats counts the host's effect transactions by final state; Begun == Open +
// Committed + RolledBack + Failed.
type TransactionStats = tx.Stats

// services are what the host owns for effect nodes: the event bus, the circuit breakers,
// the transaction manager and, opened on first use, the key-value store.
type services struct {
	bus      *events.Bus
	breakers *breaker.Registry
	txm      *tx.Manager
	effects  *effectGate
	kv       kvStore
	jh       journalHolder
	// container holds the services above by name, frozen at New.
	container *container.Container
}

// newServices builds the host's effect services from cfg.
func (h *Host) newServices(cfg Config) error {
	h.bus = events.New(cfg.Logger)
	var err error
	h.breakers, err = breaker.NewRegistry(breaker.Config{Policy: cfg.Breakers, Overrides: cfg.BreakerOverrides, Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("host: circuit breakers: %w", err)
	}
	h.txm, err = tx.New(tx.Config{
		Compensators: h.compensators(),
		Publish:      h.bus.Publish,
		Observer:     journalObserver{h},
	})
	if err != nil {
		return fmt.Errorf("host: transactions: %w", err)
	}
	h.effects = newEffectGate()
	h.container = h.buildContainer()
	return nil
}

// Events returns the host's event bus: effect nodes publish to it when their transaction
// commits, and embedders subscribe to it.
func (h *Host) Events() *events.Bus { return h.bus }

// Breakers returns every circuit breaker's state and counters, sorted by service.
func (h *Host) Breakers() []BreakerStats { return h.breakers.Snapshot() }

// ForceOpenBreaker holds a service's breaker open (it half-opens after its open timeout);
// ForceCloseBreaker closes it; ResetBreaker closes it and clears its counters. Services
// are named "fs:<dir>", "kv", "http:<host>".
func (h *Host) ForceOpenBreaker(service string)  { h.breakers.ForceOpen(service) }
func (h *Host) ForceCloseBreaker(service string) { h.breakers.ForceClose(service) }
func (h *Host) ResetBreaker(service string)      { h.breakers.Reset(service) }

// OnBreakerChange adds fn to the functions called on every state change of every circuit
// breaker ("closed", "open", "half-open"), forced ones included. Calls happen one at a
// time, in the order of the changes, outside the breakers' locks; fn must not block for
// long. It is safe for concurrent use.
func (h *Host) OnBreakerChange(fn func(service, from, to string)) {
	h.breakers.OnStateChange(func(service string, from, to breaker.State) {
		fn(service, from.String(), to.String())
	})
}

// TransactionStats returns the effect transactions' counts by final state.
func (h *Host) TransactionStats() TransactionStats { return h.txm.Stats() }

// closeServices ends the effects (finishing or canceling them, see effectGate.shutdown),
// rolls back any transaction still open and stops the bus.
func (h *Host) closeServices(ctx context.Context) error {
	var errs []error
	if err := h.effects.shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("host: effects still running at the deadline were canceled: %w", err))
	}
	// Rollbacks run on their own deadline, whatever ctx says.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tx.DefaultFinishTimeout)
	defer cancel()
	if err := h.txm.Close(rctx); err != nil {
		errs = append(errs, fmt.Errorf("host: roll back open transactions: %w", err))
	}
	if err := h.bus.Close(rctx); err != nil && !errors.Is(err, events.ErrClosed) {
		errs = append(errs, err)
	}
	errs = append(errs, h.closeKV(), h.closeJournal())
	return errors.Join(errs...)
}

// compensators are the undo functions of every kind of recorded operation.
func (h *Host) compensators() map[string]tx.Compensator {
	m := h.capabilityCompensators()
	m[tx.KindGuest] = tx.CompensatorFunc(h.compensateGuest)
	return m
}

// compensateGuest undoes a guest-defined compensation: it calls onex_compensate on a
// fresh instance of the plugin (found by digest among the loaded plugins, see
// pluginFor) with the name and payload the guest registered.
func (h *Host) compensateGuest(ctx context.Context, op tx.Operation) error {
	p := h.pluginFor(func(q *Plugin) bool { return capcall.GuestService(q.digest) == op.Service })
	if p == nil {
		return fmt.Errorf("no loaded plugin has digest %s", op.Service)
	}
	defer p.exit()
	var payload []byte
	if op.Compensation != nil && len(op.Compensation.Payload) > 0 {
		if err := json.Unmarshal(op.Compensation.Payload, &payload); err != nil {
			return fmt.Errorf("payload: %w", err)
		}
	}
	return p.compensateHeld(ctx, op.Target, payload)
}

// pluginFor returns a loaded plugin that match accepts, with a reference taken (drop it
// with exit), or nil. It never returns a torn-down version: it prefers the newest open
// one, and takes a closed one still draining (a reload's old version finishing its own
// effects' rollbacks) only when no open one matches.
func (h *Host) pluginFor(match func(*Plugin) bool) *Plugin {
	var ps []*Plugin
	for _, q := range h.livePlugins() {
		if match(q) {
			ps = append(ps, q)
		}
	}
	slices.SortFunc(ps, func(a, b *Plugin) int { return cmp.Compare(b.seq, a.seq) })
	for _, q := range ps {
		if q.enter() {
			return q
		}
	}
	for _, q := range ps {
		if q.retain() {
			return q
		}
	}
	return nil
}

// compensateHeld runs onex_compensate(name, payload) on an instance of its own, under
// the plugin's timeout, for a caller that holds a reference to p. The payload is the bytes
// the guest registered, not necessarily JSON.
func (p *Plugin) compensateHeld(ctx context.Context, name string, payload []byte) error {
	if p.quarantined.Load() {
		return p.quarantineError("compensate " + name)
	}
	g, err := p.pool.Acquire(ctx)
	if err != nil {
		return p.acquireError(name, err)
	}
	returned := false
	defer func() {
		if !returned { // a panic: see callHeld
			p.pool.Discard(g)
		}
	}()
	if p.quarantined.Load() {
		returned = true
		p.put(g)
		return p.quarantineError("compensate " + name)
	}
	inst := g.(*native.Instance)
	if !inst.CanCompensate() {
		returned = true
		p.put(g)
		return p.errorf(name, ErrUnsupported, "the plugin does not export %s", abi.ExportCompensate)
	}
	// The timeout starts with the instance, as in callHeld.
	var deadline time.Time
	if p.limits.timeout > 0 {
		deadline = time.Now().Add(p.limits.timeout)
	}
	// The compensation may use the plugin's capabilities (to undo through an API, say),
	// outside any transaction: what it does is not recorded again.
	err = inst.Compensate(ctx, name, payload, deadline, capsOf(&capcall.Attempt{Plugin: &p.caps, Breakers: true}))
	returned = true
	p.put(g)
	return p.pluginError(err)
}
