package abi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// KindReducer is the manifest kind of a reducer node (SPEC.md section 9): a pure fold
// δ(state, event) → (state', intents). Its manifest's Computations are its reductions;
// a reduction's InputSchema documents the event data and its OutputSchema the state.
const KindReducer Kind = "reducer"

// ExportReduce runs one reduction of a reducer node: (ptr i32, name_len i32, data_len
// i32) -> i32 status, the contract of ExportCompute, with the reduction's name in place of
// the computation name, a ReduceInput JSON object as the data and a ReduceOutput JSON
// object as the result. A reducer node exports it instead of ExportCompute.
const ExportReduce = "onex_reduce"

// ReduceEvent is one event a caller sends to a reducer for one key. EventID and Type are
// required (see DecodeReduceEvent).
type ReduceEvent struct {
	// EventID identifies the event; the host applies an event id at most once per
	// (node, key), so a redelivered event changes nothing.
	EventID string `json:"event_id"`
	// Type is the event's type, for example an FSM trigger.
	Type string `json:"type"`
	// Data is the event's body, one JSON value; empty means none (null).
	Data json.RawMessage `json:"data,omitempty"`
}

// ReduceInput is what the guest's onex_reduce receives: the current state of one key and
// the event to fold into it.
type ReduceInput struct {
	Reduction string `json:"reduction"` // the reduction called (also the export's name argument)
	Key       string `json:"key"`       // the key whose state this is
	// Sequence is the sequence number the event gets if the reduction succeeds: 1 for a
	// key's first event, then one more per applied event.
	Sequence uint64 `json:"sequence"`
	// State is the key's current state as the reducer last returned it; JSON null for a
	// new key.
	State json.RawMessage `json:"state"`
	Event ReduceEvent     `json:"event"`
}

// Intent is an effect a reducer asks the host to carry out after the new state is
// stored: the effect node Node runs its effect EffectType on OperationData, with the
// operation id IntentOperationID gives.
type Intent struct {
	Node          string          `json:"node"`        // required; the effect node's name
	EffectType    string          `json:"effect_type"` // required; one of the node's effects
	OperationData json.RawMessage `json:"operation_data,omitempty"`
}

// ReduceOutput is what the guest's onex_reduce returns on success.
type ReduceOutput struct {
	// State is the key's new state; required, and may be JSON null.
	State json.RawMessage `json:"state"`
	// Intents are carried out in order, at least once each, after State is stored.
	Intents []Intent `json:"intents,omitempty"`
	// Projection is an optional view of the state the host passes on to its caller (for
	// example, what an HTTP door answers); the host does not store it.
	Projection json.RawMessage `json:"projection,omitempty"`
}

// reduceEventJSON tells a missing field from an empty one.
type reduceEventJSON struct {
	EventID *string         `json:"event_id"`
	Type    *string         `json:"type"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (w reduceEventJSON) event(what string) (ReduceEvent, error) {
	switch {
	case w.EventID == nil || *w.EventID == "":
		return ReduceEvent{}, fmt.Errorf("%w: %s: event_id is missing or empty", ErrInvalidEnvelope, what)
	case w.Type == nil || *w.Type == "":
		return ReduceEvent{}, fmt.Errorf("%w: %s: type is missing or empty", ErrInvalidEnvelope, what)
	}
	return ReduceEvent{EventID: *w.EventID, Type: *w.Type, Data: w.Data}, nil
}

// DecodeReduceEvent parses one ReduceEvent as strictly as DecodeComputeInput parses its
// envelope: valid UTF-8, one JSON object, no field but event_id, type and data, and a
// non-empty event_id and type. Every failure wraps ErrInvalidEnvelope and says why. The
// result's Data is a copy.
func DecodeReduceEvent(b []byte) (ReduceEvent, error) {
	var w reduceEventJSON
	if err := decodeStrict(b, &w, "reduce event"); err != nil {
		return ReduceEvent{}, err
	}
	return w.event("reduce event")
}

// DecodeReduceInput parses one ReduceInput as strictly: reduction, key, sequence, state
// and event are all required (state may be null), the event as DecodeReduceEvent wants
// it, and no other field. Every failure wraps ErrInvalidEnvelope. Guests written in Go
// (the SDK) use it; the host builds ReduceInput values itself.
func DecodeReduceInput(b []byte) (ReduceInput, error) {
	const what = "reduce input"
	var w struct {
		Reduction *string          `json:"reduction"`
		Key       *string          `json:"key"`
		Sequence  *uint64          `json:"sequence"`
		State     json.RawMessage  `json:"state"`
		Event     *reduceEventJSON `json:"event"`
	}
	if err := decodeStrict(b, &w, what); err != nil {
		return ReduceInput{}, err
	}
	missing := ""
	switch {
	case w.Reduction == nil:
		missing = "reduction"
	case w.Key == nil:
		missing = "key"
	case w.Sequence == nil:
		missing = "sequence"
	case w.State == nil:
		missing = "state"
	case w.Event == nil:
		missing = "event"
	}
	if missing != "" {
		return ReduceInput{}, fmt.Errorf("%w: %s: %s is missing", ErrInvalidEnvelope, what, missing)
	}
	ev, err := w.Event.event(what + ": event")
	if err != nil {
		return ReduceInput{}, err
	}
	return ReduceInput{Reduction: *w.Reduction, Key: *w.Key, Sequence: *w.Sequence, State: w.State, Event: ev}, nil
}

// DecodeReduceOutput parses a guest's ReduceOutput strictly: valid UTF-8, one JSON
// object, no field but state, intents and projection, state present (JSON null counts as
// present), and every intent with only node, effect_type and operation_data, a node that
// ValidName accepts and a non-empty effect_type. Every failure wraps ErrInvalidEnvelope
// and names the field (intents[i] for an intent). The result's raw fields are copies.
func DecodeReduceOutput(b []byte) (ReduceOutput, error) {
	const what = "reduce output"
	var w struct {
		State   json.RawMessage `json:"state"`
		Intents []struct {
			Node          *string         `json:"node"`
			EffectType    *string         `json:"effect_type"`
			OperationData json.RawMessage `json:"operation_data,omitempty"`
		} `json:"intents,omitempty"`
		Projection json.RawMessage `json:"projection,omitempty"`
	}
	if err := decodeStrict(b, &w, what); err != nil {
		return ReduceOutput{}, err
	}
	if w.State == nil {
		return ReduceOutput{}, fmt.Errorf("%w: %s: state is missing (return null for no state)", ErrInvalidEnvelope, what)
	}
	out := ReduceOutput{State: w.State, Projection: w.Projection}
	if len(w.Intents) > 0 {
		out.Intents = make([]Intent, len(w.Intents))
	}
	for i, in := range w.Intents {
		switch {
		case in.Node == nil || !ValidName(*in.Node):
			return ReduceOutput{}, fmt.Errorf("%w: %s: intents[%d].node is missing or not a valid node name", ErrInvalidEnvelope, what, i)
		case in.EffectType == nil || *in.EffectType == "":
			return ReduceOutput{}, fmt.Errorf("%w: %s: intents[%d].effect_type is missing or empty", ErrInvalidEnvelope, what, i)
		}
		out.Intents[i] = Intent{Node: *in.Node, EffectType: *in.EffectType, OperationData: in.OperationData}
	}
	return out, nil
}

// IntentOperationID returns the operation id of the index-th intent (from 0) that the
// event applied as sequence seq of key produced in reducer node node:
//
//	"reduce:" + node + ":" + escape(key) + ":" + seq + ":" + index
//
// with seq and index in decimal, and escape replacing every '%' in key by "%25" and
// every ':' by "%3A" (in that order of reading: each byte once), so that distinct
// (node, key, seq, index) always give distinct ids. Node names cannot contain ':' (see
// ValidName). The id is deterministic: a host that carries an intent out again after a
// crash gives it the same operation id, which the effect journal deduplicates.
func IntentOperationID(node, key string, seq uint64, index int) string {
	var b strings.Builder
	b.Grow(len("reduce:") + len(node) + len(key) + 24)
	b.WriteString("reduce:")
	b.WriteString(node)
	b.WriteByte(':')
	writeEscaped(&b, key)
	b.WriteByte(':')
	b.WriteString(strconv.FormatUint(seq, 10))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(index))
	return b.String()
}

// writeEscaped writes s to b with each '%' as "%25" and each ':' as "%3A", so that a
// key or id with colons cannot run into the next field of an operation id.
func writeEscaped(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '%':
			b.WriteString("%25")
		case ':':
			b.WriteString("%3A")
		default:
			b.WriteByte(c)
		}
	}
}
