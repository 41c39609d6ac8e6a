// Package host loads ONEX node plugins (WebAssembly modules built against package abi)
// and runs them safely from any number of goroutines.
//
// A Host owns the wazero runtimes, an on-disk compilation cache and one watchdog
// goroutine that enforces every call's deadline. Load compiles a module once per digest
// and checks everything it can before the first call: the ABI version, the exports and
// their types, the imports (only WASI and the onex host functions exist), the manifest.
// Each Plugin keeps a bounded pool of instances; a call checks one out, writes its input
// straight into guest memory, calls the cached entry point, copies the output out and
// returns the instance — or discards it when the guest trapped, timed out, ran out of
// memory or handed the host a wild pointer. An instance is never used by two goroutines at
// once, so guest code needs no locks and shares no state.
//
// Extism plugins (modules importing extism:host/env, built with any Extism PDK) load
// through Extism's Go SDK with the same pool, limits and errors; their node description
// comes from an ExtismNode (a <name>.onex.yaml sidecar, or code), and Grants decide which
// directories and hosts they reach. See Flavour.
//
// The node kinds live in packages of their own beside this one: host/compute wraps a
// Plugin with ONEX's compute envelope (abi.ComputeInput and abi.ComputeOutput),
// converting between its JSON data and each computation's bytes by the computation's
// Encoding; host/effect wraps one with ONEX's effect envelope (transactions journaled
// before they run, retries, circuit breakers around capability calls). What outlives a
// node stays here: the compute cache, the transactions and their journal (Recover), the
// breakers, the event bus and the key-value store.
//
// Limits and sandbox: each instance's memory is capped (Config.MemoryLimit), every call
// has a deadline (Config.Timeout, the manifest's timeout_ms, PluginConfig.Timeout and the
// caller's context, whichever is earliest), input and output sizes are capped, and WASI
// has no preopened directories, no environment and no arguments; guest stdout and stderr
// go to the logger, one record per line, tagged with the plugin's name.
//
// The deadline holds wherever the guest is when it passes, or when the caller cancels:
// running (a metered guest stops at its next fuel check, a guarded one at its next
// function call or loop header), asleep in WASI (poll_oneoff's clock: the sleep ends the
// call at once), or waiting in a host function (the onex capabilities and Extism's
// http_request take the call's context; the other host functions do not wait). A call
// that passed its deadline fails with ErrTimeout (ErrCanceled when the caller canceled),
// even if its guest returned in the meantime, and its instance is discarded.
//
// A call still running Config.StuckGrace after its deadline (a guest that never reaches
// a fuel check, a host function that ignores its context) cannot be ended from inside
// the process: the host reports it (an error log line, Host.StuckCalls) and quarantines
// its plugin, whose calls then fail at once with ErrQuarantined, so that a supervisor
// restarts the process. See StuckCall.
//
// Errors are *PluginError values that match one sentinel (ErrTimeout, ErrTrap, …) with
// errors.Is.
package host
