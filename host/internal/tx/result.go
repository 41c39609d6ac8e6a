package tx

import "encoding/json"

// Result is how a transaction ended, in the terms of ONEX's effect output
// (transaction_state, side_effects_applied, rollback_operations). Commit and
// Rollback return it; it is a value nothing modifies afterwards, except that
// Err values are shared.
type Result struct {
	// ID is the transaction's ID.
	ID string `json:"transaction_id"`
	// State is the final state, or the current one when the call that
	// returned the Result failed without ending the transaction.
	State State `json:"transaction_state"`
	// SideEffectsApplied is the number of operations recorded, whether they
	// were later compensated or not.
	SideEffectsApplied int `json:"side_effects_applied"`
	// RollbackOperations lists every recorded operation in the order the
	// rollback handled it (newest first) with what happened to it. It is nil
	// unless the transaction was rolled back.
	RollbackOperations []RollbackOp `json:"rollback_operations,omitempty"`
}

// RollbackOp is what a rollback did with one operation.
type RollbackOp struct {
	Seq     int     `json:"seq"`
	Kind    string  `json:"kind"`
	Service string  `json:"service,omitempty"`
	Target  string  `json:"target,omitempty"`
	Outcome Outcome `json:"outcome"`
	// Err is the *CompensationError when Outcome is OutcomeFailed, else nil.
	// JSON carries its message as "error".
	Err error `json:"-"`
}

// MarshalJSON encodes r with its error message as "error". There is no
// matching UnmarshalJSON: a Result is an output.
func (r RollbackOp) MarshalJSON() ([]byte, error) {
	type plain RollbackOp // without the method
	v := struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain: plain(r)}
	if r.Err != nil {
		v.Error = r.Err.Error()
	}
	return json.Marshal(v)
}
