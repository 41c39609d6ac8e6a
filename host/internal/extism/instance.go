package extism

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	sdk "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero/sys"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/guest"
)

// Instance is one Extism plugin instance (Extism's kernel plus the guest module). It is
// not safe for concurrent use — neither is the go-sdk's Plugin: the pool hands it to one
// goroutine at a time, and busy catches any breach of that rule (it panics with
// guest.ErrConcurrentUse).
type Instance struct {
	plugin guest.Plugin
	x      *sdk.Plugin
	stdout *guest.LineWriter
	stderr *guest.LineWriter
	// broken marks an instance that must not be reused: it trapped, was stopped, exited,
	// or ran a command module's _start (which ends with the guest runtime's exit).
	broken bool
	busy   atomic.Bool
	// watch reports the call if it outlives its deadline (host/stuck.go); the call's
	// context, not the watchdog, stops it.
	watch guest.Watch
	// Fuel counts a metered instance's fuel (no counter when guarded).
	guest.Fuel
	// sleep is the instance's WASI nanosleep, which ends with the call (see guest.Sleeper).
	sleep guest.Sleeper
	// logCtx is the running call's context (nil between calls), for the Extism log
	// records' trace and span ids.
	logCtx context.Context
}

// Invoke calls the exported function target (see guest.Instance); Extism guests make no
// onex.call, so caps is unused. The deadline is enforced through the
// context, whether or not an Extism manifest timeout exists: a metered guest ends the
// call at its next refill once the context ended, which also enforces the plugin's fuel
// budget; a guarded one is closed by the runtime at its next function call or loop
// header; a sleeping one is ended at once (see guest.Sleeper), and Extism's http_request
// sends its request under the same context. A call that returns after its context ended
// counts as stopped too. All are discarded. The first call of an instance also runs the
// guest runtime's initialisation (Extism defers it), under the same deadline and budget.
func (xi *Instance) Invoke(ctx context.Context, computation, target string, data []byte, deadline time.Time, _ guest.Capabilities) ([]byte, error) {
	if !xi.busy.CompareAndSwap(false, true) {
		panic(guest.ErrConcurrentUse)
	}
	defer xi.busy.Store(false)
	lim := xi.plugin.Limits()
	xi.logTo(ctx)
	defer xi.logTo(nil)
	callCtx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	if target == "_start" {
		xi.broken = true // a command runs once per instance
	}
	guestCtx := callCtx
	if xi.Counter != nil {
		xi.Start(lim.Fuel)
		guestCtx = context.WithValue(callCtx, callKey{}, xi)
	}
	// Extism runs guest code only inside calls (the guest runtime's initialisation
	// included), on this goroutine: its sleeps end with guestCtx.
	xi.sleep.Ctx = guestCtx
	watched := !deadline.IsZero() && xi.plugin.ReportsStuck()
	if watched {
		xi.watch.Arm(computation, deadline)
	}
	rc, out, err := xi.x.CallWithContext(guestCtx, target, data)
	if watched {
		xi.watch.Disarm()
	}
	xi.sleep.Ctx = context.Background()
	if err == nil && xi.OverBudget() {
		err = guest.ErrFuelExhausted
	}
	// A call whose deadline passed, or whose caller canceled, before the guest returned
	// is stopped whatever the guest returned (see native.Instance.call).
	if err != nil || rc != 0 || callCtx.Err() != nil {
		return nil, xi.classify(ctx, callCtx, computation, rc, err)
	}
	if len(out) > lim.MaxOutput {
		return nil, guest.Failf(computation, guest.KindOutputTooLarge, "%d bytes exceeds the %d-byte limit", len(out), lim.MaxOutput)
	}
	return out, nil
}

// logTo makes what the guest prints or logs through Extism records of the call with
// context ctx (nil: none), so that they carry its trace and span ids.
func (xi *Instance) logTo(ctx context.Context) {
	xi.stdout.SetContext(ctx)
	xi.stderr.SetContext(ctx)
	xi.logCtx = ctx
}

// classify turns a failed Extism call into a *guest.Failure and decides whether the
// instance survives: only an error the plugin reported itself (Extism's error_set, or a
// non-zero return code) leaves it reusable.
func (xi *Instance) classify(ctx, callCtx context.Context, op string, rc uint32, err error) error {
	lim := xi.plugin.Limits()
	if xi.Out() {
		xi.broken = true
		return &guest.Failure{Op: op, Kind: guest.KindFuelExhausted, Cause: err,
			Message: fmt.Sprintf("guest used up its fuel budget of %d", xi.Budget())}
	}
	if callCtx.Err() != nil {
		xi.broken = true
		switch {
		case ctx.Err() == nil:
			return &guest.Failure{Op: op, Kind: guest.KindTimeout, Retryable: true, Cause: err,
				Message: fmt.Sprintf("guest stopped after the %v timeout", lim.Timeout)}
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return &guest.Failure{Op: op, Kind: guest.KindTimeout, Retryable: true, Cause: ctx.Err(),
				Message: "guest stopped at the caller's deadline"}
		default:
			return &guest.Failure{Op: op, Kind: guest.KindCanceled, Cause: ctx.Err(), Message: "guest stopped: caller canceled"}
		}
	}
	if err == nil {
		return &guest.Failure{Op: op, Kind: guest.KindFailed, Code: "return_code",
			Message: fmt.Sprintf("the function returned %d without an error message", rc)}
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		xi.broken = true
		return &guest.Failure{Op: op, Kind: guest.KindTrap, Cause: err,
			Message: fmt.Sprintf("guest exited with code %d%s", exit.ExitCode(), xi.stderr.LastFatal())}
	}
	// Extism returns the plugin's own error (error_set) as a plain error carrying its
	// message; a trap comes back before the message is read.
	if msg := xi.x.GetError(); msg != "" && err.Error() == msg {
		e := abi.DecodeError(abi.StatusError, []byte(msg))
		return &guest.Failure{Op: op, Kind: guest.KindFailed, Status: abi.StatusError, Code: e.Code,
			Message: e.Message, Retryable: e.Retryable}
	}
	xi.broken = true
	msg := strings.TrimSuffix(guest.FirstLine(err.Error()), " (recovered by wazero)")
	if strings.HasPrefix(msg, "HTTP request to ") && strings.HasSuffix(msg, " is not allowed") {
		// Extism's http_request panics out of the guest for a host nobody granted.
		return &guest.Failure{Op: op, Kind: guest.KindCapabilityDenied, Cause: err,
			Message: msg + " (grant it with --allow-host or Grants.Hosts)"}
	}
	if xi.stderr.Mentions("out of memory", "memory allocation of") {
		return &guest.Failure{Op: op, Kind: guest.KindMemoryLimit, Cause: err,
			Message: fmt.Sprintf("guest ran out of memory (limit %d pages)%s", lim.MemoryPages, xi.stderr.LastFatal())}
	}
	return &guest.Failure{Op: op, Kind: guest.KindTrap, Cause: err, Message: msg + xi.stderr.LastFatal()}
}

// Faulted reports whether the instance must be discarded rather than reused.
func (xi *Instance) Faulted() bool { return xi.broken }

// Close releases the guest, Extism's kernel and their memory.
func (xi *Instance) Close() {
	xi.stdout.Flush()
	xi.stderr.Flush()
	_ = xi.x.Close(context.Background())
}
