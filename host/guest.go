package host

import (
	"context"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// guest is one pooled instance of a plugin, of either flavour: a native-ABI *instance or
// an *extismInstance. The pool hands it to one goroutine at a time; it is not safe for
// concurrent use.
type guest interface {
	// invoke runs computation (whose guest-side name is target: the computation itself
	// for native plugins, the exported function for Extism ones) on data, stopping the
	// guest at deadline (zero: none) or when ctx ends. It returns a copy of the output;
	// errors are *PluginError values.
	invoke(ctx context.Context, computation, target string, data []byte, deadline time.Time) ([]byte, error)
	// faulted reports whether the instance must be discarded rather than reused.
	faulted() bool
	// fuelUsed is the fuel the last call used when the instance is metered, else 0.
	fuelUsed() uint64
	// close releases the instance.
	close()
}

// invoke runs the native entry point: onex_compute, or onex_effect in an effect node.
func (inst *instance) invoke(ctx context.Context, computation, _ string, data []byte, deadline time.Time) ([]byte, error) {
	fn := inst.compute
	if inst.plugin.manifest.Kind == abi.KindEffect {
		fn = inst.effect
	}
	return inst.call(ctx, fn, computation, computation, data, deadline)
}

func (inst *instance) faulted() bool { return inst.broken }
