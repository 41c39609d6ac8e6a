package pool

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
