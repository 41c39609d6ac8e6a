package httpcap

import (
	"context"
	"errors"
	"strconv"

	"github.com/onexhost/onex-host/abi"
)

// StatusOf maps an error returned by this package to the status and error
// payload the host leaves for the guest (abi/SPEC.md, section 8):
//
//	nil                    StatusOK, zero Error
//	*StatusError           StatusUnavailable if Retryable, else StatusError; code "http_<status>"
//	ErrDenied              StatusDenied
//	ErrInvalidRequest      StatusInvalidInput
//	ErrTooLarge            StatusTooLarge
//	ErrTimeout, context.DeadlineExceeded
//	                       StatusTimeout, retryable
//	ErrUnavailable         StatusUnavailable, retryable
//	context.Canceled       StatusError, code "canceled"
//	anything else          StatusError
//
// The Error's Code is the status name unless said otherwise, and its Message
// is err's message. It does not block.
func StatusOf(err error) (abi.Status, abi.Error) {
	if err == nil {
		return abi.StatusOK, abi.Error{}
	}
	if se, ok := errors.AsType[*StatusError](err); ok {
		s := abi.StatusError
		if se.Retryable {
			s = abi.StatusUnavailable
		}
		return s, abi.Error{Code: "http_" + strconv.Itoa(se.Status), Message: err.Error(), Retryable: se.Retryable}
	}
	s, code := abi.StatusError, ""
	switch {
	case errors.Is(err, ErrDenied):
		s = abi.StatusDenied
	case errors.Is(err, ErrInvalidRequest):
		s = abi.StatusInvalidInput
	case errors.Is(err, ErrTooLarge):
		s = abi.StatusTooLarge
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		s = abi.StatusTimeout
	case errors.Is(err, ErrUnavailable):
		s = abi.StatusUnavailable
	case errors.Is(err, context.Canceled):
		code = "canceled"
	}
	if code == "" {
		code = s.String()
	}
	return s, abi.Error{Code: code, Message: err.Error(), Retryable: s.Retryable()}
}
