package host

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/host/internal/meter"
)

// Execution is how the host stops a guest that must stop (deadline, cancellation, fuel).
type Execution string

const (
	// ExecutionMetered rewrites the module at load (host/internal/meter) so that it
	// charges fuel at every function entry and loop and calls the host when its counter
	// runs out; the host then checks the call's deadline and fuel budget and ends the call
	// from there. No goroutine per call, no exit to Go at every loop: the default.
	ExecutionMetered Execution = "metered"
	// ExecutionGuarded runs the module as written, with wazero's close-on-context-done:
	// a goroutine per call and an exit to Go at every loop header.
	ExecutionGuarded Execution = "guarded"
)

// FuelQuantum is how much fuel a metered guest gets per refill: it calls the host (the
// only moment it can be stopped, and a point where the Go scheduler and garbage
// collector can preempt it) once per this many Wasm instructions executed — about
// 45-135 µs of Go code (BENCHMARKS.md, "Metered execution").
const FuelQuantum = 1 << 20

// Errors a metered guest's refill ends its call with; classify reads the instance's state,
// not these values, which wazero wraps.
var (
	errStopped       = errors.New("host: guest stopped at a fuel check")
	errFuelExhausted = errors.New("host: fuel budget used up")
)

// compileMetered instruments wasm and compiles the result in the metered runtime, at most
// once per key while any Plugin uses it. The compilation cache keys on the rewritten bytes.
func (h *Host) compileMetered(ctx context.Context, e *engine, key compiledKey, wasm []byte) (wazero.CompiledModule, error) {
	return h.compiled.acquire(key, func() (wazero.CompiledModule, error) {
		code, _, err := meter.Instrument(wasm, meter.Options{})
		if err != nil {
			return nil, err
		}
		return e.rt.CompileModule(ctx, code)
	})
}

// hostFuel implements the meter's refill import, onex.fuel() (), for native guests: it
// ends the call when the caller's context or the watchdog stopped it, or when the call's
// fuel budget is used up; otherwise it refills the counter (see fuelMeter.refill).
func hostFuel(ctx context.Context, mod api.Module, stack []uint64) {
	inst, _ := ctx.Value(instanceKey{}).(*instance)
	if inst == nil || inst.fuel == nil {
		// Instantiation (_initialize) or a module the host does not track: ctx is the
		// instantiation's, and a context that ended ends the guest; otherwise refill the
		// caller's own counter, without a budget.
		if ctx.Err() != nil {
			panic(errStopped)
		}
		if g, ok := mod.ExportedGlobal(meter.DefaultGlobal).(api.MutableGlobal); ok {
			g.Set(FuelQuantum)
		}
		return
	}
	// During a call ctx is the instance's call context: Err once the watchdog or the
	// caller stopped it.
	inst.refill(ctx)
}

// refills counts fuel refills, process-wide: each is a call from a metered guest into Go.
var refills atomic.Int64

// fuelMeter is the fuel accounting of one metered instance, native or Extism: its guest's
// counter and what the current call was granted. The zero value, with no counter, is a
// guarded instance's. It is not safe for concurrent use: it belongs to its instance, and
// only the goroutine running the instance's call touches it.
type fuelMeter struct {
	// fuel is the guest's counter (nil when guarded); spent is the fuel granted during the
	// current call, and fuelOut says the call's budget ran out.
	fuel    api.MutableGlobal
	budget  uint64 // the current call's; 0: none
	spent   uint64
	fuelOut bool
}

// startFuel arms a metered instance for one call with budget (0: none): an empty counter
// (the first check calls the refill, which applies the budget) and nothing spent.
func (m *fuelMeter) startFuel(budget uint64) {
	if m.fuel != nil {
		m.budget, m.spent, m.fuelOut = budget, 0, false
		m.fuel.Set(0)
	}
}

// refill serves the meter's import during a call whose context is ctx. It ends the call —
// it panics with an error, which wazero unwinds the guest with and returns wrapped — when
// ctx ended (errStopped: the deadline, the watchdog or the caller) or the budget is used
// up (errFuelExhausted, and fuelOut set); otherwise it grants the next quantum, at most
// what is left of the budget. Callers classify the outcome from ctx and fuelOut, and
// discard the instance either way.
func (m *fuelMeter) refill(ctx context.Context) {
	if ctx.Err() != nil {
		panic(errStopped)
	}
	grant := uint64(FuelQuantum)
	if budget := m.budget; budget > 0 {
		if m.spent >= budget {
			m.fuelOut = true
			panic(errFuelExhausted)
		}
		grant = min(grant, budget-m.spent)
	}
	long := m.spent > 0 // the call already used a whole quantum
	m.spent += grant
	m.fuel.Set(uint64(int64(m.fuel.Get()) + int64(grant))) // add: keep what the guest overdrew
	refills.Add(1)
	if long {
		// Yield: guests spinning on every P would otherwise keep the garbage collector's
		// workers (and every other goroutine) waiting for the scheduler's 10 ms
		// preemption, round after round. Measured (2026-12-04, 2 cores, loaded): a GC took
		// 30-300 ms with two spinners and 0.3-0.7 s with four without it; 11-21 ms with
		// it; 23-78 ms yielding at most once per millisecond instead. A quantum is
		// 45-135 µs of Go code, so one yield (114-123 ns when nothing else is runnable:
		// BenchmarkRefillYield) costs 0.08-0.27 %; the first refill of a call, which
		// every short call makes, does not yield. See BENCHMARKS.md, "Metered execution".
		runtime.Gosched()
	}
}

// overBudget reports, after a call that returned, whether it used more fuel than its
// budget, and if so marks it as out of fuel. A guest is stopped at the first check past
// its budget; the segments it runs after its last check are charged but checked by
// nobody, so a call can return having used a little more than its budget (at most one
// function's straight-line code). The host refuses its result, so a call succeeds if and
// only if it used at most its budget: deterministic, whatever the module's shape.
func (m *fuelMeter) overBudget() bool {
	if m.budget > 0 && m.fuelUsed() > m.budget {
		m.fuelOut = true
	}
	return m.fuelOut
}

// fuelUsed is the fuel the last call of a metered instance used: what the refills
// granted, less what is left on the counter, which is negative when the guest ran past
// its last grant after its last check (0 for a guarded instance).
func (m *fuelMeter) fuelUsed() uint64 {
	if m.fuel == nil {
		return 0
	}
	used := int64(m.spent) - int64(m.fuel.Get())
	return uint64(max(used, 0)) // a counter above the grants: set outside a call
}
