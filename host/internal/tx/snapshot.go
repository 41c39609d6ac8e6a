package tx

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// FormatVersion is the version of the Snapshot JSON format, written as "v".
const FormatVersion = 1

// Snapshot is the record of a transaction a journal writes: who it belongs
// to, where it is, what it did and what it will publish. Its JSON form
// (FormatVersion 1) is:
//
//	{
//	  "v": 1,
//	  "id": "0190f4c2-…",              // Tx.ID, a version 7 UUID
//	  "node": "file_writer",           // Begin's node
//	  "attempt": 1,                    // Begin's attempt
//	  "operation_id": "…",             // Begin's operationID; omitted when ""
//	  "state": "active",               // a State name
//	  "begun_at": "2025-01-02T03:04:05Z",
//	  "ended_at": "…",                 // only once final
//	  "operations": [                  // Operation, in Seq order; [] when none
//	    {"seq": 1, "kind": "fs.write", "service": "fs:/srv/data",
//	     "target": "/srv/data/a.txt", "detail": {...},
//	     "compensation": {"existed": true, "previous": "aGVsbG8=", "mode": 420},
//	     "recorded_at": "…"},
//	    {"seq": 2, "kind": "http.request", "target": "https://…",
//	     "irreversible": true, "recorded_at": "…"}
//	  ],
//	  "outbox": [ {abi.Event}, … ]    // held events in order; omitted when none
//	}
//
// Byte fields (previous, request body) are base64; detail and payload are
// embedded JSON. Decoders must ignore fields they do not know, so later
// versions may add fields without changing "v"; a change in the meaning of
// an existing field bumps it. To recover after a crash, a journal rolls back
// the operations of a snapshot that is pending or active (compensations are
// idempotent, so it need not know which operations really happened), and
// publishes again the outbox of one that is committed (delivery is
// at-least-once).
//
// A Snapshot shares the slices inside its operations and events with the
// transaction; treat it as read-only.
type Snapshot struct {
	Version int    `json:"v"`
	ID      string `json:"id"`
	Node    string `json:"node"`
	Attempt int    `json:"attempt"`
	// OperationID is Begin's operationID; "" in records written before it was added.
	OperationID string      `json:"operation_id,omitempty"`
	State       State       `json:"state"`
	BegunAt     time.Time   `json:"begun_at"`
	EndedAt     time.Time   `json:"ended_at,omitzero"`
	Operations  []Operation `json:"operations"`
	Outbox      []abi.Event `json:"outbox,omitempty"`
}

// Snapshot returns the transaction's record as it is now. It does not block
// on a running rollback (a snapshot taken during one shows the state before
// it).
func (t *Tx) Snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Snapshot{
		Version:     FormatVersion,
		ID:          t.id,
		Node:        t.node,
		Attempt:     t.attempt,
		OperationID: t.opID,
		State:       t.state,
		BegunAt:     t.begunAt,
		EndedAt:     t.endedAt,
		Operations:  make([]Operation, len(t.ops)),
		Outbox:      append([]abi.Event(nil), t.outbox...),
	}
	for i, e := range t.ops {
		s.Operations[i] = e.op
	}
	return s
}

// MarshalJSON encodes t.Snapshot().
func (t *Tx) MarshalJSON() ([]byte, error) { return json.Marshal(t.Snapshot()) }

// UnmarshalJSON decodes a snapshot, returning an error wrapping
// ErrInvalidSnapshot if its "v" is not FormatVersion or its state is unknown.
func (s *Snapshot) UnmarshalJSON(b []byte) error {
	type plain Snapshot // without the method
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.Version != FormatVersion {
		return fmt.Errorf("%w: format version %d, want %d", ErrInvalidSnapshot, p.Version, FormatVersion)
	}
	*s = Snapshot(p)
	return nil
}
