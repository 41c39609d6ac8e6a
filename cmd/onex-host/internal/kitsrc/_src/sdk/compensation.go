package sdk

import (
	"context"
	"fmt"

	"github.com/onexhost/onex-host/abi"
)

// Compensation registers fn as the guest-defined compensation called name: an undo step
// an effect handler schedules with Compensate, for work the host cannot undo by itself
// (for example, cancelling through an API what an earlier call created). When an attempt
// that called Compensate(name, payload) rolls back, the host calls the onex_compensate
// export on a fresh instance of the plugin, which runs fn with that payload.
//
// payload is a view into a buffer the host owns: fn must not keep it after returning.
// fn returns nil when the undo succeeded. An error (its code and message chosen as for
// Compute: see NewError) or a panic marks this compensation failed; the rollback goes on
// with the others either way. fn must be idempotent: after a crash the host may run it
// for a step that never happened. The context is context.Background().
//
// Compensations exist only in effect nodes: Compensation makes the plugin one, as Effect
// does. Call it from an init function. It panics on a programmer error: a name that
// abi.ValidName rejects, a name registered before, a nil fn, or a plugin that is already
// a compute node.
func Compensation(name string, fn func(ctx context.Context, payload []byte) error) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: Compensation %q: nil function", name))
	}
	std.registerCompensation(name, wrapCompensation(fn))
}

// wrapCompensation turns a compensation into a handler: no output on success, an error
// payload otherwise.
func wrapCompensation(fn func(ctx context.Context, payload []byte) error) handler {
	return func(ctx context.Context, data []byte, e *encoder) (abi.Status, []byte) {
		if err := fn(ctx, data); err != nil {
			return e.failure(abi.StatusError, errorPayload(err))
		}
		return abi.StatusOK, nil
	}
}

// Compensate schedules the compensation called name, which Compensation registered, to
// run with payload if the current effect attempt rolls back. It registers the step with
// the attempt's transaction through the abi.OpTxCompensate capability operation; the host
// records it in order with the attempt's other operations and, on rollback, undoes them
// newest first. On commit the step is dropped. Call it from an effect handler, typically
// right before the operation it undoes, so that a failure of that operation is undone
// too (the compensation must therefore cope with a step that did not happen).
//
// payload (any bytes, empty allowed) is sent to the host, which keeps its own copy.
// Compensate blocks until the host has recorded the step. It returns an error wrapping
// ErrUnknownCompensation, without calling the host, when no compensation of that name is
// registered, and a *CapabilityError when the host refuses the request (for example
// abi.StatusUnsupported outside an effect attempt).
func Compensate(name string, payload []byte) error {
	if _, ok := std.compensations[name]; !ok {
		return fmt.Errorf("%w: %q (register it with Compensation)", ErrUnknownCompensation, name)
	}
	return callHost(abi.OpTxCompensate, abi.TxCompensateRequest{Name: name, Payload: payload}, nil)
}
