package sdk

import (
	"errors"

	"github.com/onexhost/onex-host/abi"
)

var (
	// ErrUnknownCompensation is returned (wrapped, naming the compensation) by Compensate
	// for a name that no Compensation registered.
	ErrUnknownCompensation = errors.New("sdk: unknown compensation")
)

// codeError is the code a handler error gets when it carries no *abi.Error.
const codeError = "error"

// NewError returns an error that a handler returns to fail with a code of its choosing.
// code is a short snake_case identifier the host and its callers can branch on (empty
// means "error"); message is for humans. The error is an *abi.Error, so errors.As finds
// it, also when wrapped with fmt.Errorf("...: %w", err). The host sees it as
// abi.StatusError with retryable false.
func NewError(code, message string) error {
	if code == "" {
		code = codeError
	}
	return &abi.Error{Code: code, Message: message}
}

// Retryable is NewError for a failure that may succeed when tried again unchanged (a
// busy dependency, a transient limit): the payload carries retryable true, which the
// host's retry policy honours.
func Retryable(code, message string) error {
	if code == "" {
		code = codeError
	}
	return &abi.Error{Code: code, Message: message, Retryable: true}
}

// errorPayload turns a handler error into the error payload. An *abi.Error anywhere in
// the chain gives the code and the retryable flag; the message is its own when err is
// that *abi.Error, and err.Error() (the whole chain) when it is wrapped. Any other error
// gets code "error" and its text.
func errorPayload(err error) abi.Error {
	var ae *abi.Error
	if !errors.As(err, &ae) || ae == nil {
		return abi.Error{Code: codeError, Message: err.Error()}
	}
	p := *ae
	if p.Code == "" {
		p.Code = codeError
	}
	if err != error(ae) {
		p.Message = err.Error()
	}
	return p
}
