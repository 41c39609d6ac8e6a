package guest

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// Instance is one pooled instance of a plugin, of either flavour. The pool hands it to
// one goroutine at a time; it is not safe for concurrent use.
type Instance interface {
	// Invoke runs computation (whose guest-side name is target: the computation itself
	// for native plugins, the exported function for Extism ones) on data, stopping the
	// guest at deadline (zero: none) or when ctx ends. caps serves the guest's capability
	// calls (nil: they fail with abi.StatusUnsupported; Extism guests make none). It
	// returns a copy of the output; errors are *Failure values.
	Invoke(ctx context.Context, computation, target string, data []byte, deadline time.Time, caps Capabilities) ([]byte, error)
	// Faulted reports whether the instance must be discarded rather than reused.
	Faulted() bool
	// FuelUsed is the fuel the last call used when the instance is metered, else 0.
	FuelUsed() uint64
	// Close releases the instance.
	Close()
}

// Capabilities serves a native guest's onex.call (abi/SPEC.md section 8) for the effect
// attempt the call runs in. Call returns the status and the response or error payload;
// req is a view of guest memory, valid until the guest runs again, so Call copies what it
// keeps. It runs on the goroutine of the guest's call, under the call's context.
type Capabilities interface {
	Call(ctx context.Context, op string, req []byte) (abi.Status, []byte)
}

// Limits are the bounds a plugin's instances enforce.
type Limits struct {
	Timeout     time.Duration // per call; 0: none
	InitTimeout time.Duration // bound of an instantiation (the guest's _initialize); > 0
	Fuel        uint64        // per call budget of a metered guest; 0: none
	MaxInput    int           // bytes, for a capability request
	MaxOutput   int           // bytes of a call's result
	MemoryPages uint32        // the memory limit, in 64 KiB pages
}

// Plugin is what an instance reads of its plugin. The host implements it; its values may
// change while the plugin loads (the manifest names the plugin and sets its timeout after
// the first instance exists), so instances read them when they need them. It is safe for
// concurrent use by multiple goroutines.
type Plugin interface {
	// Limits returns the limits in force.
	Limits() Limits
	// Kind returns the manifest's node kind ("" before the manifest is known).
	Kind() abi.Kind
	// Logger returns the plugin's logger.
	Logger() *slog.Logger
	// Watch returns a new slot in the host's watchdog for one instance; onExpire (nil:
	// none) is run on the watchdog's goroutine when an armed call's deadline passes.
	Watch(onExpire func()) Watch
	// ReportsStuck reports whether the host reports calls that outlive their deadline
	// (Config.StuckGrace > 0).
	ReportsStuck() bool
	// Config returns the value of one of the node's config keys (abi.ImportConfig) and
	// abi.StatusOK, abi.StatusNotFound for a declared key without a value, or
	// abi.StatusInvalidInput for a key the manifest does not declare.
	Config(key string) (string, abi.Status)
}

// Watch is an instance's slot in the host's watchdog. It belongs to its instance and is
// not safe for concurrent use.
type Watch interface {
	// Arm watches a call of op that must end by deadline.
	Arm(op string, deadline time.Time)
	// Disarm ends the watch and reports whether the deadline passed first.
	Disarm() (expired bool)
}

// ErrConcurrentUse is a programmer error, panicked with: the pool handed one instance to
// two goroutines.
var ErrConcurrentUse = errors.New("host: instance used by two goroutines at once")

// PageSize is the size of a Wasm memory page.
const PageSize = 64 << 10
