package breaker

import "github.com/failsafe-go/failsafe-go/circuitbreaker"

// State is the state of a Breaker. The zero value is StateClosed. It is a
// plain integer, safe for concurrent use.
type State int

const (
	// StateClosed admits every call and judges the results against the
	// policy's thresholds.
	StateClosed State = iota
	// StateOpen rejects every call until the policy's OpenTimeout has passed.
	StateOpen
	// StateHalfOpen admits a bounded number of concurrent probe calls; their
	// results close the breaker or open it again.
	StateHalfOpen
)

// String returns "closed", "open" or "half-open" (ONEX's names), or
// "unknown".
func (s State) String() string {
	switch s {
	case StateClosed:
		return "closed"
	case StateOpen:
		return "open"
	case StateHalfOpen:
		return "half-open"
	default:
		return "unknown"
	}
}

// stateOf converts failsafe-go's state to ours.
func stateOf(s circuitbreaker.State) State {
	switch s {
	case circuitbreaker.OpenState:
		return StateOpen
	case circuitbreaker.HalfOpenState:
		return StateHalfOpen
	default:
		return StateClosed
	}
}
