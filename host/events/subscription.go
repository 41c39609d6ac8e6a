package events

import (
	"bytes"
	"context"
	"maps"
	"sync"
	"sync/atomic"

	"github.com/onexhost/onex-host/abi"
)

// DefaultBuffer is the queue length of a subscription whose SubscribeOptions.Buffer is 0.
const DefaultBuffer = 1024

// Policy says what Publish does when a subscription's queue is full.
type Policy int

const (
	// Drop discards the event for that subscription and counts it in
	// SubscriptionStats.Dropped; Publish does not wait. It is the zero value.
	Drop Policy = iota
	// Block makes Publish wait for room in the queue, until its ctx ends.
	Block
)

// SubscribeOptions configures one subscription. The zero value is a Drop subscription
// with a queue of DefaultBuffer events, named after its pattern.
type SubscribeOptions struct {
	// Name identifies the subscription in logs and errors; empty means the pattern.
	Name string
	// Buffer is the queue length in events; 0 means DefaultBuffer.
	Buffer int
	// Policy applies when the queue is full; the zero value is Drop.
	Policy Policy
}

// Handler processes one event. It runs on its subscription's goroutine, one event at a
// time, in queue order. ctx is cancelled when the subscription is stopped. A returned
// error or a panic counts the event as Failed; the event is not retried.
type Handler func(ctx context.Context, e abi.Event) error

// SubscriptionStats is a snapshot of a subscription's counters.
type SubscriptionStats struct {
	Delivered uint64 // events whose handler returned nil
	Failed    uint64 // events whose handler returned an error or panicked
	Dropped   uint64 // events discarded because the queue was full (Drop policy)
	Pending   int    // events queued and not yet handled
}

// Subscription is one registered handler with its queue and goroutine. It is safe for
// concurrent use by multiple goroutines.
type Subscription struct {
	bus     *Bus
	name    string
	pattern []string
	handler Handler
	policy  Policy
	queue   chan abi.Event

	ctx    context.Context // passed to the handler
	cancel context.CancelFunc

	stop      chan struct{} // closed (stopOnce) to stop at once
	stopOnce  sync.Once
	drain     chan struct{} // closed (drainOnce) to finish the queue, then exit
	drainOnce sync.Once
	done      chan struct{} // closed when run returns

	delivered, failed, dropped atomic.Uint64
}

func newSubscription(b *Bus, segs []string, h Handler, opts SubscribeOptions) *Subscription {
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscription{
		bus:     b,
		name:    opts.Name,
		pattern: segs,
		handler: h,
		policy:  opts.Policy,
		queue:   make(chan abi.Event, opts.Buffer),
		ctx:     ctx,
		cancel:  cancel,
		stop:    make(chan struct{}),
		drain:   make(chan struct{}),
		done:    make(chan struct{}),
	}
}

// Stats returns the subscription's counters. It does not block.
func (s *Subscription) Stats() SubscriptionStats {
	return SubscriptionStats{
		Delivered: s.delivered.Load(),
		Failed:    s.failed.Load(),
		Dropped:   s.dropped.Load(),
		Pending:   len(s.queue),
	}
}

// Close unsubscribes: no further event is queued or handled, the handler's ctx is
// cancelled, and events still queued are discarded (they stay in Stats().Pending). It
// blocks until the subscription's goroutine has exited, so until a running handler
// returns. Close is idempotent.
func (s *Subscription) Close() {
	s.stopOnce.Do(func() {
		s.bus.remove(s)
		close(s.stop)
		s.cancel()
	})
	<-s.done
}

// enqueue adds a copy of e to the queue according to the policy. It returns an error
// only when ctx ends while a Block subscription's queue is full.
func (s *Subscription) enqueue(ctx context.Context, e abi.Event) error {
	e.Headers = maps.Clone(e.Headers)
	e.Payload = bytes.Clone(e.Payload)
	select {
	case s.queue <- e:
		return nil
	default:
	}
	if s.policy == Drop {
		s.dropped.Add(1)
		return nil
	}
	select {
	case s.queue <- e:
		return nil
	case <-s.stop: // unsubscribed while we waited: nobody will read the event
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run is the subscription's goroutine: it handles queued events until stopped, or until
// asked to drain and the queue is empty.
func (s *Subscription) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		select {
		case <-s.stop:
			return
		case e := <-s.queue:
			s.handle(e)
		case <-s.drain:
			select {
			case e := <-s.queue:
				s.handle(e)
			default:
				return
			}
		}
	}
}

// handle runs the handler on one event, counting the outcome. A panic is recovered so
// it cannot kill the goroutine (or the process) and is logged at Error; a returned error
// is the handler's own business and is logged at Debug only.
func (s *Subscription) handle(e abi.Event) {
	defer func() {
		if r := recover(); r != nil {
			s.failed.Add(1)
			s.bus.logger.Error("events: handler panicked",
				"subscription", s.name, "topic", e.Topic, "envelope_id", e.EnvelopeID, "panic", r)
		}
	}()
	if err := s.handler(s.ctx, e); err != nil {
		s.failed.Add(1)
		s.bus.logger.Debug("events: handler failed",
			"subscription", s.name, "topic", e.Topic, "envelope_id", e.EnvelopeID, "error", err)
		return
	}
	s.delivered.Add(1)
}
