package native

import (
	"context"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/host/internal/cowmem"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
	"github.com/onexhost/onex-host/host/internal/snapshot"
)

// Snapshot pre-initializes wasm, the bytes c.Compiled was compiled from, in c.Runtime
// (see host/internal/snapshot) and returns the snapshot compiled there, with the memory
// image its instances must start from when the system has copy-on-write memories
// (host/internal/cowmem; nil otherwise: the image is in the module's data). The caller
// then passes both to UseSnapshot, and closes them with the plugin. The guest's _initialize runs once, under Limits().InitTimeout
// (which the compilations before it do not count against: a slow machine compiling a
// large module must not lose its snapshot).
// Errors: snapshot.ErrUnsupported (wrapped) for a module that cannot be snapshotted; a
// *guest.Failure when the initialization fails or times out.
func (c *Code) Snapshot(ctx context.Context, wasm []byte) (wazero.CompiledModule, *cowmem.Image, error) {
	timeout := c.Plugin.Limits().InitTimeout
	// The snapshot's instance is the host's own: its stdout and stderr are discarded.
	// The fuel counter is reset before every call (guest.Fuel.Start): keeping its value
	// after _initialize would only make each process's snapshot different bytes.
	opt := snapshot.Options{Image: cowmem.Supported(), InitTimeout: timeout, Volatile: []string{meter.DefaultGlobal}}
	module, image, err := snapshot.TakeWith(ctx, c.Runtime, wasm, c.ModConfig, opt)
	if errors.Is(err, snapshot.ErrInitTimeout) {
		return nil, nil, &guest.Failure{Op: "snapshot", Kind: guest.KindTimeout, Cause: err,
			Message: fmt.Sprintf("instantiation (the guest's _initialize) did not finish within %v", timeout)}
	}
	if err != nil {
		return nil, nil, err
	}
	var mem *cowmem.Image
	if image != nil {
		if mem, err = cowmem.New(image); err != nil {
			if !errors.Is(err, cowmem.ErrUnsupported) {
				return nil, nil, err
			}
			// No memfd after all: the image goes back into the module's data.
			opt.Image = false
			if module, _, err = snapshot.TakeWith(ctx, c.Runtime, wasm, c.ModConfig, opt); err != nil {
				return nil, nil, err
			}
		}
	}
	compiled, err := c.Runtime.CompileModule(ctx, module)
	if err != nil {
		if mem != nil {
			_ = mem.Close()
		}
		return nil, nil, fmt.Errorf("snapshot: compile: %w", err)
	}
	return compiled, mem, nil
}
