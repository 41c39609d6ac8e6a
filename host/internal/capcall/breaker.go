package capcall

import (
	"context"
	"errors"
	"fmt"

	"github.com/onexhost/onex-host/abi"
)

// CodeCircuitOpen is the error code of a capability call an open breaker rejected: the
// effect's retry policy recognises it, and so does a guest that passes it on.
const CodeCircuitOpen = "circuit_open"

// errBreakerOpen marks a capability call an open circuit breaker rejected.
var errBreakerOpen = errors.New("circuit breaker open")

// errGuardedPanic is what the breaker records for a guarded call that panicked (or called
// runtime.Goexit): a failure, so that a half-open probe's slot is given back.
var errGuardedPanic = errors.New("capcall: a guarded capability call panicked")

// guard runs fn behind the breaker of service, unless the attempt bypasses breakers.
// isFailure says whether fn's error counts against the service (a refused path or a bad
// key does not; an I/O error does). A call that failed because ctx was canceled is
// recorded as canceled, never as a success or a failure: the caller gave up, which says
// nothing about the service (a canceled half-open probe must not close the breaker). The
// result is recorded even if fn panics, so no half-open slot is leaked.
func (a *Attempt) guard(ctx context.Context, service string, fn func() error, isFailure func(error) bool) error {
	if !a.Breakers {
		return fn()
	}
	permit, err := a.Plugin.Breakers.Get(service).Allow()
	if err != nil {
		return fmt.Errorf("%w: %w", errBreakerOpen, err)
	}
	result := errGuardedPanic // replaced below unless fn does not return
	defer func() { permit.Done(result) }()
	err = fn()
	switch {
	case err == nil:
		result = nil
	case errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		result = context.Canceled
	case isFailure(err):
		result = err
	default:
		result = nil
	}
	return err
}

// breakerStatus reports a call an open breaker rejected: unavailable, retryable, with the
// code the effect's retry policy recognises.
func breakerStatus(op string, err error) (abi.Status, []byte) {
	return abi.StatusUnavailable, abi.AppendError(nil, abi.Error{Code: CodeCircuitOpen,
		Message: fmt.Sprintf("%s: %v", op, err), Retryable: true})
}
