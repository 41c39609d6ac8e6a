package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

var (
	// ErrClosed is returned by Acquire and Prewarm once Close has been called,
	// including to callers that were waiting when it was called.
	ErrClosed = errors.New("pool: closed")

	// ErrInvalidConfig is returned by New when a Config field is out of range.
	ErrInvalidConfig = errors.New("pool: invalid config")
)

// Config holds the settings of a Pool. A zero field means its default; Max
// and New have none and must be set. A Config is a plain value and not safe
// for concurrent use while being modified; New copies it, so changing it
// afterwards has no effect on the pool.
type Config[T any] struct {
	// Max is the maximum number of live instances, counting idle ones, ones
	// in use and ones being created or destroyed. It must be at least 1.
	Max int

	// MinIdle is the number of idle instances TrimIdle keeps, usually the
	// count passed to Prewarm. It must be between 0 and Max. The default, 0,
	// lets TrimIdle destroy every idle instance.
	MinIdle int

	// New creates an instance. It receives the context of the Acquire or
	// Prewarm call that needs the instance. The pool calls it without holding
	// its lock, so several calls may run at once. It must not be nil.
	New func(ctx context.Context) (T, error)

	// Close destroys an instance. The pool calls it exactly once for each
	// instance New returned, without holding its lock. The slot is freed only
	// after Close returns, or panics (the panic then reaches the caller of
	// Release, Discard, TrimIdle or Close). Nil means instances are dropped for
	// the garbage collector.
	Close func(T)
}

// Stats is a snapshot of a Pool's state and counters. It is a plain value
// that nothing modifies after Pool.Stats returns it, so it is safe for
// concurrent use by multiple goroutines. Counters start at zero, only
// grow, and are exact: once no call is in flight,
// Live == Idle + InUse == Created - Destroyed.
type Stats struct {
	Live    int // instances that exist or have a slot reserved: idle, in use, being created or destroyed
	Idle    int // instances waiting in the pool to be acquired
	InUse   int // instances acquired and not yet released or discarded, including ones being handed to a waiter
	Waiting int // Acquire calls blocked waiting for an instance or a slot

	Created   uint64 // instances New returned successfully
	Destroyed uint64 // instances for which Close returned, whatever the reason
	Discarded uint64 // Discard calls
	Trimmed   uint64 // idle instances removed by TrimIdle
	Acquired  uint64 // Acquire calls that returned an instance
}

// Pool is a bounded pool of instances of type T, each lent to one goroutine
// at a time. Create one with New; the zero value is not usable.
//
// A Pool is safe for concurrent use by multiple goroutines. An instance it
// hands out is not: the holder must give it back with exactly one call to
// Release or Discard and must not touch it afterwards.
type Pool[T any] struct {
	newFn   func(context.Context) (T, error)
	closeFn func(T)
	max     int
	minIdle int

	// mu guards idle, waiters, live, inUse, closed and the counters below
	// them. Config.New and Config.Close are never called while it is held.
	mu      sync.Mutex
	idle    []idleInstance[T] // stack: the top is the most recently released
	waiters waitQueue[T]      // FIFO of blocked Acquire calls
	live    int               // see Stats.Live; never exceeds max
	inUse   int               // see Stats.InUse
	closed  bool              // set once by Close; never cleared

	// Counters reported by Stats.
	created, destroyed, discarded, trimmed, acquired uint64
}

type idleInstance[T any] struct {
	t     T
	since time.Time // when it became idle
}

// New validates cfg and returns an empty pool; call Prewarm to fill it. It
// returns an error wrapping ErrInvalidConfig if Max < 1, MinIdle is outside
// [0, Max] or New is nil.
func New[T any](cfg Config[T]) (*Pool[T], error) {
	switch {
	case cfg.Max < 1:
		return nil, fmt.Errorf("%w: Max is %d, want at least 1", ErrInvalidConfig, cfg.Max)
	case cfg.MinIdle < 0 || cfg.MinIdle > cfg.Max:
		return nil, fmt.Errorf("%w: MinIdle is %d, want 0 to Max (%d)", ErrInvalidConfig, cfg.MinIdle, cfg.Max)
	case cfg.New == nil:
		return nil, fmt.Errorf("%w: New is nil", ErrInvalidConfig)
	}
	closeFn := cfg.Close
	if closeFn == nil {
		closeFn = func(T) {}
	}
	return &Pool[T]{newFn: cfg.New, closeFn: closeFn, max: cfg.Max, minIdle: cfg.MinIdle}, nil
}

// Acquire returns an instance for the caller's exclusive use, to be given back
// with Release or Discard. It prefers the most recently released idle
// instance; otherwise, if fewer than Max instances are live, it creates one
// with Config.New; otherwise it blocks, in FIFO order with other waiters,
// until an instance or a slot frees up, ctx is done or the pool is closed.
//
// It returns an error wrapping ctx.Err() if ctx is done, so that
// errors.Is(err, context.DeadlineExceeded) works; a ctx that is already done
// fails at once, even if an instance is idle. It returns an error wrapping
// the error of Config.New if that fails, and ErrClosed once the pool is
// closed.
func (p *Pool[T]) Acquire(ctx context.Context) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, fmt.Errorf("pool: acquire: %w", err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return zero, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		t := p.idle[n-1].t
		p.idle[n-1] = idleInstance[T]{} // drop the reference for the garbage collector
		p.idle = p.idle[:n-1]
		p.inUse++
		p.acquired++
		p.mu.Unlock()
		return t, nil
	}
	if p.live < p.max {
		p.live++ // reserve the slot; create fills or frees it
		p.mu.Unlock()
		return p.create(ctx)
	}
	w := &waiter[T]{ready: make(chan struct{})}
	p.waiters.push(w)
	p.mu.Unlock()
	return p.wait(ctx, w)
}

// create fills a slot the caller reserved and returns the new instance in use.
func (p *Pool[T]) create(ctx context.Context) (T, error) {
	t, err := p.newInstance(ctx)
	if err != nil {
		return t, err
	}
	p.mu.Lock()
	p.created++
	if p.closed { // Close ran while New did; the pool never reopens.
		p.mu.Unlock()
		p.destroy(t)
		var zero T
		return zero, ErrClosed
	}
	p.inUse++
	p.acquired++
	p.mu.Unlock()
	return t, nil
}

// newInstance calls Config.New for a slot the caller reserved. If New fails
// or panics, the slot is freed, going to the oldest waiter if there is one.
func (p *Pool[T]) newInstance(ctx context.Context) (t T, err error) {
	ok := false
	defer func() {
		if !ok {
			p.mu.Lock()
			p.freeSlotLocked()
			p.mu.Unlock()
		}
	}()
	if err := ctx.Err(); err != nil {
		return t, fmt.Errorf("pool: new instance: %w", err)
	}
	t, err = p.newFn(ctx)
	if err != nil {
		return t, fmt.Errorf("pool: new instance: %w", err)
	}
	ok = true
	return t, nil
}

// Release gives back a healthy instance obtained from Acquire. It goes to the
// oldest waiter if there is one and otherwise becomes idle; after Close it is
// destroyed. Release does not block, except to run Config.Close after Close.
// Releasing an instance that is not in use is a programmer error: Release
// panics if it can detect it.
func (p *Pool[T]) Release(t T) {
	now := time.Now() // read outside the lock to keep the critical section short
	p.mu.Lock()
	p.markReturnedLocked()
	if !p.closed {
		p.putLocked(t, now)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.destroy(t)
}

// Discard destroys a faulted instance obtained from Acquire, such as one that
// trapped or ran out of memory, instead of returning it to the pool. It
// blocks while Config.Close runs, then frees the slot, letting the oldest
// waiter create a fresh instance. Discarding an instance that is not in use
// is a programmer error: Discard panics if it can detect it.
func (p *Pool[T]) Discard(t T) {
	p.mu.Lock()
	p.markReturnedLocked()
	p.discarded++
	p.mu.Unlock()
	p.destroy(t)
}

// markReturnedLocked records that a caller gave back an instance. More
// returns than acquisitions mean a double return or a foreign instance; it
// unlocks before panicking so that the pool stays usable after a recover.
func (p *Pool[T]) markReturnedLocked() {
	if p.inUse == 0 {
		p.mu.Unlock()
		panic("pool: instance returned that is not in use")
	}
	p.inUse--
}

// putLocked hands a live instance that nobody holds to the oldest waiter, or
// pushes it on the idle stack. The pool must not be closed.
func (p *Pool[T]) putLocked(t T, now time.Time) {
	if w := p.waiters.pop(); w != nil {
		p.inUse++ // in transit to the waiter
		w.serve(grantInstance, t)
		return
	}
	p.idle = append(p.idle, idleInstance[T]{t: t, since: now})
}

// freeSlotLocked passes a slot whose instance is gone or was never created to
// the oldest waiter, which will create a fresh instance, or releases it.
func (p *Pool[T]) freeSlotLocked() {
	if w := p.waiters.pop(); w != nil {
		var zero T
		w.serve(grantSlot, zero)
		return
	}
	p.live--
}

// destroy calls Config.Close on an instance nobody holds, then frees its slot, also when
// Close panics (the panic goes on to the caller): the slot must not leak.
func (p *Pool[T]) destroy(t T) {
	defer func() {
		p.mu.Lock()
		p.destroyed++
		p.freeSlotLocked()
		p.mu.Unlock()
	}()
	p.closeFn(t)
}

// Prewarm creates instances until at least n are idle or Max are live, so
// that later Acquire calls don't pay for creation. It blocks while Config.New
// runs, one instance at a time. An instance created while an Acquire is
// waiting goes to that waiter. A negative n is treated as 0.
//
// It returns an error wrapping ctx.Err() if ctx is done, an error wrapping
// the error of Config.New if that fails, and ErrClosed once the pool is
// closed. Instances created before the error stay idle.
func (p *Pool[T]) Prewarm(ctx context.Context, n int) error {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return ErrClosed
		}
		if len(p.idle) >= n || p.live >= p.max {
			p.mu.Unlock()
			return nil
		}
		p.live++
		p.mu.Unlock()

		t, err := p.newInstance(ctx)
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.created++
		if p.closed {
			p.mu.Unlock()
			p.destroy(t)
			return ErrClosed
		}
		p.putLocked(t, time.Now())
		p.mu.Unlock()
	}
}

// TrimIdle destroys instances that have been idle for at least idleFor,
// oldest first, but keeps Config.MinIdle idle instances. It returns how many
// it destroyed. It blocks while Config.Close runs. Call it periodically to
// give back the memory of a burst; it measures time with time.Now rather than
// an injected clock so that tests can drive it with testing/synctest.
func (p *Pool[T]) TrimIdle(idleFor time.Duration) int {
	cutoff := time.Now().Add(-idleFor)
	p.mu.Lock()
	// The bottom of the stack holds the least recently released instances.
	n := 0
	for n < len(p.idle)-p.minIdle && !p.idle[n].since.After(cutoff) {
		n++
	}
	if n == 0 {
		p.mu.Unlock()
		return 0
	}
	victims := make([]T, n)
	for i := range victims {
		victims[i] = p.idle[i].t
	}
	rest := copy(p.idle, p.idle[n:])
	clear(p.idle[rest:])
	p.idle = p.idle[:rest]
	p.trimmed += uint64(n)
	p.mu.Unlock()

	for _, t := range victims {
		p.destroy(t)
	}
	return n
}

// Stats returns a snapshot of the pool's state and counters. It does not block
// beyond a brief lock.
func (p *Pool[T]) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{
		Live:      p.live,
		Idle:      len(p.idle),
		InUse:     p.inUse,
		Waiting:   p.waiters.n,
		Created:   p.created,
		Destroyed: p.destroyed,
		Discarded: p.discarded,
		Trimmed:   p.trimmed,
		Acquired:  p.acquired,
	}
}

// Close shuts the pool down. Waiting and later Acquire calls return
// ErrClosed, idle instances are destroyed before Close returns, and instances
// in use are destroyed when they are released or discarded. Instances that
// New is creating are destroyed when it returns. Calling Close again does
// nothing.
func (p *Pool[T]) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	for w := p.waiters.pop(); w != nil; w = p.waiters.pop() {
		var zero T
		w.serve(grantClosed, zero)
	}
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()

	for _, in := range idle {
		p.destroy(in.t)
	}
}
