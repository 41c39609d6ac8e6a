package tx

import (
	"errors"
	"fmt"

	"github.com/onexhost/onex-host/abi"
)

var (
	// ErrInvalidConfig is returned by New when a Config field is out of range.
	ErrInvalidConfig = errors.New("tx: invalid config")
	// ErrClosed is returned by Manager.Begin once Manager.Close has been called.
	ErrClosed = errors.New("tx: manager closed")
	// ErrCommitted is returned by Record, Apply, Hold, Commit and Rollback on a
	// transaction that is already committed.
	ErrCommitted = errors.New("tx: transaction committed")
	// ErrRolledBack is returned by Record, Apply, Hold and Commit on a
	// transaction whose rollback has begun, whether it is still running or has
	// ended in StateRolledBack or StateFailed.
	ErrRolledBack = errors.New("tx: transaction rolled back")
	// ErrBusy is returned by Commit while a Record or Apply call on the same
	// transaction is still running in another goroutine. The transaction is
	// left as it was.
	ErrBusy = errors.New("tx: operation in progress")
	// ErrInvalidOperation is returned by Record and Apply for an Operation
	// that breaks a rule of Operation.Validate. Nothing is recorded.
	ErrInvalidOperation = errors.New("tx: invalid operation")
	// ErrNoCompensator is returned by Record and Apply for a reversible
	// operation whose Kind has no Compensator in Config.Compensators. Nothing
	// is recorded, so the caller learns before doing the operation that it
	// could not be undone.
	ErrNoCompensator = errors.New("tx: no compensator for kind")
	// ErrNoPublisher is returned by Hold when Config.Publish is nil: an event
	// held there could never be published.
	ErrNoPublisher = errors.New("tx: no publish function")
	// ErrInProgress is wrapped in the CompensationError of an operation whose
	// Apply call was still running when the rollback deadline passed; that
	// operation was not compensated.
	ErrInProgress = errors.New("tx: operation still running at the rollback deadline")
	// ErrInvalidSnapshot is returned when decoding a Snapshot whose format
	// version or state is unknown.
	ErrInvalidSnapshot = errors.New("tx: invalid snapshot")
)

// CompensationError reports one compensation that failed, or that was not
// attempted because the rollback deadline passed first. Rollback joins one per
// failed operation with errors.Join; find them with errors.As, or test the
// cause with errors.Is (it sees through to Err).
type CompensationError struct {
	// TxID is the ID of the transaction being rolled back.
	TxID string
	// Seq, Kind, Service and Target identify the operation (see Operation).
	Seq     int
	Kind    string
	Service string
	Target  string
	// Err is what the Compensator returned; a *PanicError if it panicked;
	// the context's error if the rollback deadline passed before it could be
	// called; or ErrInProgress.
	Err error
}

// Error names the transaction and the operation and quotes the cause.
func (e *CompensationError) Error() string {
	return fmt.Sprintf("tx %s: compensate op %d (%s %s %s): %v", e.TxID, e.Seq, e.Kind, e.Service, e.Target, e.Err)
}

// Unwrap returns Err.
func (e *CompensationError) Unwrap() error { return e.Err }

// PanicError is the cause in a CompensationError whose Compensator panicked.
// The panic is recovered so that the remaining compensations still run.
type PanicError struct {
	// Value is the value the Compensator panicked with.
	Value any
}

// Error quotes the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("tx: compensator panicked: %v", e.Value) }

// Unwrap returns Value if it is an error, otherwise nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// PublishError is returned by Commit when publishing the outbox failed. The
// transaction is committed all the same: its side effects stay. Events holds
// the events that were not confirmed published, in order, starting with the
// one whose publish failed; the caller must publish them again (or journal
// them), which is what makes delivery at-least-once: the failing event may
// have reached some subscribers already.
type PublishError struct {
	// TxID is the ID of the committed transaction.
	TxID string
	// Events are the unconfirmed events, in outbox order. They are copies the
	// caller owns.
	Events []abi.Event
	// Err is the publish function's error for Events[0].
	Err error
}

// Error names the transaction and counts the unconfirmed events.
func (e *PublishError) Error() string {
	return fmt.Sprintf("tx %s: committed, but %d outbox event(s) not published: %v", e.TxID, len(e.Events), e.Err)
}

// Unwrap returns Err.
func (e *PublishError) Unwrap() error { return e.Err }
