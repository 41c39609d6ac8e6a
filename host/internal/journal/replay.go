package journal

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/onexhost/onex-host/host/internal/tx"
)

// Replay rolls back the transaction of snap from its record alone, as
// tx.Tx.Rollback would have: it calls the compensator registered for each
// reversible operation's Kind, newest first (highest Seq first), and goes on
// after a compensation fails, so that as much as possible is undone. It
// blocks until every compensation has returned.
//
// Compensations run on a context that keeps ctx's values but not its
// cancellation, ending after timeout instead (zero or negative means
// tx.DefaultFinishTimeout); once it has ended the remaining compensations
// are not called and count as failed. A compensator that panics is reported
// with a *tx.PanicError and the rest still run. Compensators must be
// idempotent and succeed when the operation never happened (see
// tx.Compensation): the journal writes an operation's intent before it is
// performed, so after a crash it cannot tell whether it was, and a failed
// Replay may be run again.
//
// The Result's State is tx.StateRolledBack if every compensation succeeded
// and tx.StateFailed otherwise; its RollbackOperations list every operation
// newest first, irreversible ones with tx.OutcomeIrreversible (they do not
// make the replay fail). The error joins one *tx.CompensationError per
// failed operation: its cause is the compensator's error, the context's
// error, tx.ErrNoCompensator for a kind with no compensator, or
// tx.ErrInvalidOperation for an operation that fails tx.Operation.Validate.
// Pass the Result to Journal.Resolve. For a committed snap Replay does
// nothing and returns an error wrapping tx.ErrCommitted.
func Replay(ctx context.Context, snap tx.Snapshot, compensators map[string]tx.Compensator, timeout time.Duration) (tx.Result, error) {
	if snap.State == tx.StateCommitted {
		return tx.Result{ID: snap.ID, State: snap.State, SideEffectsApplied: len(snap.Operations)},
			fmt.Errorf("journal: replay %s: %w", snap.ID, tx.ErrCommitted)
	}
	if timeout <= 0 {
		timeout = tx.DefaultFinishTimeout
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()

	ops := slices.SortedStableFunc(slices.Values(snap.Operations), func(a, b tx.Operation) int { return cmp.Compare(a.Seq, b.Seq) })
	done := make([]tx.RollbackOp, 0, len(ops))
	var errs []error
	for _, op := range slices.Backward(ops) {
		r := tx.RollbackOp{Seq: op.Seq, Kind: op.Kind, Service: op.Service, Target: op.Target, Outcome: tx.OutcomeCompensated}
		err := op.Validate()
		switch c := compensators[op.Kind]; {
		case err != nil:
		case op.Irreversible:
			r.Outcome = tx.OutcomeIrreversible
		case rctx.Err() != nil:
			err = rctx.Err()
		case c == nil:
			err = tx.ErrNoCompensator
		default:
			err = compensate(rctx, c, op)
		}
		if err != nil {
			ce := &tx.CompensationError{TxID: snap.ID, Seq: op.Seq, Kind: op.Kind, Service: op.Service, Target: op.Target, Err: err}
			r.Outcome, r.Err = tx.OutcomeFailed, ce
			errs = append(errs, ce)
		}
		done = append(done, r)
	}
	state := tx.StateRolledBack
	if len(errs) > 0 {
		state = tx.StateFailed
	}
	return tx.Result{ID: snap.ID, State: state, SideEffectsApplied: len(ops), RollbackOperations: done}, errors.Join(errs...)
}

// compensate runs c, turning a panic into a *tx.PanicError so that the
// remaining compensations still run.
func compensate(ctx context.Context, c tx.Compensator, op tx.Operation) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &tx.PanicError{Value: v}
		}
	}()
	return c.Compensate(ctx, op)
}

// ReplayFailed runs again the compensations of a failed rollback that failed, and only
// those: rec's Rollback lists each operation's outcome, and an operation already
// compensated is not compensated again (restoring its before-image a second time would
// erase what committed over it since; a guest compensation such as a refund would run
// twice). An operation the Rollback does not list, or every operation when it lists none
// (a record of an older host), is replayed too: compensations are idempotent, so that is
// safe where the outcome is unknown. It calls compensators as Replay does, with the same
// timeout.
//
// The Result lists every operation newest first: the new outcome of each replayed one,
// the earlier outcome of the others; its State is tx.StateFailed if any outcome is still
// failed and tx.StateRolledBack otherwise. Pass it to Journal.Resolve. The error joins
// the replayed compensations' errors. rec must be failed: for any other state
// ReplayFailed does nothing and returns an error wrapping ErrNotFailed.
func ReplayFailed(ctx context.Context, rec Record, compensators map[string]tx.Compensator, timeout time.Duration) (tx.Result, error) {
	snap := rec.Snapshot
	if snap.State != tx.StateFailed {
		return tx.Result{ID: snap.ID, State: snap.State}, fmt.Errorf("journal: replay %s: %w (state %s)", snap.ID, ErrNotFailed, snap.State)
	}
	before := make(map[int]RollbackOp, len(rec.Rollback))
	for _, r := range rec.Rollback {
		before[r.Seq] = r
	}
	var again []tx.Operation
	for _, op := range snap.Operations {
		if r, ok := before[op.Seq]; !ok || r.Outcome == tx.OutcomeFailed {
			again = append(again, op)
		}
	}
	sub := snap
	sub.State, sub.Operations = tx.StateActive, again
	res, err := Replay(ctx, sub, compensators, timeout)
	merged := res.RollbackOperations
	replayed := make(map[int]bool, len(merged))
	for _, r := range merged {
		replayed[r.Seq] = true
	}
	for _, r := range rec.Rollback {
		if replayed[r.Seq] {
			continue
		}
		op := tx.RollbackOp{Seq: r.Seq, Kind: r.Kind, Service: r.Service, Target: r.Target, Outcome: r.Outcome}
		if r.Error != "" {
			op.Err = errors.New(r.Error)
		}
		merged = append(merged, op)
	}
	slices.SortFunc(merged, func(a, b tx.RollbackOp) int { return cmp.Compare(b.Seq, a.Seq) })
	res.State, res.SideEffectsApplied, res.RollbackOperations = tx.StateRolledBack, len(snap.Operations), merged
	for _, r := range merged {
		if r.Outcome == tx.OutcomeFailed {
			res.State = tx.StateFailed
		}
	}
	return res, err
}
