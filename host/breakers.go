package host

import (
	"errors"
	"fmt"

	"github.com/onexhost/onex-host/abi"
)

// errBreakerOpen marks a capability call an open circuit breaker rejected.
var errBreakerOpen = errors.New("circuit breaker open")

// guard runs fn behind the breaker of service, unless the attempt bypasses breakers.
// isFailure says whether fn's error counts against the service (a refused path or a bad
// key does not; an I/O error does).
func (a *attempt) guard(service string, fn func() error, isFailure func(error) bool) error {
	if !a.breakers {
		return fn()
	}
	permit, err := a.plugin.host.breakers.Get(service).Allow()
	if err != nil {
		return fmt.Errorf("%w: %w", errBreakerOpen, err)
	}
	err = fn()
	if err != nil && isFailure(err) {
		permit.Done(err)
	} else {
		permit.Done(nil)
	}
	return err
}

// breakerStatus reports a call an open breaker rejected: unavailable, retryable, with the
// code the effect's retry policy recognises.
func breakerStatus(op string, err error) (abi.Status, []byte) {
	return abi.StatusUnavailable, abi.AppendError(nil, abi.Error{Code: codeCircuitOpen,
		Message: fmt.Sprintf("%s: %v", op, err), Retryable: true})
}
