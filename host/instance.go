package host

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capcall"
)

// instance is one instantiated module of a plugin. It is not safe for concurrent use: the
// pool hands it to one goroutine at a time, and busy catches any breach of that rule.
type instance struct {
	plugin *Plugin
	mod    api.Module
	mem    api.Memory
	// Function handles are looked up once: ExportedFunction costs ~3-4 µs and a fresh
	// stack each time, the call itself ~12 ns.
	alloc, compute, manifest api.Function
	// effect and compensate are the effect-node entries; nil in compute nodes.
	effect, compensate api.Function
	stack              [3]uint64

	// bufPtr/bufCap describe the guest buffer from the last onex_alloc, reused for every
	// input that fits.
	bufPtr, bufCap uint32

	cc callContext
	// stopByCaller is cc.stopByCaller, bound once: a method value made per call would
	// allocate.
	stopByCaller func()
	// watch is the instance's slot in the host's watchdog (see stuck.go).
	watch  callWatch
	stdout *lineWriter
	stderr *lineWriter

	// attempt is the effect attempt the instance serves, set for the duration of an
	// effect.Node call; capability host functions act for it. nil otherwise.
	attempt *capcall.Attempt
	// register is the result register of onex.call (abi/SPEC.md section 4).
	register []byte

	// fuelMeter counts a metered instance's fuel (no counter when guarded).
	fuelMeter
	// sleep is the instance's WASI nanosleep, which ends with the call (see sleeper).
	sleep sleeper

	// violation is set by a host function that received a bad (pointer, length) pair
	// during the current call; the call then fails with ErrOutOfBounds.
	violation string
	// broken marks an instance that must not be reused (trap, stop, violation).
	broken bool
	// busy is the owner check: set for the duration of a call.
	busy atomic.Bool
}

// errConcurrentUse is a programmer error: the pool handed one instance to two goroutines.
var errConcurrentUse = errors.New("host: instance used by two goroutines at once")

// call runs one entry export with input name+data and returns a copy of its output. The
// returned error is a *PluginError; on return, inst.broken says whether to discard it.
func (inst *instance) call(ctx context.Context, fn api.Function, op string, name string, data []byte, deadline time.Time) ([]byte, error) {
	if !inst.busy.CompareAndSwap(false, true) {
		panic(errConcurrentUse)
	}
	defer inst.busy.Store(false)
	p := inst.plugin

	inst.cc.parent = ctx
	var stopAfter func() bool
	if ctx.Done() != nil {
		stopAfter = context.AfterFunc(ctx, inst.stopByCaller)
	}
	if !deadline.IsZero() {
		inst.watch.arm(op, deadline)
	}
	// The budget is the plugin's computations' and effects'; the host's own calls (the
	// manifest at load) have none.
	budget := p.limits.fuel
	if fn == inst.manifest {
		budget = 0
	}
	inst.startFuel(budget)
	status, outPtr, outLen, err := inst.run(fn, name, data)
	if !deadline.IsZero() && inst.watch.disarm() {
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
	if inst.overBudget() {
		return nil, inst.classify(op, errFuelExhausted)
	}
	if inst.violation != "" {
		inst.broken = true
		return nil, p.errorf(op, ErrOutOfBounds, "%s", inst.violation)
	}
	// The range comes first: a location outside memory is a broken guest, whatever its
	// length, and its instance must go (abi/SPEC.md section 4).
	if outLen > 0 && uint64(outPtr)+uint64(outLen) > uint64(inst.mem.Size()) {
		inst.broken = true
		return nil, p.errorf(op, ErrOutOfBounds, "output (ptr=%#x, len=%d) lies outside guest memory (%d bytes)",
			outPtr, outLen, inst.mem.Size())
	}
	if status == abi.StatusOK && outLen > uint32(p.limits.maxOutput) {
		// Report the size without reading it.
		return nil, p.errorf(op, ErrOutputTooLarge, "%d bytes exceeds the %d-byte limit", outLen, p.limits.maxOutput)
	}
	var out []byte
	if outLen > 0 {
		var ok bool
		if out, ok = inst.mem.Read(outPtr, outLen); !ok {
			inst.broken = true
			return nil, p.errorf(op, ErrOutOfBounds, "output (ptr=%#x, len=%d) lies outside guest memory (%d bytes)",
				outPtr, outLen, inst.mem.Size())
		}
	}
	if status != abi.StatusOK {
		return nil, p.statusError(op, status, out)
	}
	return append([]byte(nil), out...), nil
}

// run writes the input into guest memory, calls fn and returns the status and the output
// location the guest wrote to its return area.
func (inst *instance) run(fn api.Function, name string, data []byte) (status abi.Status, outPtr, outLen uint32, err error) {
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

// classify turns an error from a guest call into a *PluginError.
func (inst *instance) classify(op string, err error) error {
	p := inst.plugin
	if inst.fuelOut {
		return &PluginError{Plugin: p.name, Op: op, Kind: ErrFuelExhausted, Cause: err,
			Message: fmt.Sprintf("guest used up its fuel budget of %d", inst.budget)}
	}
	if stopped, byCaller, reason := inst.cc.outcome(); stopped {
		switch {
		case !byCaller:
			return &PluginError{Plugin: p.name, Op: op, Kind: ErrTimeout, Retryable: true,
				Message: fmt.Sprintf("guest stopped after the %v timeout", p.limits.timeout)}
		case errors.Is(reason, context.DeadlineExceeded):
			return &PluginError{Plugin: p.name, Op: op, Kind: ErrTimeout, Retryable: true,
				Message: "guest stopped at the caller's deadline", Cause: reason}
		default:
			return &PluginError{Plugin: p.name, Op: op, Kind: ErrCanceled, Message: "guest stopped: caller canceled", Cause: reason}
		}
	}
	pages := fmt.Sprintf("%d of %d pages", inst.mem.Size()/pageSize, p.limits.memoryPages)
	outOfMemory := inst.outOfMemory()
	if errors.Is(err, errAllocFailed) && !outOfMemory {
		// Far from the limit: the guest's allocator failed on its own. At load (the
		// manifest's 8 bytes) the module is broken; in a call the guest failed.
		kind := ErrFailed
		if op == "load" {
			kind = ErrInvalidModule
		}
		return &PluginError{Plugin: p.name, Op: op, Kind: kind, Cause: err,
			Message: fmt.Sprintf("%v, with memory at %s, far below the limit (abi/SPEC.md section 2)%s", firstLine(err.Error()), pages, inst.stderr.lastFatal())}
	}
	if errors.Is(err, errAllocFailed) || outOfMemory {
		msg := "guest ran out of memory at " + pages
		if errors.Is(err, errAllocFailed) {
			msg = firstLine(err.Error()) + ": " + msg
		}
		return &PluginError{Plugin: p.name, Op: op, Kind: ErrMemoryLimit, Cause: err, Message: msg + inst.stderr.lastFatal()}
	}
	if errors.Is(err, errBadAlloc) {
		return &PluginError{Plugin: p.name, Op: op, Kind: ErrOutOfBounds, Message: err.Error()}
	}
	msg := firstLine(err.Error())
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		msg = fmt.Sprintf("guest exited with code %d", exit.ExitCode())
	}
	return &PluginError{Plugin: p.name, Op: op, Kind: ErrTrap, Cause: err, Message: msg + inst.stderr.lastFatal()}
}

// outOfMemory guesses whether a trap came from the memory limit: the guest runtime said
// so on stderr, or its memory is within one Go heap arena (4 MiB) of the limit.
func (inst *instance) outOfMemory() bool {
	if inst.stderr.mentions("out of memory", "memory allocation of") {
		return true
	}
	limit := uint64(inst.plugin.limits.memoryPages) * pageSize
	return uint64(inst.mem.Size())+4<<20 >= limit
}

// expire is the watchdog's callback.
func (inst *instance) expire() { inst.cc.stopByWatchdog() }

// close releases the module; safe on a module wazero already closed.
func (inst *instance) close() {
	inst.stdout.flush()
	inst.stderr.flush()
	_ = inst.mod.Close(context.Background())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
