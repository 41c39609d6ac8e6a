package abi

import "strconv"

// Status is the i32 every entry export and every host function returns. Zero is success;
// any other value says what went wrong, and the call's output (or the host's result
// register) then holds an Error payload with the details. Values 1–1023 are defined by
// this package; guests and hosts must treat an unknown non-zero value like StatusInternal.
type Status int32

// Status codes. Codes are stable: a later ABI version may add codes, never renumber them.
const (
	StatusOK                 Status = 0  // success; the output holds the result
	StatusError              Status = 1  // the handler failed; the output holds an Error
	StatusUnknownComputation Status = 2  // no computation of the requested name
	StatusInvalidInput       Status = 3  // the input bytes could not be decoded
	StatusPanic              Status = 4  // the handler panicked and the guest recovered
	StatusOutOfBounds        Status = 5  // a (pointer, length) pair lies outside guest memory
	StatusDenied             Status = 6  // a capability the operator did not grant
	StatusNotFound           Status = 7  // the named resource does not exist
	StatusTooLarge           Status = 8  // a payload exceeds a host or guest limit
	StatusUnavailable        Status = 9  // a dependency is temporarily unavailable; retryable
	StatusTimeout            Status = 10 // a deadline passed
	StatusUnsupported        Status = 11 // the operation is not offered by this host or guest
	StatusInternal           Status = 12 // a bug or broken invariant on either side
)

var statusNames = [...]string{
	StatusOK:                 "ok",
	StatusError:              "error",
	StatusUnknownComputation: "unknown_computation",
	StatusInvalidInput:       "invalid_input",
	StatusPanic:              "panic",
	StatusOutOfBounds:        "out_of_bounds",
	StatusDenied:             "denied",
	StatusNotFound:           "not_found",
	StatusTooLarge:           "too_large",
	StatusUnavailable:        "unavailable",
	StatusTimeout:            "timeout",
	StatusUnsupported:        "unsupported",
	StatusInternal:           "internal",
}

// String returns the status's snake_case name, which is also the default Error.Code for
// that status, or "status_<n>" for a value this package does not define.
func (s Status) String() string {
	if s.Known() {
		return statusNames[s]
	}
	return "status_" + strconv.Itoa(int(s))
}

// Known reports whether this package defines s. A host or guest treats a status it does
// not know like StatusInternal (abi/SPEC.md section 3).
func (s Status) Known() bool { return s >= 0 && int(s) < len(statusNames) }

// Retryable reports whether a failure with this status may succeed when tried again
// unchanged.
func (s Status) Retryable() bool {
	return s == StatusUnavailable || s == StatusTimeout
}
