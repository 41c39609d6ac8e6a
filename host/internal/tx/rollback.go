package tx

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/host/tracing"
)

// Rollback ends the transaction by undoing its operations: it runs the
// Compensator of every reversible operation, newest first (LIFO), and goes on
// after a compensation fails, so that as much as possible is undone. It
// blocks until every compensation has returned.
//
// Compensations run on a context that keeps ctx's values but not its
// cancellation, because a rollback abandoned halfway is worse than a late
// one; it ends after Config.FinishTimeout instead. Once that deadline has
// passed the remaining compensations are not called and count as failed. If
// a Record or Apply call is running when Rollback begins, Rollback first
// waits (up to the same deadline) for it to return; Record and Apply calls
// made after Rollback began are refused with ErrRolledBack.
//
// The transaction ends in StateRolledBack if every compensation succeeded and
// in StateFailed otherwise; the error then joins one *CompensationError per
// failed operation. Irreversible operations are not compensated: the Result
// lists them with OutcomeIrreversible, and alone they do not make the
// rollback fail. Held events are dropped, never published.
//
// A second Rollback does nothing and returns the first one's Result and
// error, waiting for the first to end if it is still running. Rollback after
// Commit returns the commit's Result and an error wrapping ErrCommitted, so
// a deferred Rollback after a successful Commit can ignore its result.
func (t *Tx) Rollback(ctx context.Context) (Result, error) {
	t.mu.Lock()
	if t.state == StateCommitted {
		res := t.result
		t.mu.Unlock()
		return res, fmt.Errorf("tx %s: rollback: %w", t.id, ErrCommitted)
	}
	if t.rolling {
		t.mu.Unlock()
		<-t.done
		t.mu.Lock()
		defer t.mu.Unlock()
		return t.result, t.err
	}
	t.rolling = true
	from := t.state
	var idle chan struct{}
	if t.busy > 0 {
		idle = make(chan struct{})
		t.idle = idle
	}
	t.mu.Unlock()

	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.m.cfg.FinishTimeout)
	defer cancel()
	if idle != nil {
		select {
		case <-idle:
		case <-rctx.Done():
		}
	}
	t.mu.Lock()
	ents := slices.Clone(t.ops)
	t.mu.Unlock()

	ops, err := t.compensate(rctx, ents)
	to := StateRolledBack
	if err != nil {
		to = StateFailed
	}

	t.mu.Lock()
	t.state = to
	t.endedAt = t.m.cfg.Now()
	t.result = Result{ID: t.id, State: to, SideEffectsApplied: len(ents), RollbackOperations: ops}
	t.err = err
	res := t.result
	close(t.done)
	t.mu.Unlock()

	t.m.finish(t, to)
	if o := t.m.cfg.Observer; o != nil {
		o.OnStateChange(t, from, to)
	}
	return res, err
}

// compensate undoes ents newest first and reports what happened to each.
func (t *Tx) compensate(ctx context.Context, ents []entry) ([]RollbackOp, error) {
	ops := make([]RollbackOp, 0, len(ents))
	var errs []error
	for i := len(ents) - 1; i >= 0; i-- {
		op := ents[i].op
		r := RollbackOp{Seq: op.Seq, Kind: op.Kind, Service: op.Service, Target: op.Target, Outcome: OutcomeCompensated}
		var err error
		switch c := t.m.cfg.Compensators[op.Kind]; {
		case op.Irreversible:
			r.Outcome = OutcomeIrreversible
		case ents[i].running:
			err = ErrInProgress
		case ctx.Err() != nil:
			err = ctx.Err()
		case c == nil:
			err = ErrNoCompensator // unreachable: Record checks it
		default:
			err = callCompensator(ctx, c, op)
		}
		if err != nil {
			ce := &CompensationError{TxID: t.id, Seq: op.Seq, Kind: op.Kind, Service: op.Service, Target: op.Target, Err: err}
			r.Outcome, r.Err = OutcomeFailed, ce
			errs = append(errs, ce)
		}
		ops = append(ops, r)
	}
	return ops, errors.Join(errs...)
}

// callCompensator runs c, turning a panic into a *PanicError so that the
// remaining compensations still run.
func callCompensator(ctx context.Context, c Compensator, op Operation) (err error) {
	ctx, sp := tracing.Start(ctx, "onex.compensate", oteltrace.SpanKindInternal)
	if sp.IsRecording() {
		sp.SetAttributes(attribute.Int64("onex.seq", int64(op.Seq)), attribute.String("onex.kind", op.Kind),
			attribute.String("onex.service", op.Service), attribute.String("onex.target", op.Target))
	}
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v}
		}
		if err != nil && sp.IsRecording() {
			sp.SetStatus(codes.Error, err.Error())
		}
		sp.End()
	}()
	return c.Compensate(ctx, op)
}
