package native

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/snapshot"
)

// Snapshot pre-initializes wasm, the bytes c.Compiled was compiled from, in c.Runtime
// (see host/internal/snapshot) and returns the snapshot compiled there; the caller then
// sets c.Compiled to it and closes it with the plugin. The guest's _initialize runs once,
// under Limits().InitTimeout. Errors: snapshot.ErrUnsupported (wrapped) for a module that
// cannot be snapshotted; a *guest.Failure when the initialization fails or times out.
func (c *Code) Snapshot(ctx context.Context, wasm []byte) (wazero.CompiledModule, error) {
	timeout := c.Plugin.Limits().InitTimeout
	ictx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// The snapshot's instance is the host's own: its stdout and stderr are discarded.
	img, err := snapshot.Take(ictx, c.Runtime, wasm, c.ModConfig)
	if err != nil {
		if ictx.Err() != nil {
			return nil, &guest.Failure{Op: "snapshot", Kind: guest.KindTimeout, Cause: err,
				Message: fmt.Sprintf("instantiation (the guest's _initialize) did not finish within %v", timeout)}
		}
		return nil, err
	}
	compiled, err := c.Runtime.CompileModule(ctx, img)
	if err != nil {
		return nil, fmt.Errorf("snapshot: compile: %w", err)
	}
	return compiled, nil
}
