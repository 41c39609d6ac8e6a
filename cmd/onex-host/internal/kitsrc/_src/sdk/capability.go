package sdk

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/onexhost/onex-host/abi"
)

// This file is the portable core of the capability client: the guest side of the host
// functions call and result (abi/SPEC.md sections 4 and 8). hostcall_wasip1.go binds
// importCall and importResult to the real imports; hostcall_other.go stands in for them
// natively. The typed clients (FS, KV, HTTP, Events) and Compensate are built on callHost.

// Host answers capability calls in place of the real host, for native unit tests of
// effect handlers (see SetHost). Call performs the operation op (an abi.Op constant:
// abi.OpFSRead, abi.OpKVPut, ...) with the JSON request req, encoded as abi/SPEC.md
// section 8 says, and returns the status and the response: the response JSON on
// abi.StatusOK, an error payload (abi.Error as JSON, or plain text) otherwise.
//
// req is a view of the SDK's request buffer, valid only during Call: copy it to keep it.
// The SDK copies the returned slice before Call's next use. Calls are serialized (the SDK
// holds its capability lock during Call), so Call needs no locking of its own and must
// not use the capability clients itself.
type Host interface {
	Call(op string, req []byte) (abi.Status, []byte)
}

// installed holds the Host set with SetHost; nil means the platform's own.
var installed atomic.Pointer[hostBox]

type hostBox struct{ h Host }

// SetHost makes h answer every capability call (FS, KV, HTTP, Events, Compensate) in
// place of the real host, and returns a function that restores the previous one; nil
// restores the default. It is a hook for unit-testing effect handlers natively, with
// DispatchEffect or by calling the handler directly:
//
//	t.Cleanup(sdk.SetHost(fakeHost))
//
// Natively (not wasip1) the default host answers every call with abi.StatusUnsupported;
// under wasip1 it is the onex call and result imports. A plugin never calls SetHost in
// production code. It is safe to call concurrently with capability calls: each call uses
// the Host installed when it starts. Tests that install different hosts must not run in
// parallel with each other.
func SetHost(h Host) (restore func()) {
	var box *hostBox
	if h != nil {
		box = &hostBox{h: h}
	}
	prev := installed.Swap(box)
	return func() { installed.Store(prev) }
}

// CapabilityError is a capability call that did not succeed: the host refused or failed
// it with a non-zero Status, or (with abi.StatusInvalidInput) the request could not be
// encoded, or (with abi.StatusInternal) the response could not be read or decoded.
//
// Err is the host's error payload as abi.DecodeError read it: Err.Code is the status name
// unless the host chose another, and Err.Retryable is true for abi.StatusUnavailable and
// abi.StatusTimeout. Unwrap returns &Err, so an effect handler that returns a
// *CapabilityError, as it is or wrapped, fails with the host's code and retryable flag
// (see NewError): a retryable capability failure makes the attempt retryable.
//
// Branch on Status, or on the code with errors.As:
//
//	var ce *sdk.CapabilityError
//	if errors.As(err, &ce) && ce.Status == abi.StatusNotFound { ... }
//
// A CapabilityError is never modified after it is returned; it is safe for concurrent
// use by multiple goroutines.
type CapabilityError struct {
	Op     string     // the operation, an abi.Op constant
	Status abi.Status // never abi.StatusOK
	Err    abi.Error
}

// Error returns "sdk: <op>: <code>: <message>".
func (e *CapabilityError) Error() string { return "sdk: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns &e.Err.
func (e *CapabilityError) Unwrap() error { return &e.Err }

// capClient is the plugin's one capability client. It is package state for the reason
// the registry is: the guest is one instance, with one result register on the host side.
var capClient client

// client encodes requests, calls the host and reads responses, reusing its buffers from
// call to call so that a busy effect handler leaves little garbage. It is safe for
// concurrent use by multiple goroutines: calls are serialized.
type client struct {
	// mu guards req, enc, resp, retLen and fake. It also makes each call-then-result pair
	// atomic: the host keeps one result register per instance and clears it on the next
	// host call, and on Wasm an allocation between the two (growing resp) can switch to
	// another goroutine of the handler's that makes a call of its own. Holding a lock
	// across a host call is deliberate: the register makes calls serial anyway.
	mu     sync.Mutex
	req    bytes.Buffer
	enc    *json.Encoder // writes to req; made on first use
	resp   []byte        // the response (or error payload) of the last call
	retLen uint32        // call writes the response length here: a stable address
	fake   []byte        // the result register of an installed Host

	// moved counts request and response bytes since the exports last took them, for the
	// yield policy (see yield.go). Accessed atomically.
	moved atomic.Int64
}

// callHost performs the capability operation op: it encodes req as JSON, calls the host
// and, on success, decodes the response into resp (a pointer; nil skips decoding, as for
// abi.Empty). Any failure is a *CapabilityError. It blocks until the host answers.
func callHost(op string, req, resp any) error { return capClient.do(op, req, resp) }

func (c *client) do(op string, req, resp any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	body, err := c.encode(req)
	if err != nil {
		return &CapabilityError{Op: op, Status: abi.StatusInvalidInput, Err: abi.Error{
			Code: abi.StatusInvalidInput.String(), Message: "encode request: " + err.Error(),
		}}
	}
	status, out, err := c.roundTrip(op, body)
	c.moved.Add(int64(len(body) + len(out)))
	if err != nil {
		return &CapabilityError{Op: op, Status: abi.StatusInternal, Err: abi.Error{
			Code: abi.StatusInternal.String(), Message: err.Error(),
		}}
	}
	if status != abi.StatusOK {
		return &CapabilityError{Op: op, Status: status, Err: abi.DecodeError(status, out)}
	}
	if resp != nil && len(out) > 0 {
		// json.Unmarshal copies what it keeps (strings, base64-decoded bytes), so nothing
		// returned to the handler aliases resp, which the next call overwrites.
		if err := json.Unmarshal(out, resp); err != nil {
			return &CapabilityError{Op: op, Status: abi.StatusInternal, Err: abi.Error{
				Code: abi.StatusInternal.String(), Message: "decode response: " + err.Error(),
			}}
		}
	}
	return nil
}

// encode writes v as JSON (HTML characters not escaped) into the request buffer and
// returns a view of it, valid until the next encode.
func (c *client) encode(v any) ([]byte, error) {
	if c.enc == nil || c.req.Cap() > maxRetained {
		c.req = bytes.Buffer{}
		c.enc = json.NewEncoder(&c.req)
		c.enc.SetEscapeHTML(false)
	}
	c.req.Reset()
	if err := c.enc.Encode(v); err != nil {
		return nil, err
	}
	b := c.req.Bytes()
	return b[:len(b)-1], nil // Encode appends a newline
}

// roundTrip calls the host, then copies the result register into the response buffer,
// and returns the status and a view of that buffer, valid until the next call. An error
// means the register could not be read.
func (c *client) roundTrip(op string, req []byte) (abi.Status, []byte, error) {
	box := installed.Load()
	var status abi.Status
	c.retLen = 0
	if box != nil {
		status, c.fake = box.h.Call(op, req)
		c.retLen = uint32(len(c.fake))
	} else {
		status = importCall(op, req, &c.retLen)
	}
	n := int(c.retLen)
	if cap(c.resp) < n || cap(c.resp) > maxRetained {
		c.resp = make([]byte, n) // a large buffer is not kept for the instance's life
	}
	out := c.resp[:n]
	rs := abi.StatusOK
	switch {
	case box != nil:
		copy(out, c.fake)
		c.fake = nil
	case n > 0: // nothing to copy otherwise
		rs = importResult(out)
	}
	if rs != abi.StatusOK {
		return status, nil, errors.New("read the result register: " + rs.String())
	}
	return status, out, nil
}

// takeMoved returns the bytes moved by capability calls since its last call.
func (c *client) takeMoved() int { return int(c.moved.Swap(0)) }
