package httpcap

import (
	"errors"
	"fmt"
	"net/http"
)

var (
	// ErrInvalidConfig is returned by New for an invalid host pattern or a
	// Config field out of range.
	ErrInvalidConfig = errors.New("httpcap: invalid config")
	// ErrDenied is returned when a request, a redirect or a compensating
	// request goes to a host no grant matches, or uses a method that
	// Config.Methods does not allow. Nothing is sent to that host.
	ErrDenied = errors.New("httpcap: not granted")
	// ErrInvalidRequest is returned for a request that cannot be sent: a URL
	// that does not parse, is not absolute or is not http or https; a method
	// or header that is not valid HTTP; a negative limit or timeout; a
	// success code outside 100–599; a compensation without method or URL.
	// Compensator.Compensate also returns it for an operation this package
	// did not record. Nothing is sent.
	ErrInvalidRequest = errors.New("httpcap: invalid request")
	// ErrTooLarge is returned when the request body exceeds
	// Config.MaxRequestBytes (nothing is sent), or the response body exceeds
	// the response limit (the response is dropped).
	ErrTooLarge = errors.New("httpcap: too large")
	// ErrStatus is matched by every *StatusError: the server answered with a
	// status that is not a success code.
	ErrStatus = errors.New("httpcap: unsuccessful status")
	// ErrTimeout is returned when the request's timeout or the caller's
	// deadline passed before the response was read; it also wraps
	// context.DeadlineExceeded when that was the cause. Retryable.
	ErrTimeout = errors.New("httpcap: timeout")
	// ErrUnavailable is returned for a transport failure that may pass: a
	// refused or reset connection, a failed name lookup, a broken TLS
	// handshake. A *StatusError with Retryable set matches it too.
	ErrUnavailable = errors.New("httpcap: unavailable")
)

// StatusError is returned when the server answered with a status that is
// not one of the request's success codes. errors.Is matches it with
// ErrStatus, and, when Retryable, with ErrUnavailable.
type StatusError struct {
	// Method and URL name the request; URL has no user information, query
	// or fragment (they may hold secrets).
	Method string
	URL    string
	// Status is the response's status code.
	Status int
	// Retryable is true for 5xx and 429 Too Many Requests.
	Retryable bool
	// Excerpt is the start of the response body (at most 512 bytes, as
	// valid UTF-8), which often says what went wrong.
	Excerpt string
}

// Error names the request and the status, and quotes the excerpt.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("httpcap: %s %s: status %d %s", e.Method, e.URL, e.Status, http.StatusText(e.Status))
	if e.Excerpt != "" {
		msg += ": " + e.Excerpt
	}
	return msg
}

// Is reports whether target is ErrStatus, or ErrUnavailable for a
// retryable status.
func (e *StatusError) Is(target error) bool {
	return target == ErrStatus || (e.Retryable && target == ErrUnavailable)
}

// retryableStatus reports whether a request that got code may succeed when
// sent again unchanged: server errors and 429 Too Many Requests.
func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests
}
