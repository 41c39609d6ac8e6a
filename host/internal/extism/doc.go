// Package extism runs plugins built with Extism's plugin development kits: modules that
// import extism:host/env (HostModule) and export functions taking and returning bytes.
// They run through Extism's go-sdk, each instance being Extism's kernel plus the guest
// module, in a runtime of the go-sdk's own that shares the host's compilation cache.
//
// Compile builds a plugin's compiled code, metered (the guest module rewritten by
// host/internal/meter, refilling through onex.fuel) or guarded (close-on-context-done);
// CheckImports refuses imports neither the kernel nor WASI provides; Code creates
// Instances, which the host's pool hands out as guest.Instance values. The node
// description (the sidecar, host.ExtismNode) stays in host: it is public API.
//
// The package never imports host: instances read their plugin through guest.Plugin.
//
// # Concurrency
//
// Compile, CheckImports and SetLogLevel are safe for concurrent use, and so is a Code
// once built. An Instance belongs to one goroutine at a time; a second goroutine calling
// it panics with guest.ErrConcurrentUse.
//
// # Errors
//
// NewInstance and Invoke return *guest.Failure values (the host turns them into
// *host.PluginError); Compile returns the go-sdk's or the rewriter's error, wrapping
// ErrNotMeterable when the module must run guarded. After a failed call Faulted says
// whether the instance must be discarded: only an error the plugin reported itself
// (Extism's error_set, or a non-zero return code) leaves it reusable.
package extism
