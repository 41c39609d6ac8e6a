package guest

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"

	"github.com/tetratelabs/wazero/api"
)

// FuelQuantum is how much fuel a metered guest gets per refill (host.FuelQuantum).
const FuelQuantum = 1 << 20

// Errors a metered guest's refill ends its call with; a flavour classifies the call from
// its instance's state, not from these values, which wazero wraps.
var (
	ErrStopped       = errors.New("host: guest stopped at a fuel check")
	ErrFuelExhausted = errors.New("host: fuel budget used up")
)

// Refills counts fuel refills, process-wide: each is a call from a metered guest into Go.
var Refills atomic.Int64

// Fuel is the fuel accounting of one metered instance, native or Extism: its guest's
// counter and what the current call was granted. The zero value, with no counter, is a
// guarded instance's. It is not safe for concurrent use: it belongs to its instance, and
// only the goroutine running the instance's call touches it.
type Fuel struct {
	// Counter is the guest's fuel global (nil when guarded); set once, at instantiation.
	Counter api.MutableGlobal
	// budget is the current call's (0: none); spent is the fuel granted during the
	// current call, and out says the call's budget ran out.
	budget uint64
	spent  uint64
	out    bool
}

// Budget is the current call's fuel budget (0: none).
func (m *Fuel) Budget() uint64 { return m.budget }

// Out reports whether the current call's budget ran out.
func (m *Fuel) Out() bool { return m.out }

// Start arms a metered instance for one call with budget (0: none): an empty counter
// (the first check calls the refill, which applies the budget) and nothing spent.
func (m *Fuel) Start(budget uint64) {
	if m.Counter != nil {
		m.budget, m.spent, m.out = budget, 0, false
		m.Counter.Set(0)
	}
}

// Refill serves the meter's import during a call whose context is ctx. It ends the call —
// it panics with an error, which wazero unwinds the guest with and returns wrapped — when
// ctx ended (ErrStopped: the deadline, the watchdog or the caller) or the budget is used
// up (ErrFuelExhausted, and Out true); otherwise it grants the next quantum, at most
// what is left of the budget. Callers classify the outcome from ctx and Out, and
// discard the instance either way.
func (m *Fuel) Refill(ctx context.Context) {
	if ctx.Err() != nil {
		panic(ErrStopped)
	}
	grant := uint64(FuelQuantum)
	if budget := m.budget; budget > 0 {
		if m.spent >= budget {
			m.out = true
			panic(ErrFuelExhausted)
		}
		grant = min(grant, budget-m.spent)
	}
	long := m.spent > 0 // the call already used a whole quantum
	m.spent += grant
	m.Counter.Set(uint64(int64(m.Counter.Get()) + int64(grant))) // add: keep what the guest overdrew
	Refills.Add(1)
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

// OverBudget reports, after a call that returned, whether it used more fuel than its
// budget, and if so marks it as out of fuel. A guest is stopped at the first check past
// its budget; the segments it runs after its last check are charged but checked by
// nobody, so a call can return having used a little more than its budget (at most one
// function's straight-line code). The host refuses its result, so a call succeeds if and
// only if it used at most its budget: deterministic, whatever the module's shape.
func (m *Fuel) OverBudget() bool {
	if m.budget > 0 && m.FuelUsed() > m.budget {
		m.out = true
	}
	return m.out
}

// FuelUsed is the fuel the last call of a metered instance used: what the refills
// granted, less what is left on the counter, which is negative when the guest ran past
// its last grant after its last check (0 for a guarded instance).
func (m *Fuel) FuelUsed() uint64 {
	if m.Counter == nil {
		return 0
	}
	used := int64(m.spent) - int64(m.Counter.Get())
	return uint64(max(used, 0)) // a counter above the grants: set outside a call
}
