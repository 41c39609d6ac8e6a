package effect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/internal/capcall"
	"github.com/onexhost/onex-host/host/internal/metrics"
	"github.com/onexhost/onex-host/host/internal/node"
	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/onexhost/onex-host/host/tracing"
)

// DefaultTimeout bounds a whole effect, retries included: ONEX's timeout_ms default,
// enforced here.
const DefaultTimeout = 30 * time.Second

// Config configures a Node. The zero value is usable: ONEX's defaults.
type Config struct {
	// Retry is the node's retry policy; an EffectInput may override its count and delay.
	Retry RetryPolicy
	// Concurrency bounds how many effects of this node run at once; callers beyond it
	// wait (honouring their context). 1 runs effects one at a time, ONEX's "sequential"
	// mode. 0 means no bound beyond the plugin's instance pool.
	Concurrency int
	// Timeout bounds a whole effect: every attempt, every wait between attempts. An
	// EffectInput's TimeoutMS overrides it. Default DefaultTimeout; negative means
	// none (each attempt still has the plugin's call timeout).
	Timeout time.Duration
}

// Node runs an effect plugin with ONEX's effect envelope: each attempt in a
// transaction of its own, capability calls behind per-service circuit breakers, failed
// attempts rolled back and retried by the node's policy, the whole effect under one
// deadline. It is safe for concurrent use by multiple goroutines: every effect checks out
// its own instance and gets its own transaction.
type Node struct {
	plugin *host.Plugin
	rt     node.Runtime
	cfg    Config
	// sem bounds the effects running at once (nil: no bound). It belongs to the node, not
	// to the plugin version: WithPlugin shares it, so a reload keeps the bound.
	sem     chan struct{}
	metrics *metrics.Registry
}

// New wraps p, which must be an effect node, with cfg. It returns a *host.PluginError
// matching host.ErrUnsupported for another kind or a negative Concurrency, and one
// matching host.ErrUnavailable when the host's journal (host.Config.DataDir) cannot be
// opened: the journal is on disk before the node's first transaction begins.
func New(p *host.Plugin, cfg Config) (*Node, error) {
	if kind := p.Manifest().Kind; kind != abi.KindEffect {
		return nil, errorf(p, "", host.ErrUnsupported, "kind %q is not an effect node", kind)
	}
	if cfg.Concurrency < 0 {
		return nil, errorf(p, "", host.ErrUnsupported, "effect concurrency %d must not be negative", cfg.Concurrency)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	rt := node.Of(p)
	if err := rt.OpenJournal(); err != nil {
		return nil, errorf(p, "", host.ErrUnavailable, "%v", err)
	}
	n := &Node{plugin: p, rt: rt, cfg: cfg, metrics: metrics.New()}
	if cfg.Concurrency > 0 {
		n.sem = make(chan struct{}, cfg.Concurrency)
	}
	return n, nil
}

// Plugin returns the plugin the node runs.
func (n *Node) Plugin() *host.Plugin { return n.plugin }

// WithPlugin returns a node that runs p, another version of the same node (a reload),
// with n's configuration and sharing n's concurrency bound: effects of both nodes
// together never exceed Config.Concurrency, so "sequential" stays sequential while the
// old version drains. p must be an effect node with n's name (a *host.PluginError
// matching host.ErrUnsupported otherwise). Metrics are p's own.
func (n *Node) WithPlugin(p *host.Plugin) (*Node, error) {
	if kind := p.Manifest().Kind; kind != abi.KindEffect {
		return nil, errorf(p, "", host.ErrUnsupported, "kind %q is not an effect node", kind)
	}
	if p.Name() != n.plugin.Name() {
		return nil, errorf(p, "", host.ErrUnsupported, "plugin %q is not a version of node %q", p.Name(), n.plugin.Name())
	}
	return &Node{plugin: p, rt: node.Of(p), cfg: n.cfg, sem: n.sem, metrics: metrics.New()}, nil
}

// Metrics returns a snapshot of the node's metrics, by effect type. Each effect counts
// once, whatever its retries.
func (n *Node) Metrics() map[string]host.ComputationMetrics { return n.metrics.Snapshot() }

// Process runs one effect. An empty OperationID gets a fresh UUID and an empty EffectType
// means abi.DefaultEffect. OperationData that is not JSON fails with host.ErrInvalidInput
// before the guest runs.
//
// Each attempt runs in a new transaction (unless in.NoTransaction): the plugin's
// capability calls are recorded with their compensations before they happen, and events
// it publishes are held. When the attempt succeeds (and its result is JSON) the
// transaction commits and the events are published; otherwise it is rolled back, newest
// operation first, and the effect is tried again if the failure is retryable and the
// retry policy allows, after a backoff. The output reports the last attempt's
// transaction: TransactionState, SideEffectsApplied, RollbackOperations; RetryCount is
// the number of failed attempts before it.
//
// On error the output is still filled in as far as the effect got, and the error is the
// last attempt's *host.PluginError (or one matching host.ErrTimeout or host.ErrCanceled
// when the effect's deadline or the caller's context ended, host.ErrClosed when the host
// is shutting down or the plugin closed). Process blocks until the effect has finished,
// its rollbacks included.
func (n *Node) Process(ctx context.Context, in abi.EffectInput) (abi.EffectOutput, error) {
	name := in.Effect()
	out := abi.EffectOutput{OperationID: in.OperationID, EffectType: name, TransactionState: abi.TransactionNone,
		Metadata: in.Metadata}
	if out.OperationID == "" {
		out.OperationID = uuid.NewString()
	}
	ctx, sp := tracing.Start(ctx, "onex.effect", trace.SpanKindInternal)
	defer sp.End()
	start := time.Now()
	err := n.process(ctx, &in, name, &out)
	// A guest that passes the host's circuit_open error on (as the SDK does) returns the
	// generic error status: the effect is unavailable, as its capability call was, so that
	// callers retry it like any other unavailable answer (HTTP 503).
	if pe, ok := errors.AsType[*host.PluginError](err); ok && pe.Code == capcall.CodeCircuitOpen && pe.Kind == host.ErrFailed {
		pe.Kind = host.ErrUnavailable
	}
	elapsed := time.Since(start)
	out.ProcessingTimeMS = float64(elapsed.Nanoseconds()) / 1e6
	n.metrics.Observe(name, 1, elapsed, err != nil)
	if sp.IsRecording() {
		sp.SetAttributes(attribute.String("onex.node", n.plugin.Name()), attribute.String("onex.effect", name),
			attribute.String("onex.operation_id", out.OperationID), attribute.Int("onex.retry_count", out.RetryCount),
			attribute.String("onex.transaction_state", string(out.TransactionState)),
			attribute.Int64("onex.fuel", int64(out.FuelUsed)))
		if err != nil {
			sp.SetStatus(codes.Error, err.Error())
		}
	}
	if err != nil {
		n.rt.Logger().DebugContext(ctx, "effect failed", "effect", name, "operation_id", out.OperationID, "retries", out.RetryCount,
			"transaction_state", out.TransactionState, "error", err)
	}
	return out, err
}

func (n *Node) process(ctx context.Context, in *abi.EffectInput, name string, out *abi.EffectOutput) error {
	p, rt := n.plugin, n.rt
	// The effect holds the plugin from its first attempt to its last rollback (closing
	// the plugin, a reload, lets it finish), and the host's shutdown waits for it and
	// cancels it at its deadline.
	ctx, done, err := rt.Enter(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	timeout := n.cfg.Timeout
	if in.TimeoutMS > 0 {
		timeout = time.Duration(in.TimeoutMS) * time.Millisecond
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	data := []byte(in.OperationData)
	if len(data) == 0 {
		data = []byte("null")
	}
	if !json.Valid(data) {
		return errorf(p, name, host.ErrInvalidInput, "operation %s: operation_data is not valid JSON", out.OperationID)
	}
	if _, ok := p.Entry(name); !ok {
		return errorf(p, name, host.ErrUnknownComputation, "effect %q is not in the manifest (%s)", name, offered(p))
	}
	if n.sem != nil {
		select {
		case n.sem <- struct{}{}:
			defer func() { <-n.sem }()
		case <-ctx.Done():
			return rt.WaitError(name, ctx.Err(), fmt.Sprintf("waiting for a turn (concurrency %d)", cap(n.sem)))
		}
	}
	retry := n.cfg.Retry.withDefaults(in)
	for number := 0; ; number++ {
		err := n.attempt(ctx, in, name, data, number, out)
		if err == nil {
			return nil
		}
		if number >= retry.MaxRetries || !retryable(ctx, err, retry) {
			return err
		}
		out.RetryCount++
		delay := retry.delay(number + 1)
		if sp := trace.SpanFromContext(ctx); sp.IsRecording() {
			sp.AddEvent("retry", trace.WithAttributes(attribute.Int("onex.attempt", number+1),
				attribute.Float64("onex.delay_ms", float64(delay.Nanoseconds())/1e6), attribute.String("error", err.Error())))
		}
		wait := time.NewTimer(delay)
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return rt.WaitError(name, ctx.Err(), fmt.Sprintf("waiting to retry after %d failed attempts (last: %v)", out.RetryCount, err))
		}
	}
}

// attempt runs the effect once, in a transaction of its own, and commits or rolls back.
func (n *Node) attempt(ctx context.Context, in *abi.EffectInput, name string, data []byte, number int, out *abi.EffectOutput) (err error) {
	p, rt := n.plugin, n.rt
	ctx, sp := tracing.Start(ctx, "onex.effect.attempt", trace.SpanKindInternal)
	if sp.IsRecording() {
		sp.SetAttributes(attribute.Int("onex.attempt", number))
		defer func() {
			sp.SetAttributes(attribute.String("onex.transaction_state", string(out.TransactionState)),
				attribute.Int("onex.side_effects_applied", out.SideEffectsApplied))
			if err != nil {
				sp.SetStatus(codes.Error, err.Error())
			}
			sp.End()
		}()
	}
	a := &capcall.Attempt{Plugin: rt.Capabilities(), Breakers: !in.NoCircuitBreaker}
	out.TransactionState, out.TransactionID, out.SideEffectsApplied, out.RollbackOperations = abi.TransactionNone, "", 0, nil
	if !in.NoTransaction {
		t, err := rt.Begin(number, out.OperationID)
		if err != nil {
			return errorf(p, name, host.ErrClosed, "no new transaction: %v", err)
		}
		a.Tx = t
		out.TransactionID = t.ID()
	}
	var st node.Stats
	result, err := rt.CallHeld(ctx, name, data, a, &st)
	out.FuelUsed += st.Fuel
	if err == nil && len(result) == 0 {
		result = []byte("null")
	}
	if err == nil && !json.Valid(result) {
		err = errorf(p, name, host.ErrInvalidOutput, "operation %s: the guest's result is not valid JSON", out.OperationID)
	}
	if a.Tx == nil {
		if err == nil {
			out.Result = result
		}
		return err
	}
	if guard := commitGuard(ctx); err == nil && guard != nil {
		candidate := *out
		candidate.Result, candidate.TransactionState = result, abi.TransactionCommitted
		if gerr := guard(ctx, candidate); gerr != nil {
			err = errorf(p, name, host.ErrUnavailable, "operation %s: not committed: %v", out.OperationID, gerr)
		}
	}
	if err == nil {
		res, cerr := a.Tx.Commit(ctx)
		report(out, res)
		var pubErr *tx.PublishError
		switch {
		case cerr == nil:
			rt.MarkPublished(res.ID)
			out.Result = result
			return nil
		case errors.As(cerr, &pubErr):
			// Committed: the side effects stand. The events that could not be published
			// are reported, never silently lost.
			rt.Logger().ErrorContext(ctx, "effect committed, but events could not be published", "effect", name,
				"operation_id", out.OperationID, "transaction_id", res.ID, "unpublished", len(pubErr.Events), "error", pubErr.Err)
			out.Result = result
			return nil
		default:
			// The host's shutdown rolled the transaction back under the attempt.
			err = errorf(p, name, host.ErrClosed, "the transaction was rolled back before it could commit: %v", cerr)
		}
	}
	rctx, rsp := tracing.Start(ctx, "onex.effect.rollback", trace.SpanKindInternal)
	res, rerr := a.Tx.Rollback(rctx)
	if rsp.IsRecording() {
		rsp.SetAttributes(attribute.String("onex.transaction_id", res.ID), attribute.Int("onex.rollback_operations", len(res.RollbackOperations)))
		if rerr != nil {
			rsp.SetStatus(codes.Error, rerr.Error())
		}
	}
	rsp.End()
	report(out, res)
	if rerr != nil && !errors.Is(rerr, tx.ErrCommitted) {
		rt.Logger().ErrorContext(ctx, "effect rollback failed", "effect", name, "operation_id", out.OperationID,
			"transaction_id", res.ID, "error", rerr)
	}
	return err
}

// report copies a transaction's result into the effect output.
func report(out *abi.EffectOutput, r tx.Result) {
	switch r.State {
	case tx.StateCommitted:
		out.TransactionState = abi.TransactionCommitted
	case tx.StateRolledBack:
		out.TransactionState = abi.TransactionRolledBack
	case tx.StateFailed:
		out.TransactionState = abi.TransactionFailed
	}
	out.SideEffectsApplied = r.SideEffectsApplied
	out.RollbackOperations = nil
	for _, op := range r.RollbackOperations {
		ro := abi.RollbackOperation{Seq: op.Seq, Kind: op.Kind, Service: op.Service, Target: op.Target, Outcome: string(op.Outcome)}
		if op.Err != nil {
			ro.Error = op.Err.Error()
		}
		out.RollbackOperations = append(out.RollbackOperations, ro)
	}
}

// retryable reports whether a failed attempt may be tried again: the failure says so, and
// neither the effect's deadline nor the caller's context has ended.
func retryable(ctx context.Context, err error, r RetryPolicy) bool {
	if ctx.Err() != nil {
		return false
	}
	pe, ok := errors.AsType[*host.PluginError](err)
	if !ok || !pe.Retryable {
		return false
	}
	return pe.Code != capcall.CodeCircuitOpen || r.RetryBreakerOpen
}

// errorf is a *host.PluginError of p's.
func errorf(p *host.Plugin, op string, kind error, format string, args ...any) *host.PluginError {
	return &host.PluginError{Plugin: p.Name(), Op: op, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// offered lists the plugin's effects, for an error message.
func offered(p *host.Plugin) string {
	m := p.Manifest()
	offers := m.Offers()
	names := make([]string, len(offers))
	for i, c := range offers {
		names[i] = c.Name
	}
	return "offered: " + fmt.Sprint(names)
}
