package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex-host/abi"
)

// Errors returned by the bus.
var (
	// ErrClosed is returned by Publish and Subscribe once Bus.Close has begun, and by a
	// second Bus.Close.
	ErrClosed = errors.New("events: bus closed")
	// ErrInvalidSubscription is returned (wrapped) by Subscribe for an invalid pattern, a
	// nil handler, a negative Buffer or an unknown Policy.
	ErrInvalidSubscription = errors.New("events: invalid subscription")
)

// closedBit marks Bus.state closed; the bits below it count Publish calls in flight.
const closedBit = int64(1) << 62

// Bus is an in-process event bus: Publish hands each event to the bounded queue of every
// subscription whose pattern matches its topic, and each subscription runs its handler
// on its own goroutine. A slow or failing subscriber therefore never delays another, and
// delays publishers only under the Block policy.
//
// Bus is safe for concurrent use by multiple goroutines. Create one with New and stop it
// with Close.
type Bus struct {
	logger *slog.Logger

	// subs is the current subscription list. It is copy-on-write: Publish loads it
	// without a lock, and writers (under mu) store a new slice.
	subs atomic.Pointer[[]*Subscription]
	// state is closedBit once Close has begun, plus the number of Publish calls in
	// flight. Close waits for that number to reach zero before draining subscribers,
	// so no accepted event lands in a queue that is no longer read.
	state atomic.Int64
	// idle is closed, once (idleOnce), when state reaches closedBit exactly.
	idle     chan struct{}
	idleOnce sync.Once

	// published counts the events Publish accepted.
	published atomic.Uint64

	// mu serialises writers of subs and guards closed.
	mu     sync.Mutex
	closed bool
}

// New returns an empty, running bus. A nil logger discards the bus's logs (handler
// errors at Debug, handler panics at Error).
func New(logger *slog.Logger) *Bus {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Bus{logger: logger, idle: make(chan struct{})}
	b.subs.Store(new([]*Subscription))
	return b
}

// Publish validates e and hands a copy of it to the queue of every matching
// subscription. It fills in an empty EnvelopeID (a random UUID) and a zero Timestamp
// (time.Now) first. It never runs a handler: it returns once the event is queued
// everywhere, or dropped for Drop subscriptions whose queue is full (counted in their
// Stats). For a Block subscription with a full queue it waits for room.
//
// Each subscription receives its own copy of Headers and Payload, so the caller may
// reuse them once Publish returns. Events from one goroutine reach each subscriber in
// the order they were published.
//
// Publish returns an error wrapping abi.ErrInvalidEvent for an invalid event, ErrClosed
// once Close has begun, and ctx.Err() (wrapped) if ctx ends first; then the event may
// already have been queued for some subscribers and not others.
func (b *Bus) Publish(ctx context.Context, e abi.Event) error {
	if b.state.Add(1)&closedBit != 0 {
		b.donePublish()
		return ErrClosed
	}
	defer b.donePublish()

	if err := ctx.Err(); err != nil {
		return fmt.Errorf("events: publish to %s: %w", e.Topic, err)
	}
	if e.EnvelopeID == "" {
		e.EnvelopeID = uuid.NewString()
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = time.Now()
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("events: publish: %w", err)
	}
	for _, s := range *b.subs.Load() {
		if !match(s.pattern, e.Topic) {
			continue
		}
		if err := s.enqueue(ctx, e); err != nil {
			return fmt.Errorf("events: publish %s to %s: %w", e.EnvelopeID, s.name, err)
		}
	}
	b.published.Add(1)
	return nil
}

// Published returns how many events Publish has accepted (validated and queued for every
// matching subscriber, or dropped for full Drop subscriptions), whether or not anything
// subscribed to them.
func (b *Bus) Published() uint64 { return b.published.Load() }

// donePublish ends one Publish call and signals Close when it was the last in flight.
func (b *Bus) donePublish() {
	if b.state.Add(-1) == closedBit {
		b.idleOnce.Do(func() { close(b.idle) })
	}
}

// Subscribe registers h for every event whose topic matches pattern, and starts the
// goroutine that runs it. The pattern uses NATS subject syntax: dot-separated segments,
// where "*" matches exactly one segment and ">", as the last segment only, matches one
// or more. "onex.evt.orders.*.v1" and "onex.evt.>" are examples.
//
// Subscribe returns an error wrapping ErrInvalidSubscription for a bad pattern, a nil
// h, a negative opts.Buffer or an unknown opts.Policy, and ErrClosed once Close has
// begun. Stop the subscription with Subscription.Close or Bus.Close.
func (b *Bus) Subscribe(pattern string, h Handler, opts SubscribeOptions) (*Subscription, error) {
	segs, err := parsePattern(pattern)
	if err != nil {
		return nil, err
	}
	switch {
	case h == nil:
		return nil, fmt.Errorf("%w: nil handler for %q", ErrInvalidSubscription, pattern)
	case opts.Buffer < 0:
		return nil, fmt.Errorf("%w: negative buffer %d for %q", ErrInvalidSubscription, opts.Buffer, pattern)
	case opts.Policy != Drop && opts.Policy != Block:
		return nil, fmt.Errorf("%w: unknown policy %d for %q", ErrInvalidSubscription, opts.Policy, pattern)
	}
	if opts.Buffer == 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.Name == "" {
		opts.Name = pattern
	}
	s := newSubscription(b, segs, h, opts)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	old := *b.subs.Load()
	next := make([]*Subscription, len(old), len(old)+1)
	copy(next, old)
	next = append(next, s)
	b.subs.Store(&next)
	go s.run()
	return s, nil
}

// remove drops s from the subscription list; it does nothing if s is not in it.
func (b *Bus) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old := *b.subs.Load()
	next := make([]*Subscription, 0, len(old))
	for _, x := range old {
		if x != s {
			next = append(next, x)
		}
	}
	b.subs.Store(&next)
}

// Close shuts the bus down. From its start, Publish and Subscribe return ErrClosed.
// It waits for Publish calls in flight, then lets every subscription run its handler
// over the events still queued. When all queues are empty it returns nil. If ctx ends
// first, it stops the remaining subscriptions (their handlers' contexts are cancelled
// and queued events are discarded) and returns ctx.Err(), wrapped.
//
// Close blocks until every subscription goroutine has exited, which includes waiting
// for running handlers to return: a handler should honour its ctx. A second Close
// returns ErrClosed.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.closed = true
	subs := *b.subs.Load()
	b.mu.Unlock()

	if b.state.Or(closedBit) == 0 {
		b.idleOnce.Do(func() { close(b.idle) })
	}

	err := b.drain(ctx, subs)
	for _, s := range subs {
		s.Close() // stops what did not drain; waits for every goroutine
	}
	if err != nil {
		return fmt.Errorf("events: close: %w", err)
	}
	return nil
}

// drain waits for in-flight publishes, then for every subscription to empty its queue,
// or for ctx to end.
func (b *Bus) drain(ctx context.Context, subs []*Subscription) error {
	select {
	case <-b.idle:
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, s := range subs {
		s.drainOnce.Do(func() { close(s.drain) })
	}
	for _, s := range subs {
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
