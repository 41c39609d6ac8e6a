package native

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/guest"
)

// Instance is one instantiated module of a native plugin. It is not safe for concurrent
// use: the pool hands it to one goroutine at a time, and busy catches any breach of that
// rule (it panics with guest.ErrConcurrentUse).
type Instance struct {
	plugin guest.Plugin
	mod    api.Module
	mem    api.Memory
	// Function handles are looked up once: ExportedFunction costs ~3-4 µs and a fresh
	// stack each time, the call itself ~12 ns.
	alloc, compute, manifest api.Function
	// effect and compensate are the effect-node entries; nil in compute nodes.
	effect, compensate api.Function
	// reduce is the reducer-node entry; nil in other nodes.
	reduce api.Function
	// orchestrate is the orchestrator-node entry; nil in other nodes.
	orchestrate api.Function
	stack       [3]uint64

	// bufPtr/bufCap describe the guest buffer from the last onex_alloc, reused for every
	// input that fits.
	bufPtr, bufCap uint32

	cc callContext
	// stopByCaller is cc.stopByCaller, bound once: a method value made per call would
	// allocate.
	stopByCaller func()
	// watch is the instance's slot in the host's watchdog (host/stuck.go).
	watch  guest.Watch
	stdout *guest.LineWriter
	stderr *guest.LineWriter

	// caps serves the capability calls of the effect attempt the instance serves, set
	// for the duration of an EffectNode call or a compensation. nil otherwise.
	caps guest.Capabilities
	// register is the result register of onex.call (abi/SPEC.md section 4).
	register []byte

	// Fuel counts a metered instance's fuel (no counter when guarded).
	guest.Fuel
	// sleep is the instance's WASI nanosleep, which ends with the call (see guest.Sleeper).
	sleep guest.Sleeper

	// violation is set by a host function that received a bad (pointer, length) pair
	// during the current call; the call then fails with ErrOutOfBounds.
	violation string
	// broken marks an instance that must not be reused (trap, stop, violation).
	broken bool
	// busy is the owner check: set for the duration of a call.
	busy atomic.Bool
}

// Invoke runs the native entry point: onex_compute, onex_effect in an effect node,
// onex_reduce in a reducer node, or onex_orchestrate in an orchestrator node (the load
// checked that the export exists). See
// guest.Instance.
func (inst *Instance) Invoke(ctx context.Context, computation, _ string, data []byte, deadline time.Time, caps guest.Capabilities) ([]byte, error) {
	fn := inst.compute
	switch inst.plugin.Kind() {
	case abi.KindEffect:
		fn = inst.effect
	case abi.KindReducer:
		fn = inst.reduce
	case abi.KindOrchestrator:
		fn = inst.orchestrate
	}
	inst.caps = caps
	defer inst.endCaps()
	return inst.call(ctx, fn, computation, computation, data, deadline)
}

// CanCompensate reports whether the module exports onex_compensate.
func (inst *Instance) CanCompensate() bool { return inst.compensate != nil }

// Compensate runs onex_compensate(name, payload), stopped at deadline (zero: none) or
// when ctx ends, serving capability calls with caps. Errors are *guest.Failure values;
// the module must export onex_compensate (see CanCompensate).
func (inst *Instance) Compensate(ctx context.Context, name string, payload []byte, deadline time.Time, caps guest.Capabilities) error {
	inst.caps = caps
	defer inst.endCaps()
	_, err := inst.call(ctx, inst.compensate, "compensate "+name, name, payload, deadline)
	return err
}

// endCaps forgets the capabilities of the call that ended, and its result register.
func (inst *Instance) endCaps() { inst.caps, inst.register = nil, inst.register[:0] }

// Faulted reports whether the instance must be discarded rather than reused.
func (inst *Instance) Faulted() bool { return inst.broken }

// call runs one entry export with input name+data and returns a copy of its output. The
// returned error is a *guest.Failure; on return, inst.broken says whether to discard it.
func (inst *Instance) call(ctx context.Context, fn api.Function, op string, name string, data []byte, deadline time.Time) ([]byte, error) {
	if !inst.busy.CompareAndSwap(false, true) {
		panic(guest.ErrConcurrentUse)
	}
	defer inst.busy.Store(false)
	lim := inst.plugin.Limits()
	inst.logTo(ctx)
	defer inst.logTo(nil)

	inst.cc.parent = ctx
	var stopAfter func() bool
	if ctx.Done() != nil {
		stopAfter = context.AfterFunc(ctx, inst.stopByCaller)
	}
	if !deadline.IsZero() {
		inst.watch.Arm(op, deadline)
	}
	// The budget is the plugin's computations' and effects'; the host's own calls (the
	// manifest at load) have none.
	budget := lim.Fuel
	if fn == inst.manifest {
		budget = 0
	}
	inst.Start(budget)
	status, outPtr, outLen, err := inst.run(fn, name, data)
	if !deadline.IsZero() && inst.watch.Disarm() {
		inst.broken = true
	}
	if stopAfter != nil && !stopAfter() {
		// The callback ran or is running, reading cc.parent: leave it; the instance is
		// discarded.
		inst.broken = true
	} else {
		inst.cc.parent = context.Background()
	}

	if err != nil {
		inst.broken = true
		return nil, inst.classify(op, err)
	}
	if stopped, _, reason := inst.cc.outcome(); stopped {
		// The call's deadline passed, or its caller canceled, before the guest returned:
		// what it returned may rest on host calls that ended with the call (a request cut
		// short), and a metered guest that has not checked its fuel since would answer
		// where a guarded one is stopped. The call ends as a stopped call, in both modes.
		inst.broken = true
		return nil, inst.classify(op, reason)
	}
	if inst.OverBudget() {
		return nil, inst.classify(op, guest.ErrFuelExhausted)
	}
	if inst.violation != "" {
		inst.broken = true
		return nil, guest.Failf(op, guest.KindOutOfBounds, "%s", inst.violation)
	}
	// The range comes first: a location outside memory is a broken guest, whatever its
	// length, and its instance must go (abi/SPEC.md section 4).
	if outLen > 0 && uint64(outPtr)+uint64(outLen) > uint64(inst.mem.Size()) {
		inst.broken = true
		return nil, guest.Failf(op, guest.KindOutOfBounds, "output (ptr=%#x, len=%d) lies outside guest memory (%d bytes)",
			outPtr, outLen, inst.mem.Size())
	}
	if status == abi.StatusOK && outLen > uint32(lim.MaxOutput) {
		// Report the size without reading it.
		return nil, guest.Failf(op, guest.KindOutputTooLarge, "%d bytes exceeds the %d-byte limit", outLen, lim.MaxOutput)
	}
	var out []byte
	if outLen > 0 {
		var ok bool
		if out, ok = inst.mem.Read(outPtr, outLen); !ok {
			inst.broken = true
			return nil, guest.Failf(op, guest.KindOutOfBounds, "output (ptr=%#x, len=%d) lies outside guest memory (%d bytes)",
				outPtr, outLen, inst.mem.Size())
		}
	}
	if status != abi.StatusOK {
		return nil, guest.StatusFailure(op, status, out)
	}
	return append([]byte(nil), out...), nil
}

// logTo makes what the guest prints records of the call with context ctx (nil: none).
func (inst *Instance) logTo(ctx context.Context) {
	inst.stdout.SetContext(ctx)
	inst.stderr.SetContext(ctx)
}

// run writes the input into guest memory, calls fn and returns the status and the output
// location the guest wrote to its return area.
func (inst *Instance) run(fn api.Function, name string, data []byte) (status abi.Status, outPtr, outLen uint32, err error) {
	ctx := &inst.cc
	need := uint32(max(len(name)+len(data), abi.ReturnAreaSize))
	if need > inst.bufCap {
		inst.stack[0] = uint64(need)
		if err := inst.alloc.CallWithStack(ctx, inst.stack[:]); err != nil {
			return 0, 0, 0, err
		}
		ptr := uint32(inst.stack[0])
		if ptr == 0 {
			return 0, 0, 0, fmt.Errorf("onex_alloc(%d) returned 0: %w", need, errAllocFailed)
		}
		// Checked before any use: the guest gets the buffer back (as onex_manifest's ret,
		// say) even when the input is shorter than it.
		if uint64(ptr)+uint64(need) > uint64(inst.mem.Size()) {
			return 0, 0, 0, fmt.Errorf("%w: onex_alloc(%d) returned %#x: the buffer (ptr=%#x, len=%d) lies outside guest memory (%d bytes)",
				errBadAlloc, need, ptr, ptr, need, inst.mem.Size())
		}
		inst.bufPtr, inst.bufCap = ptr, need
	}
	if !inst.mem.WriteString(inst.bufPtr, name) || !inst.mem.Write(inst.bufPtr+uint32(len(name)), data) {
		return 0, 0, 0, fmt.Errorf("%w: onex_alloc returned a buffer outside memory", errBadAlloc)
	}
	inst.stack[0], inst.stack[1], inst.stack[2] = uint64(inst.bufPtr), uint64(len(name)), uint64(len(data))
	if err := fn.CallWithStack(ctx, inst.stack[:]); err != nil {
		return 0, 0, 0, err
	}
	ret, ok := inst.mem.ReadUint64Le(inst.bufPtr)
	if !ok {
		return 0, 0, 0, fmt.Errorf("%w: return area outside memory", errBadAlloc)
	}
	outPtr, outLen = abi.ReturnArea(ret)
	return abi.Status(int32(uint32(inst.stack[0]))), outPtr, outLen, nil
}

var (
	errAllocFailed = errors.New("the guest could not allocate the buffer")
	errBadAlloc    = errors.New("guest broke the ABI")
)

// classify turns an error from a guest call into a *guest.Failure.
func (inst *Instance) classify(op string, err error) error {
	lim := inst.plugin.Limits()
	if inst.Out() {
		return &guest.Failure{Op: op, Kind: guest.KindFuelExhausted, Cause: err,
			Message: fmt.Sprintf("guest used up its fuel budget of %d", inst.Budget())}
	}
	if stopped, byCaller, reason := inst.cc.outcome(); stopped {
		switch {
		case !byCaller:
			return &guest.Failure{Op: op, Kind: guest.KindTimeout, Retryable: true,
				Message: fmt.Sprintf("guest stopped after the %v timeout", lim.Timeout)}
		case errors.Is(reason, context.DeadlineExceeded):
			return &guest.Failure{Op: op, Kind: guest.KindTimeout, Retryable: true,
				Message: "guest stopped at the caller's deadline", Cause: reason}
		default:
			return &guest.Failure{Op: op, Kind: guest.KindCanceled, Message: "guest stopped: caller canceled", Cause: reason}
		}
	}
	pages := fmt.Sprintf("%d of %d pages", inst.mem.Size()/guest.PageSize, lim.MemoryPages)
	outOfMemory := inst.outOfMemory()
	if errors.Is(err, errAllocFailed) && !outOfMemory {
		// Far from the limit: the guest's allocator failed on its own. At load (the
		// manifest's 8 bytes) the module is broken; in a call the guest failed.
		kind := guest.KindFailed
		if op == "load" {
			kind = guest.KindInvalidModule
		}
		return &guest.Failure{Op: op, Kind: kind, Cause: err,
			Message: fmt.Sprintf("%v, with memory at %s, far below the limit (abi/SPEC.md section 2)%s", guest.FirstLine(err.Error()), pages, inst.stderr.LastFatal())}
	}
	if errors.Is(err, errAllocFailed) || outOfMemory {
		msg := "guest ran out of memory at " + pages
		if errors.Is(err, errAllocFailed) {
			msg = guest.FirstLine(err.Error()) + ": " + msg
		}
		return &guest.Failure{Op: op, Kind: guest.KindMemoryLimit, Cause: err, Message: msg + inst.stderr.LastFatal()}
	}
	if errors.Is(err, errBadAlloc) {
		return &guest.Failure{Op: op, Kind: guest.KindOutOfBounds, Message: err.Error()}
	}
	msg := guest.FirstLine(err.Error())
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		msg = fmt.Sprintf("guest exited with code %d", exit.ExitCode())
	}
	return &guest.Failure{Op: op, Kind: guest.KindTrap, Cause: err, Message: msg + inst.stderr.LastFatal()}
}

// outOfMemory guesses whether a trap came from the memory limit: the guest runtime said
// so on stderr, or its memory is within one Go heap arena (4 MiB) of the limit.
func (inst *Instance) outOfMemory() bool {
	if inst.stderr.Mentions("out of memory", "memory allocation of") {
		return true
	}
	limit := uint64(inst.plugin.Limits().MemoryPages) * guest.PageSize
	return uint64(inst.mem.Size())+4<<20 >= limit
}

// expire is the watchdog's callback.
func (inst *Instance) expire() { inst.cc.stopByWatchdog() }

// Close releases the module; safe on a module wazero already closed.
func (inst *Instance) Close() {
	inst.stdout.Flush()
	inst.stderr.Flush()
	_ = inst.mod.Close(context.Background())
}
