package cache

import (
	"errors"
	"fmt"
)

var (
	// ErrInvalidConfig is returned by New when a Config field is out of range.
	ErrInvalidConfig = errors.New("cache: invalid config")
	// ErrComputeExited is returned by GetOrCompute to every waiter of a
	// computation whose function called runtime.Goexit instead of returning.
	ErrComputeExited = errors.New("cache: compute exited without returning")
)

// PanicError is returned by GetOrCompute to every waiter of a computation
// whose function panicked. The panic is recovered on the computation's
// goroutine, nothing is cached, and the next call for the key computes again.
//
// All waiters of the computation receive the same *PanicError; treat it as
// read-only.
type PanicError struct {
	// Value is the value the function panicked with.
	Value any
	// Stack is the stack of the computation's goroutine at the panic.
	Stack []byte
}

// Error returns the panic value in a message.
func (e *PanicError) Error() string {
	return fmt.Sprintf("cache: compute panicked: %v", e.Value)
}

// Unwrap returns Value if it is an error, so errors.Is and errors.As see
// through a panic(err); otherwise it returns nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
