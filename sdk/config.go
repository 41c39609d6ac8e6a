package sdk

import (
	"maps"
	"sync/atomic"
)

// Config returns the value of one of the node's config keys and whether it has one. The
// node declares its keys in the manifest it gives Describe (abi.Manifest.Config: name,
// required, default, secret); the operator sets the values (the serve configuration
// file, --config KEY=VALUE, the environment for secrets), and the host refuses to load
// the plugin when a required key has no value, so a required key is always found. An
// optional key without a value or default, and a key the manifest does not declare,
// return ("", false).
//
// Config may be called from any handler and from init functions, except in a plugin
// run from a snapshot (isolation: fresh, snapshot: on): init runs once, to take the
// snapshot, and sees no values there (none is frozen into an image). Natively (not wasip1)
// it reads the values installed with SetConfig. It is safe for concurrent use; a secret's
// value should not be logged or returned.
func Config(key string) (string, bool) {
	if m := fakeConfig.Load(); m != nil {
		v, ok := (*m)[key]
		return v, ok
	}
	capClient.mu.Lock() // the result register is shared with capability calls
	defer capClient.mu.Unlock()
	return importConfig(key, &capClient.retLen)
}

// fakeConfig holds the values installed with SetConfig.
var fakeConfig atomic.Pointer[map[string]string]

// SetConfig makes Config answer from values, a copy of which it keeps, and returns a
// function restoring the previous values; nil restores the platform's own (the onex
// config import under wasip1, no values natively). It is a hook for unit tests, like
// SetHost; tests that set different values must not run in parallel.
func SetConfig(values map[string]string) (restore func()) {
	var p *map[string]string
	if values != nil {
		c := maps.Clone(values)
		p = &c
	}
	prev := fakeConfig.Swap(p)
	return func() { fakeConfig.Store(prev) }
}
