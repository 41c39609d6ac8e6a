package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// defaultShutdownTimeout is how long a command may take to stop after SIGINT or SIGTERM
// (run's --shutdown-timeout; serve adds it to limits.shutdown_timeout). The call in flight
// is canceled at once, and a canceled call normally ends within milliseconds, rolling its
// effect back; ten seconds leave room for compensations that reach a slow service. A call
// that ignores its cancellation (see host.StuckCall) must not hold the process past it.
const defaultShutdownTimeout = 10 * time.Second

// setShutdownTimeout sets how long the command may take to return after a signal.
func (e *env) setShutdownTimeout(d time.Duration) { e.shutdown.Store(int64(d)) }

// stopOnSignal runs cmd with a context that the first SIGINT or SIGTERM cancels, and
// returns cmd's exit code. After that signal cmd has the shutdown timeout to return; if it
// has not, or a second signal comes, stopOnSignal returns exitFailure at once, with a line
// on stderr, leaving cmd's goroutine behind for main's os.Exit to end: a guest call that
// ignores its cancellation cannot be ended any other way, and an effect it interrupts is
// rolled back from the journal at the next start. Each line on stderr says what happened,
// so an operator knows why the process stopped.
func (e *env) stopOnSignal(cmd func(context.Context) int) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- cmd(ctx) }()

	var sig os.Signal
	select {
	case code := <-done:
		return code
	case sig = <-sigs:
	}
	cancel()
	timeout := time.Duration(e.shutdown.Load())
	fmt.Fprintf(e.stderr, "onex-host: %v: stopping, for at most %v; a second signal exits at once\n", sig, timeout)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case code := <-done:
		return code
	case sig = <-sigs:
		fmt.Fprintf(e.stderr, "onex-host: %v again: exiting at once, without waiting for what still runs\n", sig)
	case <-t.C:
		fmt.Fprintf(e.stderr, "onex-host: still running %v after the signal (a call ignores its cancellation): exiting without waiting for it\n", timeout)
	}
	return exitFailure
}
