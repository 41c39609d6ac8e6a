// Package watch enforces per-call deadlines for many Wasm instances with one
// goroutine.
//
// Every guest call needs a deadline, so a runaway plugin cannot hold an
// instance forever. The obvious tool, context.WithTimeout, costs about half a
// microsecond and five allocations per call, and the runtime then needs its
// own goroutine or callback to watch each context. That is a timer and a
// goroutine per call for an event that almost never happens: nearly every
// call returns long before its deadline.
//
// A [Watchdog] instead keeps every armed deadline in one min-heap behind one
// mutex, served by one goroutine and one [time.Timer] set to the earliest
// deadline. Each instance owns an [Entry] that it reuses for all its calls, so
// [Watchdog.Arm] and [Watchdog.Disarm] around a call are a heap push and
// remove: O(log n), no allocation in steady state, and no timer reset unless
// the new deadline is earlier than the one the timer already waits for.
//
// When a deadline passes, the goroutine marks the entry fired under the lock
// and calls [Entry.OnExpire] after releasing it; the callback typically closes
// the Wasm module so the guest traps. Whether the deadline fired is decided
// only under the lock, so [Watchdog.Disarm] gives a definite answer: [InTime]
// means OnExpire never runs for that call, [Expired] means the call timed out
// and the instance must be discarded.
//
// Stopping a call can fail: a guest that never reaches a check, or a host
// function that blocks and ignores its context. So the same heap also watches
// for calls that do not end once stopped. A Watchdog made with a grace period
// puts an entry with an [Entry.OnOverdue] back into the heap when it fires,
// at its deadline plus the grace; if it is still there then, the goroutine
// marks it overdue and calls OnOverdue, and Disarm returns [Overdue]. A call
// that ends in time is only one more heap removal; nothing else runs per
// call.
//
// The package reads the real clock through package time rather than an
// injected clock: tests run inside testing/synctest bubbles, which fake time
// for the watchdog's goroutine and timer as long as the Watchdog is created
// inside the bubble.
package watch
