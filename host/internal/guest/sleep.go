package guest

import (
	"context"
	"errors"
	"time"
)

// Guest sleeps. A guest sleeps through WASI's poll_oneoff with a clock subscription (Go's
// time.Sleep, Rust's thread::sleep, TinyGo's and C's nanosleep all end there), which
// wazero serves with the module configuration's nanosleep. wazero's own
// (WithSysNanosleep) is time.Sleep: nothing interrupts it, so a guest that asked for a
// minute held its call, its instance, its goroutine and the host's shutdown for a minute,
// whatever the call's deadline (issue 15: `run --timeout 1s` on a 5 s sleep took 5.3 s).
// A metered guest sleeping in a loop was worse: it checks its fuel only every few
// thousand iterations, so every sleep of those ran in full before it could be stopped.
//
// So every instance, native or Extism, gets a nanosleep of its own (Sleeper.Nanosleep)
// that also wakes when the context of the guest code running on it ends: the call's
// context, whose Done closes at the call's deadline (the watchdog, or the deadline of the
// context an Extism call runs under), when the caller cancels, and when the host's
// shutdown cancels the effects still running at its deadline; during instantiation, the
// instantiation's context. Woken so, it ends the call there (it panics with
// ErrSleepStopped, which wazero unwinds the guest with, as Fuel.Refill does): the
// guest never sees a sleep cut short. Letting it resume instead would leave stopping it
// to its next fuel check (metered) or function call or loop header (guarded), and a
// guest that returns right after its sleep reaches neither: tried, a guest whose 5 s
// sleep was cut at its 1 s deadline returned its result as a success, metered and
// guarded alike. The call fails with ErrTimeout or ErrCanceled, like any stopped call,
// and the instance is discarded.
//
// poll_oneoff has no other way to block here: the host gives guests no stdin (wazero then
// reports it always ready) and no sockets, and regular files never block. The other host
// functions a guest reaches are bounded or take the call's context: onex.log and
// onex.result do no I/O; onex.call's capabilities pass the call's context to the HTTP
// client (which honours it while connecting, sending and reading the body), check it
// before each key-value operation, and run fs operations on local files, which wait for
// nothing but the disk; Extism's http_request builds its request with the call's
// context, and its other host functions only copy memory.

// ErrSleepStopped ends a call whose context ended while its guest slept; classify reads
// the call's context, not this value, which wazero wraps.
var ErrSleepStopped = errors.New("host: guest stopped while it slept: its call ended")

// Sleeper is an instance's nanosleep. It is not safe for concurrent use: it belongs to its
// instance, and only the goroutine running the instance's guest code uses it.
type Sleeper struct {
	// Ctx is the context of the guest code the instance runs now (the instantiation's,
	// then each call's); the instance's owner sets it before running guest code, on the
	// goroutine that runs it, which is also the one nanosleep runs on. Never nil.
	Ctx context.Context
}

// Nanosleep is the instance's sys.Nanosleep: it blocks for ns nanoseconds, or ends the
// call (see ErrSleepStopped) as soon as the current context ends.
func (s *Sleeper) Nanosleep(ns int64) {
	done := s.Ctx.Done()
	select {
	case <-done:
		panic(ErrSleepStopped)
	default:
	}
	if ns <= 0 {
		return
	}
	t := time.NewTimer(time.Duration(ns))
	select {
	case <-t.C:
	case <-done:
		t.Stop()
		panic(ErrSleepStopped)
	}
}
