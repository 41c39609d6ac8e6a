package host

import (
	"context"

	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/host/internal/guest"
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
const FuelQuantum = guest.FuelQuantum

// compileMetered instruments wasm and compiles the result in the metered runtime, at most
// once per key while any Plugin uses it. The compilation cache keys on the rewritten bytes,
// which are themselves cached (meteredcache.go).
func (h *Host) compileMetered(ctx context.Context, e *engine, key compiledKey, wasm []byte) (wazero.CompiledModule, error) {
	return h.compiled.acquire(key, func() (m wazero.CompiledModule, err error) {
		err = h.tracked(key, "native", func() error {
			code, err := h.meteredCode(key.digest, wasm)
			if err != nil {
				return err
			}
			m, err = e.rt.CompileModule(ctx, code)
			return err
		})
		return m, err
	})
}
