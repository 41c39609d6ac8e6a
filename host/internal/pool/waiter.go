package pool

import (
	"context"
	"fmt"
	"time"
)

// grant is what a served waiter received.
type grant uint8

const (
	grantClosed   grant = iota // the pool was closed; Acquire returns ErrClosed
	grantInstance              // an instance, in waiter.t
	grantSlot                  // a reserved slot; the waiter creates the instance
)

// waiter is an Acquire call blocked until an instance or a slot frees up.
// Its fields other than ready are guarded by Pool.mu. The waiter reads grant
// and t without the lock only after ready is closed, which orders the read
// after the write.
type waiter[T any] struct {
	ready chan struct{} // closed once, by serve

	queued     bool // in Pool.waiters; cleared by pop and remove
	prev, next *waiter[T]

	grant grant
	t     T
}

// serve records what the waiter gets and wakes it. The waiter must already
// be out of the queue; Pool.mu must be held.
func (w *waiter[T]) serve(g grant, t T) {
	w.grant = g
	w.t = t
	close(w.ready)
}

// wait blocks until w, already queued, is served or ctx is done, and then
// completes the Acquire call.
func (p *Pool[T]) wait(ctx context.Context, w *waiter[T]) (T, error) {
	var zero T
	select {
	case <-w.ready:
		return p.take(ctx, w)
	case <-ctx.Done():
	}
	p.mu.Lock()
	if w.queued {
		p.waiters.remove(w)
		p.mu.Unlock()
		return zero, fmt.Errorf("pool: acquire: %w", ctx.Err())
	}
	// Served concurrently with the cancellation: pass on what we were given
	// so that neither the instance nor the slot is lost.
	switch w.grant {
	case grantInstance:
		p.inUse--
		if !p.closed {
			p.putLocked(w.t, time.Now())
			p.mu.Unlock()
		} else {
			p.mu.Unlock()
			p.destroy(w.t)
		}
	case grantSlot:
		p.freeSlotLocked()
		p.mu.Unlock()
	default:
		p.mu.Unlock()
	}
	return zero, fmt.Errorf("pool: acquire: %w", ctx.Err())
}

// take completes an Acquire whose waiter was served.
func (p *Pool[T]) take(ctx context.Context, w *waiter[T]) (T, error) {
	switch w.grant {
	case grantInstance:
		p.mu.Lock()
		p.acquired++
		p.mu.Unlock()
		return w.t, nil
	case grantSlot:
		return p.create(ctx)
	default:
		var zero T
		return zero, ErrClosed
	}
}

// waitQueue is a FIFO of waiters, linked through the waiters themselves so
// that a waiter whose context is done can leave in O(1) without allocating.
// It is guarded by Pool.mu; the zero value is an empty queue.
type waitQueue[T any] struct {
	head, tail *waiter[T]
	n          int
}

// push appends w to the back of the queue.
func (q *waitQueue[T]) push(w *waiter[T]) {
	w.queued = true
	w.prev, w.next = q.tail, nil
	if q.tail == nil {
		q.head = w
	} else {
		q.tail.next = w
	}
	q.tail = w
	q.n++
}

// pop removes and returns the oldest waiter, or nil if the queue is empty.
func (q *waitQueue[T]) pop() *waiter[T] {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

// remove unlinks w, which must be queued.
func (q *waitQueue[T]) remove(w *waiter[T]) {
	if w.prev == nil {
		q.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		q.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
	w.queued = false
	q.n--
}
