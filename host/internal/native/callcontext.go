package native

import (
	"context"
	"sync/atomic"
	"time"
)

// instanceKey is the context key under which host functions find the calling instance.
type instanceKey struct{}

// callContext is the context.Context an instance hands to wazero for every guest call. It
// is a field of the instance, reused for all its calls, so a call allocates no context:
//
//   - Value(instanceKey{}) returns the instance, which is how host functions find the
//     plugin and the call they serve without a map lookup;
//   - Done closes when the watchdog sees the call's deadline pass, or when the caller's
//     context ends; wazero (with close-on-context-done) then stops the guest at its next
//     function entry or loop header and closes the module without freeing its resources
//     under the running code;
//   - everything else comes from the caller's context.
//
// Done closes at most once in an instance's life: an instance whose call was stopped is
// discarded, never reused.
type callContext struct {
	parent  context.Context // the caller's context; written by the owner before each call
	inst    *Instance
	done    chan struct{}
	stopped atomic.Bool
	// reason (context.DeadlineExceeded or context.Canceled) and byCaller (whether the
	// caller's context, not the watchdog, ended the call) are written once, before
	// close(done); read them only after receiving from done (see outcome).
	reason   error
	byCaller bool
}

func (c *callContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *callContext) Done() <-chan struct{}       { return c.done }

func (c *callContext) Err() error {
	select {
	case <-c.done:
		return c.reason
	default:
		return nil
	}
}

func (c *callContext) Value(key any) any {
	if _, ok := key.(instanceKey); ok {
		return c.inst
	}
	return c.parent.Value(key)
}

// stop closes Done with reason (context.DeadlineExceeded or context.Canceled, the two
// errors wazero understands); only the first stop counts.
func (c *callContext) stop(reason error, byCaller bool) {
	if c.stopped.CompareAndSwap(false, true) {
		c.reason, c.byCaller = reason, byCaller
		close(c.done)
	}
}

// stopByCaller is registered with context.AfterFunc on the caller's context.
func (c *callContext) stopByCaller() { c.stop(c.parent.Err(), true) }

// stopByWatchdog is the watchdog entry's OnExpire.
func (c *callContext) stopByWatchdog() { c.stop(context.DeadlineExceeded, false) }

// outcome reports whether the call was stopped, and by whom.
func (c *callContext) outcome() (stopped, byCaller bool, reason error) {
	select {
	case <-c.done:
		return true, c.byCaller, c.reason
	default:
		return false, false, nil
	}
}
