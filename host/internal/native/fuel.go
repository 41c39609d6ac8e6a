package native

import (
	"context"

	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
)

// hostFuel implements the meter's refill import, onex.fuel() (), for native guests: it
// ends the call when the caller's context or the watchdog stopped it, or when the call's
// fuel budget is used up; otherwise it refills the counter (see guest.Fuel.Refill).
func hostFuel(ctx context.Context, mod api.Module, stack []uint64) {
	inst, _ := ctx.Value(instanceKey{}).(*Instance)
	if inst == nil || inst.Counter == nil {
		// Instantiation (_initialize) or a module the host does not track: ctx is the
		// instantiation's, and a context that ended ends the guest; otherwise refill the
		// caller's own counter, without a budget.
		if ctx.Err() != nil {
			panic(guest.ErrStopped)
		}
		if g, ok := mod.ExportedGlobal(meter.DefaultGlobal).(api.MutableGlobal); ok {
			g.Set(guest.FuelQuantum)
		}
		return
	}
	// During a call ctx is the instance's call context: Err once the watchdog or the
	// caller stopped it.
	inst.Refill(ctx)
}
