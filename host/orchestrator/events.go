package orchestrator

import (
	"sync"
	"sync/atomic"
	"time"
)

// Event is one change of a workflow, as Subscribe delivers it.
type Event struct {
	WorkflowID, Workflow string
	// Type is "workflow.started", "workflow.paused", "workflow.resumed",
	// "workflow.completed", "workflow.failed", "workflow.cancelled", "step.started",
	// "step.completed", "step.failed", "step.retrying", "step.skipped",
	// "step.cancelled", "step.compensated" or "step.compensation_failed".
	Type     string
	Step     string // the step id of step.* events
	Attempt  int
	Status   string        // the workflow's or step's status after the event
	Duration time.Duration // the attempt's duration, for step.completed and step.failed
	Error    string
	At       time.Time
}

// events fans events out to subscribers without ever blocking the engine.
type events struct {
	dropped atomic.Int64

	// mu guards subs and next.
	mu   sync.Mutex
	subs map[int]chan Event
	next int
}

func (ev *events) subscribe(buffer int) (<-chan Event, func()) {
	ch := make(chan Event, max(buffer, 0))
	ev.mu.Lock()
	if ev.subs == nil {
		ev.subs = map[int]chan Event{}
	}
	id := ev.next
	ev.next++
	ev.subs[id] = ch
	ev.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			if _, open := ev.subs[id]; open { // else closeAll closed it
				delete(ev.subs, id)
				close(ch)
			}
		})
	}
}

func (ev *events) emit(list []Event) {
	if len(list) == 0 {
		return
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, ch := range ev.subs {
		for _, e := range list {
			select {
			case ch <- e:
			default:
				ev.dropped.Add(1)
			}
		}
	}
}

func (ev *events) closeAll() {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for id, ch := range ev.subs {
		delete(ev.subs, id)
		close(ch)
	}
}

// Subscribe returns a channel of every event from now on, with room for buffer
// events, and a function that ends the subscription (and closes the channel; Close
// closes it too). A subscriber that falls behind loses events rather than slowing the
// engine; Dropped counts them. It does not block.
func (e *Engine) Subscribe(buffer int) (<-chan Event, func()) { return e.events.subscribe(buffer) }

// Dropped returns how many events were dropped because a subscriber's buffer was full.
func (e *Engine) Dropped() int64 { return e.events.dropped.Load() }
