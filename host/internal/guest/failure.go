package guest

import (
	"fmt"
	"strings"

	"github.com/onexhost/onex-host/abi"
)

// Kind is the class of a Failure; each matches one sentinel error of package host.
type Kind int

// The kinds, named after host's sentinels (KindTimeout is host.ErrTimeout, and so on).
const (
	KindFailed Kind = iota
	KindInvalidModule
	KindCommandModule
	KindABIVersion
	KindUnknownImport
	KindInvalidManifest
	KindCapabilityDenied
	KindUnsupported
	KindUnknownComputation
	KindInvalidInput
	KindOutputTooLarge
	KindTimeout
	KindCanceled
	KindMemoryLimit
	KindTrap
	KindPanic
	KindOutOfBounds
	KindFuelExhausted
	KindUnavailable
	KindNotFound
	KindClosed
)

// Failure is a flavour's error: a failed load, instantiation or call. It carries what
// host.PluginError carries but the plugin's name, which the host adds when it converts
// it. A Failure is immutable once returned.
type Failure struct {
	Op        string     // "load", "instantiate", or the computation that was running
	Kind      Kind       // the class, one of host's sentinels
	Status    abi.Status // the guest's status when it returned one, else 0
	Code      string     // the guest's error code, or the status name
	Message   string     // human-readable detail
	Retryable bool       // whether trying again unchanged may succeed
	Cause     error      // underlying error, or nil
}

// Error returns "<op>: <message>"; the host's conversion gives the full text.
func (f *Failure) Error() string { return f.Op + ": " + f.Message }

// Unwrap returns the cause.
func (f *Failure) Unwrap() error { return f.Cause }

// Failf returns a Failure of kind for op, its message formatted.
func Failf(op string, kind Kind, format string, args ...any) *Failure {
	return &Failure{Op: op, Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// StatusFailure is the failure of a call whose guest returned the non-zero status with the
// error payload out. A status this ABI version does not define is treated as
// abi.StatusInternal (abi/SPEC.md section 3), and the message names the one returned.
func StatusFailure(op string, status abi.Status, out []byte) *Failure {
	returned := status
	if !status.Known() {
		status = abi.StatusInternal
	}
	e := abi.DecodeError(status, out)
	if returned != status {
		note := fmt.Sprintf("guest returned status %d, which ABI version %d does not define (treated as %s)", returned, abi.Version, status)
		if e.Message == "" {
			e.Message = note
		} else {
			e.Message = note + ": " + e.Message
		}
	}
	return &Failure{Op: op, Kind: StatusKind(status), Status: status,
		Code: e.Code, Message: e.Message, Retryable: e.Retryable}
}

// StatusKind maps a guest status to the Kind of its failure.
func StatusKind(s abi.Status) Kind {
	switch s {
	case abi.StatusUnknownComputation:
		return KindUnknownComputation
	case abi.StatusInvalidInput:
		return KindInvalidInput
	case abi.StatusPanic:
		return KindPanic
	case abi.StatusOutOfBounds:
		return KindOutOfBounds
	case abi.StatusDenied:
		return KindCapabilityDenied
	case abi.StatusTooLarge:
		return KindOutputTooLarge
	case abi.StatusTimeout:
		return KindTimeout
	case abi.StatusUnsupported:
		return KindUnsupported
	case abi.StatusUnavailable:
		return KindUnavailable
	case abi.StatusNotFound:
		return KindNotFound
	default:
		return KindFailed
	}
}

// FirstLine returns s up to its first newline.
func FirstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
