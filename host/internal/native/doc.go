// Package native runs plugins of onex-host's own ABI (abi/SPEC.md), the flavour the sdk
// package builds: one wazero module per instance, entered through onex_compute,
// onex_effect or onex_compensate, with the host module onex (log, call, result and the
// meter's fuel) defined in every native runtime by DefineHostModule.
//
// Check refuses at load what the runtime could not link, naming the fault; Code holds a
// compiled module and creates Instances, which the host's pool hands out as
// guest.Instance values. An instance is stopped at its deadline or when its caller's
// context ends: a metered one at its next fuel check (hostFuel), a guarded one by
// wazero's close-on-context-done, a sleeping one at once (guest.Sleeper), a host function
// at its next call (stopIfDone); the host's watchdog (guest.Watch) closes the call's
// context at the deadline without a goroutine per call.
//
// The package never imports host: the instances read their plugin through guest.Plugin
// and serve onex.call through guest.Capabilities.
//
// # Concurrency
//
// Code is safe for concurrent use once built. An Instance belongs to one goroutine at a
// time; a second goroutine calling it panics with guest.ErrConcurrentUse.
//
// # Errors
//
// Check, NewInstance, ReadManifest, Invoke and Compensate return *guest.Failure values
// (the host turns them into *host.PluginError). After a failed call Faulted says whether
// the instance must be discarded: a trap, a stopped call, a bad pointer from the guest.
package native
