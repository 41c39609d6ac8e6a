package tx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of operation the host's capabilities record. Kind is an open string:
// any other value works as long as a Compensator is registered for it (or the
// operation is irreversible).
const (
	KindFSWrite     = "fs.write"     // Target was written; Compensation holds what it held before
	KindFSDelete    = "fs.delete"    // Target was deleted; Compensation holds what it held before
	KindFSMove      = "fs.move"      // From was moved to Target; Compensation holds what Target held before
	KindFSMkdir     = "fs.mkdir"     // directory Target was created; Existed says whether it was there already
	KindKVPut       = "kv.put"       // key Target was set; Compensation holds its previous value
	KindKVDelete    = "kv.delete"    // key Target was deleted; Compensation holds its previous value
	KindHTTPRequest = "http.request" // a request to Target; Compensation.Request undoes it, or Irreversible
	KindGuest       = "guest"        // the plugin did something itself; Compensation.Payload is for the plugin
)

// Operation is one side effect of a transaction and how to undo it. It is
// plain data so that a journal can write it before the side effect happens
// and, after a crash, replay its compensation from the JSON alone.
//
// Record only operations that change something: each counts as one of the
// Result's SideEffectsApplied.
//
// The slices and maps inside an Operation are copied by Record and Apply; the
// Operation a Compensator, an Observer or Snapshot receives shares them with
// the transaction's log, and must not be modified.
type Operation struct {
	// Seq numbers the operations of a transaction 1, 2, 3... in the order
	// they were recorded. Record sets it; a value passed in is ignored.
	Seq int `json:"seq"`
	// Kind says what was done and selects the Compensator; required. See the
	// Kind constants.
	Kind string `json:"kind"`
	// Service names the resource, such as "fs:/srv/data" or "kv:sessions",
	// for reports and for the Compensator to find it again.
	Service string `json:"service,omitempty"`
	// Target is the path, key or URL the operation acted on.
	Target string `json:"target,omitempty"`
	// From is the source path of an fs.move.
	From string `json:"from,omitempty"`
	// Detail optionally describes what was done, as JSON (for example the
	// size written, or the HTTP status). It is for reports and journals; it
	// must be valid JSON when not empty.
	Detail json.RawMessage `json:"detail,omitempty"`
	// Compensation says how to undo the operation. Exactly one of
	// Compensation and Irreversible is set.
	Compensation *Compensation `json:"compensation,omitempty"`
	// Irreversible marks an operation nothing can undo, such as an HTTP
	// request without a compensating request. Rollback does not call a
	// Compensator for it, and lists it with OutcomeIrreversible.
	Irreversible bool `json:"irreversible,omitempty"`
	// RecordedAt is when Record accepted the operation (Config.Now). Record
	// sets it.
	RecordedAt time.Time `json:"recorded_at"`
}

// Compensation is the before-image a Compensator needs to undo an operation.
// Each kind uses the fields it needs and leaves the others zero.
//
// An operation is recorded before it is performed, and may then fail halfway
// or never happen, so a compensation must restore the before-image rather
// than reverse a step: "make Target hold Previous" and "make Target absent"
// are safe to run whatever happened, and safe to run again after a crash.
type Compensation struct {
	// Existed reports whether Target existed before the operation.
	Existed bool `json:"existed"`
	// Previous is Target's content or value before the operation, when it
	// existed and had one. It encodes as base64 in JSON.
	Previous []byte `json:"previous,omitempty"`
	// Mode holds the permission bits Target had (fs kinds), or zero.
	Mode uint32 `json:"mode,omitempty"`
	// Request is the compensating request of an http.request.
	Request *Request `json:"request,omitempty"`
	// Payload is opaque JSON for kinds the host does not understand, such as
	// guest: what the plugin asked to be handed back to undo its work. It
	// must be valid JSON when not empty.
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Request is an HTTP request that undoes an earlier one.
type Request struct {
	Method string              `json:"method"`
	URL    string              `json:"url"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"` // base64 in JSON
}

// Validate checks the rules Record and Apply enforce: Kind is not empty;
// exactly one of Compensation and Irreversible is set; Detail and
// Compensation.Payload are empty or valid JSON; a Request has a Method and
// a URL. It returns nil or an error wrapping ErrInvalidOperation.
func (op *Operation) Validate() error {
	c := op.Compensation
	switch {
	case op.Kind == "":
		return fmt.Errorf("%w: kind is empty", ErrInvalidOperation)
	case op.Irreversible && c != nil:
		return fmt.Errorf("%w: %s is irreversible but has a compensation", ErrInvalidOperation, op.Kind)
	case !op.Irreversible && c == nil:
		return fmt.Errorf("%w: %s has no compensation and is not marked irreversible", ErrInvalidOperation, op.Kind)
	case len(op.Detail) > 0 && !json.Valid(op.Detail):
		return fmt.Errorf("%w: %s detail is not valid JSON", ErrInvalidOperation, op.Kind)
	case c == nil:
		return nil
	case len(c.Payload) > 0 && !json.Valid(c.Payload):
		return fmt.Errorf("%w: %s compensation payload is not valid JSON", ErrInvalidOperation, op.Kind)
	case c.Request != nil && (c.Request.Method == "" || c.Request.URL == ""):
		return fmt.Errorf("%w: %s compensating request lacks a method or URL", ErrInvalidOperation, op.Kind)
	}
	return nil
}

// clone returns op with its own copies of every slice and map, so the caller
// may reuse its buffers once Record returns.
func (op Operation) clone() Operation {
	op.Detail = bytes.Clone(op.Detail)
	if op.Compensation != nil {
		c := *op.Compensation
		c.Previous = bytes.Clone(c.Previous)
		c.Payload = bytes.Clone(c.Payload)
		if c.Request != nil {
			r := *c.Request
			r.Body = bytes.Clone(r.Body)
			if r.Header != nil {
				r.Header = make(map[string][]string, len(c.Request.Header))
				for k, v := range c.Request.Header {
					r.Header[k] = append([]string(nil), v...)
				}
			}
			c.Request = &r
		}
		op.Compensation = &c
	}
	return op
}
