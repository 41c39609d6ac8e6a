package breaker

import (
	"errors"
	"fmt"
	"time"
)

var (
	// ErrOpen is matched (with errors.Is) by the *OpenError that Allow and Do
	// return when a breaker rejects a call.
	ErrOpen = errors.New("breaker: open")
	// ErrInvalidPolicy is matched by the *PolicyError that Policy.Validate and
	// NewRegistry return for a Policy field out of range.
	ErrInvalidPolicy = errors.New("breaker: invalid policy")
)

// OpenError is returned by Allow and Do when a breaker rejects a call: it is
// open, or it is half-open and already running its limit of probe calls. The
// call was not run and nothing about it was recorded except the rejection.
// Each rejection returns a new OpenError; it is not modified afterwards, so it
// is safe for concurrent use.
type OpenError struct {
	// Service is the breaker's service name.
	Service string
	// State is StateOpen or StateHalfOpen.
	State State
	// RetryAfter is how long the breaker was to stay open at the moment of
	// the rejection. It is zero when State is StateHalfOpen: a probe slot
	// may free up at any moment.
	RetryAfter time.Duration
}

// Error names the service, the state and, when open, the time left.
func (e *OpenError) Error() string {
	if e.State == StateHalfOpen {
		return fmt.Sprintf("breaker: service %q is half-open and at its limit of probe calls", e.Service)
	}
	return fmt.Sprintf("breaker: service %q is open, retry after %v", e.Service, e.RetryAfter)
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool {
	return target == ErrOpen
}

// PolicyError is returned by Policy.Validate (joined, one per bad field) and
// NewRegistry when a Policy field is out of range. It matches
// ErrInvalidPolicy. It is not modified after it is returned, so it is safe
// for concurrent use.
type PolicyError struct {
	// Service is the Config.Overrides key of the policy, or empty for
	// Config.Policy and for Policy.Validate.
	Service string
	// Field is the name of the Policy field, such as "FailureRateThreshold".
	Field string
	// Value is the field's value.
	Value any
	// Reason says which range the value is outside of.
	Reason string
}

// Error names the override, the field, its value and the reason.
func (e *PolicyError) Error() string {
	if e.Service != "" {
		return fmt.Sprintf("breaker: invalid policy for %q: %s %v %s", e.Service, e.Field, e.Value, e.Reason)
	}
	return fmt.Sprintf("breaker: invalid policy: %s %v %s", e.Field, e.Value, e.Reason)
}

// Is reports whether target is ErrInvalidPolicy.
func (e *PolicyError) Is(target error) bool {
	return target == ErrInvalidPolicy
}
