package host

import (
	"context"

	"github.com/onexhost/onex-host/host/internal/native"
)

// refill keeps the prewarm count of instances ready for a plugin with IsolationFresh,
// whose every call consumes one: one goroutine at a time creates them in the background,
// so a call finds an instance waiting rather than waiting for one. Its error is dropped on
// purpose: the next Acquire creates the instance itself and reports why it failed.
func (p *Plugin) refill() {
	if p.limits.prewarm == 0 || !p.refilling.CompareAndSwap(false, true) {
		return
	}
	p.refills.Add(1)
	go func() {
		defer p.refills.Done()
		defer p.refilling.Store(false)
		_ = p.pool.Prewarm(native.Ahead(context.Background()), p.limits.prewarm)
	}()
}
