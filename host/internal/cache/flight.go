package cache

import (
	"context"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// flight is one running computation of a key and the callers waiting for it.
//
// A flight is current while Cache.flights maps its key to it. It stops being
// current when it finishes, when Invalidate or Clear detaches it, or when its
// last waiter gives up; only a flight that is still current when it finishes
// stores its result. Its identity thereby serves as the generation number
// that work checks before it commits.
type flight struct {
	ctx    context.Context // compute's context
	cancel context.CancelFunc
	done   chan struct{} // closed after value and err are set

	value []byte
	err   error
	// shared is set by MarkShared: the value came from a shared level.
	shared atomic.Bool

	// waiters counts the callers still waiting; guarded by Cache.mu.
	waiters int
}

// newFlight derives compute's context from that of the caller that starts the
// flight: its values, none of its cancellation, and the flight for MarkShared.
func newFlight(ctx context.Context) *flight {
	f := &flight{done: make(chan struct{})}
	f.ctx, f.cancel = context.WithCancel(context.WithValue(context.WithoutCancel(ctx), sharedKey{}, f))
	return f
}

// run calls compute and finishes f. It is the body of the flight's goroutine,
// which owns it and ends when compute returns; compute is asked to return
// early by cancelling f.ctx when no one waits any more.
func (c *Cache) run(key Key, f *flight, compute ComputeFunc) {
	var (
		value []byte
		ttl   time.Duration
		err   = ErrComputeExited // kept only if compute calls runtime.Goexit
	)
	defer func() { c.finish(key, f, value, ttl, err) }()
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	value, ttl, err = compute(f.ctx)
}

// finish stores the result if f is still current and it is storable, then
// releases the waiters. Storing first means a waiter that returns can already
// find the value in the cache.
func (c *Cache) finish(key Key, f *flight, value []byte, ttl time.Duration, err error) {
	if err != nil {
		value = nil // a failed computation's partial value is dropped, not shared
	}
	c.mu.Lock()
	if c.flights[key] == f {
		delete(c.flights, key)
		if err == nil {
			c.put(key, value, ttl)
		}
	}
	c.mu.Unlock()

	f.value, f.err = value, err
	close(f.done)
	f.cancel()
}

// put stores value under key, applying the TTL rules; c.mu must be held.
func (c *Cache) put(key Key, value []byte, ttl time.Duration) {
	if ttl == 0 {
		ttl = c.ttl
	}
	if ttl < 0 || !c.weights.fits(len(value)) {
		return
	}
	c.store.Set(key, entry{value: value, ttl: ttl})
}

// leave removes a waiter whose context is done. The last one out detaches
// the flight, if still current, and cancels compute's context: nobody wants
// the result any more, so it is not stored either.
func (c *Cache) leave(key Key, f *flight) {
	c.mu.Lock()
	f.waiters--
	last := f.waiters == 0
	if last && c.flights[key] == f {
		delete(c.flights, key)
	}
	c.mu.Unlock()
	if last {
		f.cancel()
	}
}
