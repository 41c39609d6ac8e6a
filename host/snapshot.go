package host

import (
	"context"
	"errors"

	"github.com/onexhost/onex-host/host/internal/native"
	"github.com/onexhost/onex-host/host/internal/snapshot"
)

// snapshot makes code's instances start from a pre-initialized snapshot of wasm (see
// PluginConfig.Snapshot), closed with the plugin. A module the snapshot cannot capture
// faithfully (snapshot.ErrUnsupported) runs from its own image, as without snapshots; a
// module whose initialization fails is left for the first instance to report.
func (p *Plugin) snapshot(ctx context.Context, code *native.Code, wasm []byte) error {
	if p.metered {
		// The snapshot is of the module the runtime runs: the instrumented one, which the
		// compilation stored in the disk cache (else it is rewritten again: Instrument is
		// deterministic).
		var err error
		if wasm, err = p.host.meteredCode(p.digest, wasm); err != nil {
			return p.pluginError(err)
		}
	}
	compiled, mem, err := code.Snapshot(ctx, wasm)
	switch {
	case errors.Is(err, snapshot.ErrUnsupported):
		p.logger.Info("plugin runs without a snapshot", "reason", err)
		return nil
	case err != nil:
		p.logger.Debug("snapshot failed; the first instance reports why", "err", err)
		return nil
	}
	code.Compiled = compiled
	if mem != nil {
		code.Memory = mem.Allocator()
	}
	release := p.release
	p.release = func() {
		_ = compiled.Close(context.Background())
		if mem != nil {
			_ = mem.Close() // instances still alive keep their mappings
		}
		release()
	}
	return nil
}
