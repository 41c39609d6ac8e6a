// Package events is onex-host's in-process event bus: nodes publish abi.Event values on
// topics (onex.evt.<domain>.<name>.v<N>) and subscribers receive those whose topic
// matches their pattern.
//
// # Delivery
//
// Publish validates an event, fills in its EnvelopeID and Timestamp when empty, and puts
// a copy of it on the bounded queue of every matching subscription. It never runs a
// handler. Each subscription has its own goroutine that runs its Handler on one event at
// a time, in queue order, so events from one publishing goroutine reach each subscriber
// in the order they were published. Delivery is at most once: a failed handler (an
// error or a recovered panic) is counted, not retried.
//
// When a queue is full the subscription's Policy decides: Drop (the default) discards
// the event for that subscriber and counts it, so a slow subscriber never delays
// publishers; Block makes Publish wait for room, honouring its ctx, which gives
// backpressure at the cost of coupling the publisher to the slowest Block subscriber.
// Queues hold DefaultBuffer (1024) events unless SubscribeOptions.Buffer says otherwise.
//
// # Patterns
//
// Patterns use NATS subject syntax so a NATS backend can take them unchanged: segments
// separated by '.', "*" matching exactly one segment and ">" (last segment only)
// matching one or more. "onex.evt.orders.>" matches every orders event.
//
// # Concurrency and lifetime
//
// Bus and Subscription are safe for concurrent use by multiple goroutines. Publish takes
// no lock: the subscription list is a copy-on-write slice behind an atomic pointer.
// Handlers never run while the bus holds a lock. Every subscription goroutine is owned
// by its Subscription and ends with Subscription.Close or Bus.Close; Bus.Close first
// lets subscribers drain their queues until its ctx ends.
package events
