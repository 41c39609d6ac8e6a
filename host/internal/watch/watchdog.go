package watch

import (
	"sync"
	"time"
)

// Entry states, guarded by Watchdog.mu.
const (
	stateIdle  uint8 = iota // not in the heap; Arm allowed
	stateArmed              // in the heap, deadline not yet passed
	stateFired              // popped by the goroutine; waiting for Disarm
)

// Entry is one instance's slot in a Watchdog. An instance owns (or embeds) one
// Entry and reuses it for every call, which is what keeps Arm and Disarm free
// of allocations. The zero value is ready to use. An Entry must not be copied
// after its first Arm, and is armed on at most one Watchdog at a time.
//
// Entry is not safe for concurrent use: it belongs to the goroutine that owns
// the instance, like the instance itself. Pair every Arm with one Disarm.
type Entry struct {
	// OnExpire is called by the watchdog's goroutine when the deadline passes
	// before Disarm: at most once per Arm and never while the watchdog's lock
	// is held. It should be fast and must not panic, because expirations are
	// delivered one after another on that goroutine; closing the Wasm module
	// is the typical body. It may run concurrently with the owner's Disarm,
	// which then returns true. A nil OnExpire is allowed: the expiry is then
	// only reported by Disarm. Set it before the first Arm and do not change
	// it afterwards.
	OnExpire func()

	// Guarded by the mutex of the Watchdog the Entry is armed on.
	deadline time.Time
	index    int   // position in Watchdog.heap while armed
	state    uint8 // stateIdle, stateArmed or stateFired
}

// Watchdog runs OnExpire callbacks for entries whose deadlines pass before
// they are disarmed, using one goroutine, one timer and a min-heap of
// deadlines. New starts the goroutine; Close stops it.
//
// Watchdog is safe for concurrent use by multiple goroutines.
type Watchdog struct {
	timer   *time.Timer   // fires at timerAt; owned by mu except in run's select
	done    chan struct{} // closed by Close to stop run
	stopped chan struct{} // closed by run when it returns

	// mu guards heap, timerAt and closed, and the unexported fields of every
	// Entry armed here.
	mu      sync.Mutex
	heap    []*Entry  // min-heap ordered by deadline
	timerAt time.Time // when timer fires; zero if it is stopped
	closed  bool
}

// New returns a Watchdog and starts its goroutine, which runs until Close.
func New() *Watchdog {
	t := time.NewTimer(time.Hour)
	t.Stop()
	w := &Watchdog{
		timer:   t,
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go w.run()
	return w
}

// Arm schedules e.OnExpire to run at deadline unless Disarm comes first. A
// deadline that has already passed fires promptly. Arm does not block beyond
// the watchdog's lock and does not allocate once the heap has grown to its
// steady-state size.
//
// Arm panics if e is still armed or has fired without a Disarm, and if the
// Watchdog is closed: both are programmer errors.
func (w *Watchdog) Arm(e *Entry, deadline time.Time) {
	w.mu.Lock()
	if w.closed || e.state != stateIdle {
		closed := w.closed
		w.mu.Unlock()
		if closed {
			panic("watch: Arm on a closed Watchdog")
		}
		panic("watch: Arm of an Entry that is already armed")
	}
	e.deadline = deadline
	e.state = stateArmed
	e.index = len(w.heap)
	w.heap = append(w.heap, e)
	w.up(e.index)
	// Reset only when the timer would otherwise fire too late. A timer that
	// fires too early, for example because its entry was disarmed, only
	// costs a wakeup that re-aims it.
	if e.index == 0 && (w.timerAt.IsZero() || deadline.Before(w.timerAt)) {
		w.timerAt = deadline
		w.timer.Reset(time.Until(deadline))
	}
	w.mu.Unlock()
}

// Disarm removes e from the watchdog and reports whether its deadline fired
// first. If it returns false, OnExpire will not run for this Arm. If it
// returns true, OnExpire has run or is running, and the caller should treat
// the call as timed out and discard the instance. Either way e is idle again
// and may be re-armed. Disarm of an idle Entry returns false. Disarm works
// after Close, so calls in flight can finish. It does not block beyond the
// watchdog's lock and never allocates.
func (w *Watchdog) Disarm(e *Entry) (fired bool) {
	w.mu.Lock()
	switch e.state {
	case stateArmed:
		w.remove(e.index)
	case stateFired:
		fired = true
	}
	e.state = stateIdle
	w.mu.Unlock()
	return fired
}

// Len returns the number of armed entries whose deadlines have not fired.
func (w *Watchdog) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.heap)
}

// Close stops the goroutine and blocks until it has returned, including any
// OnExpire call in progress. Entries still armed never fire; Disarm them as
// usual. Close is idempotent; later calls also wait for the goroutine.
func (w *Watchdog) Close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.done)
	}
	w.mu.Unlock()
	<-w.stopped
}

// run is the watchdog's goroutine. It owns expired, which it reuses across
// wakeups so expiring does not allocate either.
func (w *Watchdog) run() {
	defer close(w.stopped)
	defer w.timer.Stop()
	var expired []*Entry
	for {
		select {
		case <-w.done:
			return
		case <-w.timer.C:
		}
		expired = w.expire(expired[:0])
		for i, e := range expired {
			if e.OnExpire != nil {
				e.OnExpire()
			}
			expired[i] = nil
		}
	}
}

// expire pops every entry whose deadline has passed, marks it fired, appends
// it to expired and re-aims the timer at the new earliest deadline. The
// entries come out in deadline order.
func (w *Watchdog) expire(expired []*Entry) []*Entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	for len(w.heap) > 0 && !w.heap[0].deadline.After(now) {
		e := w.heap[0]
		w.remove(0)
		e.state = stateFired
		expired = append(expired, e)
	}
	if len(w.heap) == 0 {
		w.timerAt = time.Time{}
		w.timer.Stop()
	} else {
		w.timerAt = w.heap[0].deadline
		w.timer.Reset(w.timerAt.Sub(now))
	}
	return expired
}

// remove deletes the entry at heap index i.
func (w *Watchdog) remove(i int) {
	last := len(w.heap) - 1
	if i != last {
		w.swap(i, last)
	}
	w.heap[last] = nil // drop the reference for the garbage collector
	w.heap = w.heap[:last]
	if i != last && !w.down(i) {
		w.up(i)
	}
}

func (w *Watchdog) less(i, j int) bool {
	return w.heap[i].deadline.Before(w.heap[j].deadline)
}

func (w *Watchdog) swap(i, j int) {
	h := w.heap
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (w *Watchdog) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !w.less(i, p) {
			return
		}
		w.swap(i, p)
		i = p
	}
}

// down sifts the entry at i down and reports whether it moved.
func (w *Watchdog) down(i0 int) bool {
	i, n := i0, len(w.heap)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && w.less(r, c) {
			c = r
		}
		if !w.less(c, i) {
			break
		}
		w.swap(i, c)
		i = c
	}
	return i > i0
}
