package tx

import "fmt"

// State is where a transaction is in its life:
//
//	pending ──► active ──► committed
//	   │          │
//	   └──────────┴──────► rolled_back | failed
//
// A transaction is pending from Begin until its first Record, Apply or Hold,
// so an attempt that failed before touching anything is easy to tell apart.
// Committed, rolled_back and failed are final. Failed means the rollback ran
// but at least one compensation failed; rolled_back means every reversible
// operation was compensated (irreversible ones are listed in the Result).
//
// The zero value is StatePending. States encode as their String in JSON.
type State uint8

// The states of a transaction.
const (
	StatePending State = iota
	StateActive
	StateCommitted
	StateRolledBack
	StateFailed
)

var stateNames = [...]string{
	StatePending:    "pending",
	StateActive:     "active",
	StateCommitted:  "committed",
	StateRolledBack: "rolled_back",
	StateFailed:     "failed",
}

// String returns ONEX's name for the state, such as "rolled_back", or
// "State(n)" for a value that is not a state.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", s)
}

// Final reports whether s is committed, rolled_back or failed.
func (s State) Final() bool { return s >= StateCommitted && s <= StateFailed }

// MarshalText returns the String of a valid state, or an error wrapping
// ErrInvalidSnapshot for any other value.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("%w: state %d", ErrInvalidSnapshot, s)
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText parses a state name; an unknown name is an error wrapping
// ErrInvalidSnapshot.
func (s *State) UnmarshalText(b []byte) error {
	for i, name := range stateNames {
		if string(b) == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("%w: unknown state %q", ErrInvalidSnapshot, b)
}

// Outcome is what a rollback did with one operation.
type Outcome string

// The outcomes of a rollback for one operation.
const (
	// OutcomeCompensated: its Compensator returned nil.
	OutcomeCompensated Outcome = "compensated"
	// OutcomeFailed: its Compensator failed or panicked, or the rollback
	// deadline passed before it could run.
	OutcomeFailed Outcome = "failed"
	// OutcomeIrreversible: the operation was recorded as irreversible, so
	// nothing could undo it. It does not make the rollback fail, but it is
	// reported so that nobody believes it was undone.
	OutcomeIrreversible Outcome = "irreversible"
)
