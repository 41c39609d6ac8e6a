package reducer

import (
	"errors"
	"fmt"
)

var (
	// ErrFold is matched by the *FoldError Apply and Retry return when the fold failed
	// or returned an invalid output; the state was left untouched and the event recorded
	// as a dead letter.
	ErrFold = errors.New("reducer: fold failed")
	// ErrClosed is returned by every Store and Node method after Store.Close.
	ErrClosed = errors.New("reducer: store is closed")
	// ErrInvalidEvent is returned by Apply for an event without event_id or type, or an
	// empty key.
	ErrInvalidEvent = errors.New("reducer: invalid event")
	// ErrConflict is returned when the stored sequence of a key is not the one the
	// apply read: another writer changed the key (a second Node for the same node name
	// on the same Store). Nothing was written.
	ErrConflict = errors.New("reducer: key changed under the apply")
	// ErrNotFound is returned by Retry for an event that is not in the dead-letter list.
	ErrNotFound = errors.New("reducer: no such dead letter")
	// ErrPermanent is matched by an error a Carry wrapped with Permanent: trying the
	// intent again cannot succeed, so the Dispatcher moves it to the failed intents.
	ErrPermanent = errors.New("reducer: permanent intent failure")
)

// Permanent marks err, returned by a Carry, as not retryable (errors.Is(_, ErrPermanent));
// the Dispatcher then moves the entry from the outbox to the failed intents instead of
// retrying it. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string        { return e.err.Error() }
func (e *permanentError) Unwrap() error        { return e.err }
func (e *permanentError) Is(target error) bool { return target == ErrPermanent }

// FoldError reports a fold that failed for one event. The event was recorded as a
// dead letter; the key's state and sequence are unchanged.
type FoldError struct {
	Node, Key, EventID string
	Err                error // what the fold returned, or the validation failure
}

// Error implements error.
func (e *FoldError) Error() string {
	return fmt.Sprintf("reducer: node %s key %q event %q: fold failed: %v", e.Node, e.Key, e.EventID, e.Err)
}

// Unwrap returns the fold's error.
func (e *FoldError) Unwrap() error { return e.Err }

// Is reports whether target is ErrFold.
func (e *FoldError) Is(target error) bool { return target == ErrFold }
