package watch

import (
	"sync"
	"time"
)

// Entry states, guarded by Watchdog.mu.
const (
	stateIdle    uint8 = iota // not in the heap; Arm allowed
	stateArmed                // in the heap, deadline not yet passed
	stateFired                // OnExpire delivered; in the heap again (index >= 0) while watched for overdue
	stateOverdue              // OnOverdue delivered; waiting for Disarm
)

// Outcome is what Disarm found: whether the entry's deadline passed before it, and
// whether the entry then stayed armed past the watchdog's grace.
type Outcome uint8

const (
	// InTime: Disarm came before the deadline, and no callback runs for this Arm.
	InTime Outcome = iota
	// Expired: the deadline passed first; OnExpire has run or is running, and OnOverdue
	// never runs for this Arm.
	Expired
	// Overdue: the entry was still armed the grace after its deadline; OnExpire, then
	// OnOverdue, have run or are running.
	Overdue
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
	// OnOverdue is called by the watchdog's goroutine when the entry is still
	// armed the watchdog's grace (see New) after its deadline: OnExpire
	// should have ended the call, and it did not. It runs at most once per
	// Arm, after OnExpire, never while the lock is held, and under the same
	// rules as OnExpire; Disarm then returns Overdue. A nil OnExpire is
	// allowed: the watchdog then only watches for this. A nil OnOverdue, or a
	// watchdog without a grace, means no overdue stage: the entry leaves the
	// heap when its deadline fires. Set it before the first Arm and do not
	// change it afterwards.
	OnOverdue func()

	// Guarded by the mutex of the Watchdog the Entry is armed on.
	deadline time.Time
	index    int   // position in Watchdog.heap while in it, else -1
	state    uint8 // stateIdle, stateArmed, stateFired or stateOverdue
}

// Watchdog runs OnExpire callbacks for entries whose deadlines pass before
// they are disarmed, and OnOverdue callbacks for those still armed a grace
// period later, using one goroutine, one timer and a min-heap of deadlines
// (an entry watched for overdue goes back into the heap when it fires, at
// its deadline plus the grace). New starts the goroutine; Close stops it.
//
// Watchdog is safe for concurrent use by multiple goroutines.
type Watchdog struct {
	timer   *time.Timer   // fires at timerAt; owned by mu except in run's select
	done    chan struct{} // closed by Close to stop run
	stopped chan struct{} // closed by run when it returns
	grace   time.Duration // see New; 0: no overdue stage

	// mu guards heap, armed, timerAt and closed, and the unexported fields of
	// every Entry armed here.
	mu      sync.Mutex
	heap    []*Entry  // min-heap ordered by deadline
	armed   int       // entries in stateArmed (the heap also holds fired ones watched for overdue)
	timerAt time.Time // when timer fires; zero if it is stopped
	closed  bool
}

// New returns a Watchdog and starts its goroutine, which runs until Close.
// grace is how long past its deadline an entry with an OnOverdue may stay
// armed before OnOverdue runs; zero or less turns the overdue stage off.
func New(grace time.Duration) *Watchdog {
	t := time.NewTimer(time.Hour)
	t.Stop()
	w := &Watchdog{
		timer:   t,
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
		grace:   max(grace, 0),
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
	w.armed++
	w.push(e)
	// Reset only when the timer would otherwise fire too late. A timer that
	// fires too early, for example because its entry was disarmed, only
	// costs a wakeup that re-aims it.
	if e.index == 0 && (w.timerAt.IsZero() || deadline.Before(w.timerAt)) {
		w.timerAt = deadline
		w.timer.Reset(time.Until(deadline))
	}
	w.mu.Unlock()
}

// Disarm removes e from the watchdog and reports what happened first. InTime
// means OnExpire and OnOverdue will not run for this Arm. Expired means
// OnExpire has run or is running (the caller should treat the call as timed
// out and discard the instance) and OnOverdue will not run. Overdue means
// OnOverdue has run or is running too. The answer is decided under the
// watchdog's lock, so it is definite; but a callback it reports may still be
// running when Disarm returns. Either way e is idle again and may be
// re-armed. Disarm of an idle Entry returns InTime. Disarm works after
// Close, so calls in flight can finish. It does not block beyond the
// watchdog's lock and never allocates.
func (w *Watchdog) Disarm(e *Entry) Outcome {
	out := InTime
	w.mu.Lock()
	switch e.state {
	case stateArmed:
		w.remove(e.index)
		w.armed--
	case stateFired:
		if e.index >= 0 {
			w.remove(e.index)
		}
		out = Expired
	case stateOverdue:
		out = Overdue
	}
	e.state = stateIdle
	w.mu.Unlock()
	return out
}

// Len returns the number of armed entries whose deadlines have not fired.
func (w *Watchdog) Len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.armed
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

// firing is one callback due: an entry's OnExpire, or its OnOverdue. The
// kind is decided under the lock, because the entry's state may change as
// soon as the lock is released.
type firing struct {
	e       *Entry
	overdue bool
}

// run is the watchdog's goroutine. It owns due, which it reuses across
// wakeups so expiring does not allocate either.
func (w *Watchdog) run() {
	defer close(w.stopped)
	defer w.timer.Stop()
	var due []firing
	for {
		select {
		case <-w.done:
			return
		case <-w.timer.C:
		}
		due = w.expire(due[:0])
		for i, f := range due {
			switch {
			case f.overdue && f.e.OnOverdue != nil:
				f.e.OnOverdue()
			case !f.overdue && f.e.OnExpire != nil:
				f.e.OnExpire()
			}
			due[i] = firing{}
		}
	}
}

// expire pops every entry whose deadline has passed, appends its callback to
// due and re-aims the timer at the new earliest deadline. An armed entry is
// marked fired and, when it is watched for overdue, pushed back at its
// deadline plus the grace; a fired one is marked overdue. The callbacks come
// out in deadline order, an entry's OnExpire before its OnOverdue (a wakeup
// late by more than the grace delivers both).
func (w *Watchdog) expire(due []firing) []firing {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	for len(w.heap) > 0 && !w.heap[0].deadline.After(now) {
		e := w.heap[0]
		w.remove(0)
		if e.state == stateFired {
			e.state = stateOverdue
			due = append(due, firing{e: e, overdue: true})
			continue
		}
		e.state = stateFired
		w.armed--
		due = append(due, firing{e: e})
		if w.grace > 0 && e.OnOverdue != nil {
			e.deadline = e.deadline.Add(w.grace)
			w.push(e)
		}
	}
	if len(w.heap) == 0 {
		w.timerAt = time.Time{}
		w.timer.Stop()
	} else {
		w.timerAt = w.heap[0].deadline
		w.timer.Reset(w.timerAt.Sub(now))
	}
	return due
}

// push adds e to the heap.
func (w *Watchdog) push(e *Entry) {
	e.index = len(w.heap)
	w.heap = append(w.heap, e)
	w.up(e.index)
}

// remove deletes the entry at heap index i.
func (w *Watchdog) remove(i int) {
	last := len(w.heap) - 1
	if i != last {
		w.swap(i, last)
	}
	w.heap[last].index = -1
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
