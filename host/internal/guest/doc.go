// Package guest is the seam between the host package and its two plugin flavours,
// host/internal/native (onex-host's own ABI) and host/internal/extism (Extism's PDKs).
//
// It holds what both sides need and neither owns: the Instance interface the pool hands
// out, the Plugin interface through which an instance reads its plugin's limits, logger
// and watchdog slot, the Capabilities interface behind onex.call, and the pieces both
// flavours share: fuel accounting (Meter), the interruptible WASI sleep (Sleeper) and
// the stdout/stderr log writer (LineWriter).
//
// # Errors
//
// The flavours never build a host.PluginError (host imports them, not the other way
// round): every failure of a load, an instantiation or a call is a *Failure carrying a
// Kind, and the host turns it into a *host.PluginError, naming the plugin, in one place.
// A Kind maps onto exactly one of host's sentinels.
//
// # Concurrency
//
// An Instance belongs to one goroutine at a time (the pool's rule); it panics with
// ErrConcurrentUse when two goroutines call it at once. A Plugin is read by every
// instance of a plugin concurrently and must be safe for that. Meter, Sleeper and
// LineWriter belong to their instance and are not safe for concurrent use. Failure
// values are immutable once returned.
package guest
