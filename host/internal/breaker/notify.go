package breaker

import (
	"context"
	"log/slog"
	"slices"
	"sync"
)

// transition is one state change of one breaker.
type transition struct {
	service  string
	from, to State
}

// notifier delivers the state changes of a registry's breakers to its logger
// and callbacks, outside the breakers' locks, one at a time and in the order
// the changes happened.
//
// A breaker queues each change while it holds its own lock, so the queue is
// in change order; after unlocking it calls deliver. The first goroutine to
// find nobody delivering becomes the deliverer and empties the queue,
// including changes that other goroutines (or its own callbacks) queue
// meanwhile. So a callback may call back into a breaker or the registry: the
// changes it causes are delivered after it returns.
type notifier struct {
	logger *slog.Logger

	// mu guards pending, delivering and callbacks. It is taken while a
	// breaker's lock is held, never the other way round.
	mu         sync.Mutex
	pending    []transition
	delivering bool
	// callbacks is replaced, never modified in place, so the deliverer
	// can run a copy of the slice header without holding mu.
	callbacks []func(service string, from, to State)
}

// enqueue queues one change. The caller holds the breaker's lock.
func (n *notifier) enqueue(service string, from, to State) {
	n.mu.Lock()
	n.pending = append(n.pending, transition{service: service, from: from, to: to})
	n.mu.Unlock()
}

// subscribe adds fn to the callbacks.
func (n *notifier) subscribe(fn func(service string, from, to State)) {
	n.mu.Lock()
	n.callbacks = append(slices.Clip(n.callbacks), fn)
	n.mu.Unlock()
}

// deliver empties the queue unless another goroutine is already doing so.
// The caller holds no breaker lock.
func (n *notifier) deliver() {
	n.mu.Lock()
	if n.delivering {
		n.mu.Unlock()
		return
	}
	n.delivering = true
	for len(n.pending) > 0 {
		t := n.pending[0]
		n.pending = n.pending[1:]
		callbacks := n.callbacks
		n.mu.Unlock()
		n.run(t, callbacks)
		n.mu.Lock()
	}
	n.pending = nil
	n.delivering = false
	n.mu.Unlock()
}

// run logs t and runs the callbacks. If a callback panics, the panic goes on
// up the deliverer's stack, and the next deliver takes over the rest of the
// queue.
func (n *notifier) run(t transition, callbacks []func(service string, from, to State)) {
	ok := false
	defer func() {
		if !ok {
			n.mu.Lock()
			n.delivering = false
			n.mu.Unlock()
		}
	}()
	level := slog.LevelInfo
	if t.to == StateOpen {
		level = slog.LevelWarn
	}
	n.logger.LogAttrs(context.Background(), level, "breaker: state changed",
		slog.String("service", t.service),
		slog.String("from", t.from.String()),
		slog.String("to", t.to.String()))
	for _, fn := range callbacks {
		fn(t.service, t.from, t.to)
	}
	ok = true
}
