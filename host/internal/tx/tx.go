package tx

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// Tx is the transaction of one effect attempt: a log of the operations the
// attempt performed, each with its compensation, and an outbox of events to
// publish if and only if it commits. Get one from Manager.Begin; the zero
// value is not usable.
//
// A Tx belongs to the call that began it and is driven by one goroutine, but
// every method is safe for concurrent use by multiple goroutines, because the
// owner's Commit or Rollback may race Manager.RollbackAll at shutdown.
// Exactly one of Commit and the first Rollback wins; the loser gets
// ErrRolledBack or ErrCommitted, or, for a second Rollback, the first one's
// outcome.
type Tx struct {
	m       *Manager
	id      string
	node    string
	attempt int
	opID    string
	begunAt time.Time
	done    chan struct{} // closed when the transaction reaches a final state

	// mu guards the fields below. No callback, compensation or publish runs
	// while it is held.
	mu      sync.Mutex
	state   State
	rolling bool          // a rollback has begun; state stays pending or active until it ends
	ops     []entry       // the log, in Seq order
	outbox  []abi.Event   // held events, in Hold order
	busy    int           // Record, Apply and first-Hold calls between taking a slot and returning
	idle    chan struct{} // made by a rollback waiting for busy to reach 0; closed by whoever gets it there
	endedAt time.Time     // when the final state was reached
	result  Result        // the outcome, once final
	err     error         // Rollback's error, returned again by every later Rollback
}

// entry is one logged operation.
type entry struct {
	op      Operation
	running bool // Apply is still performing it
}

// ID returns the transaction's ID, a version 7 UUID (time-ordered).
func (t *Tx) ID() string { return t.id }

// Node returns the name of the effect node passed to Begin.
func (t *Tx) Node() string { return t.node }

// Attempt returns the attempt number passed to Begin.
func (t *Tx) Attempt() int { return t.attempt }

// OperationID returns the operation id passed to Begin: the effect request's id, which
// the attempts of one request share; "" when Begin got none.
func (t *Tx) OperationID() string { return t.opID }

// State returns the current state. While a rollback runs it is still pending
// or active; it becomes rolled_back or failed when the rollback ends.
func (t *Tx) State() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// Record appends op to the log as performed (or about to be performed) by
// the caller, and returns once Observer.OnRecord has seen it. Record the
// operation before performing it, once its Compensation is known, so that a
// journal holds the intent before the side effect exists; prefer Apply,
// which also keeps a concurrent rollback from compensating the operation
// while it is being performed.
//
// Record copies op's slices and maps and sets its Seq and RecordedAt. The
// first Record moves a pending transaction to active. It returns an error
// wrapping ErrInvalidOperation or ErrNoCompensator for an operation it
// refuses (nothing is logged), ErrCommitted or ErrRolledBack when the
// transaction can no longer change (nothing is logged), or the
// observer's error (the operation is logged and must not be performed).
func (t *Tx) Record(op Operation) error { return t.record(op, nil) }

// Apply records op as Record does and then, if that succeeded, calls do to
// perform it, returning do's error unchanged. A rollback that begins while
// Apply runs, for example from Manager.RollbackAll, waits for Apply to return
// before compensating anything (up to its deadline, after which the
// operation is reported with ErrInProgress), and a Record or Apply after the
// rollback began is refused, so no operation is performed after, or during,
// its compensation.
//
// If do fails, op stays in the log and counts as applied: it may have
// happened in part, and its compensation copes with it not having happened.
// do must not call Commit or Rollback on t.
func (t *Tx) Apply(op Operation, do func() error) error { return t.record(op, do) }

func (t *Tx) record(op Operation, do func() error) error {
	if err := op.Validate(); err != nil {
		return fmt.Errorf("tx %s: record: %w", t.id, err)
	}
	if _, ok := t.m.cfg.Compensators[op.Kind]; !ok && !op.Irreversible {
		return fmt.Errorf("%w %q (tx %s)", ErrNoCompensator, op.Kind, t.id)
	}
	op = op.clone()
	op.RecordedAt = t.m.cfg.Now()

	t.mu.Lock()
	if err := t.changeableLocked(); err != nil {
		t.mu.Unlock()
		return fmt.Errorf("tx %s: record %s: %w", t.id, op.Kind, err)
	}
	from := t.state
	t.state = StateActive
	op.Seq = len(t.ops) + 1
	i := len(t.ops)
	t.ops = append(t.ops, entry{op: op, running: do != nil})
	t.busy++
	t.mu.Unlock()
	defer t.endCall(i)

	if o := t.m.cfg.Observer; o != nil {
		if from == StatePending {
			o.OnStateChange(t, from, StateActive)
		}
		if err := o.OnRecord(t, op); err != nil {
			return fmt.Errorf("tx %s: record op %d (%s): observer: %w", t.id, op.Seq, op.Kind, err)
		}
	}
	if do != nil {
		return do()
	}
	return nil
}

// endCall ends a call that took a busy slot; i is the index of the entry it
// appended, or -1.
func (t *Tx) endCall(i int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i >= 0 {
		t.ops[i].running = false
	}
	t.busy--
	if t.busy == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

// changeableLocked returns the error for a transaction that may no longer
// log operations or hold events, or nil. t.mu must be held.
func (t *Tx) changeableLocked() error {
	switch {
	case t.state == StateCommitted:
		return ErrCommitted
	case t.rolling || t.state.Final():
		return ErrRolledBack
	}
	return nil
}

// Hold adds e to the outbox, to be published by Commit after the transaction
// commits and never if it rolls back. It copies e's Headers and Payload. The
// first Hold of a pending transaction moves it to active. It does not block.
//
// It returns an error wrapping ErrNoPublisher if Config.Publish is nil,
// abi.ErrInvalidEvent if e fails abi.Event.Validate (so a bad event is caught
// before the commit rather than after), or ErrCommitted or ErrRolledBack.
func (t *Tx) Hold(e abi.Event) error {
	if t.m.cfg.Publish == nil {
		return fmt.Errorf("tx %s: hold %s: %w", t.id, e.EventType, ErrNoPublisher)
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("tx %s: hold: %w", t.id, err)
	}
	e.Headers = maps.Clone(e.Headers)
	e.Payload = bytes.Clone(e.Payload)

	t.mu.Lock()
	if err := t.changeableLocked(); err != nil {
		t.mu.Unlock()
		return fmt.Errorf("tx %s: hold %s: %w", t.id, e.EventType, err)
	}
	from := t.state
	t.state = StateActive
	t.outbox = append(t.outbox, e)
	if from == StatePending {
		t.busy++ // so the observer hears of the change before any final state
	}
	t.mu.Unlock()

	if from == StatePending {
		defer t.endCall(-1)
		if o := t.m.cfg.Observer; o != nil {
			o.OnStateChange(t, from, StateActive)
		}
	}
	return nil
}

// Commit ends the transaction as committed: its side effects stay. Then it
// publishes the outbox with Config.Publish, one event at a time in Hold
// order, on a context that keeps ctx's values but not its cancellation,
// bounded by Config.FinishTimeout. It blocks until publishing ends.
//
// A pending transaction (nothing recorded or held) commits too. Commit
// returns an error wrapping:
//   - ErrCommitted if the transaction was already committed (a second Commit
//     is an error, not a no-op, because it usually means a bug in the
//     caller; it publishes nothing again);
//   - ErrRolledBack if a rollback began first, for example from
//     Manager.RollbackAll; call Rollback to wait for its outcome;
//   - ErrBusy if a Record or Apply call is running in another goroutine;
//     nothing changes.
//
// In those cases the Result describes the transaction as it is. If the
// transaction committed but an event could not be published, Commit stops
// there and returns a *PublishError holding the unpublished events: delivery
// is at-least-once, and the caller must publish them again.
func (t *Tx) Commit(ctx context.Context) (Result, error) {
	t.mu.Lock()
	err := t.changeableLocked()
	if err == nil && t.busy > 0 {
		err = ErrBusy
	}
	if err != nil {
		res := t.resultLocked()
		t.mu.Unlock()
		return res, fmt.Errorf("tx %s: commit: %w", t.id, err)
	}
	from := t.state
	t.state = StateCommitted
	t.endedAt = t.m.cfg.Now()
	t.result = Result{ID: t.id, State: StateCommitted, SideEffectsApplied: len(t.ops)}
	res := t.result
	// The outbox no longer changes, so it can be read after unlocking.
	outbox := t.outbox
	close(t.done)
	t.mu.Unlock()

	t.m.finish(t, StateCommitted)
	if o := t.m.cfg.Observer; o != nil {
		o.OnStateChange(t, from, StateCommitted)
	}
	if len(outbox) == 0 {
		return res, nil
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.m.cfg.FinishTimeout)
	defer cancel()
	for i, e := range outbox {
		if err := t.m.cfg.Publish(pctx, e); err != nil {
			return res, &PublishError{TxID: t.id, Events: cloneEvents(outbox[i:]), Err: err}
		}
	}
	return res, nil
}

// resultLocked returns the final Result, or one describing the transaction
// as it is now. t.mu must be held.
func (t *Tx) resultLocked() Result {
	if t.state.Final() {
		return t.result
	}
	return Result{ID: t.id, State: t.state, SideEffectsApplied: len(t.ops)}
}

// cloneEvents copies events with their Headers and Payload.
func cloneEvents(events []abi.Event) []abi.Event {
	out := make([]abi.Event, len(events))
	for i, e := range events {
		e.Headers = maps.Clone(e.Headers)
		e.Payload = bytes.Clone(e.Payload)
		out[i] = e
	}
	return out
}
