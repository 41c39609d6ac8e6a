// Package compute runs compute nodes: plugins whose manifest kind is "compute", pure
// functions of their input, wrapped in ONEX's compute envelope (abi.ComputeInput and
// abi.ComputeOutput).
//
// New wraps a *host.Plugin loaded by a host.Host. Node.Process runs one input: it
// assigns an operation id when there is none, checks that the data and the result are
// JSON, converts them for the guest by the computation's host.Entry encodings, serves
// deterministic computations from the host's cache levels (one guest call for concurrent
// callers of the same input), and keeps per-computation metrics. Node.ProcessBatch fans a
// batch out over the plugin's instances; Node.Invalidate drops a cached result.
//
// Concurrency: a Node is safe for concurrent use by multiple goroutines; every call
// checks out an instance of its own from the plugin's pool, and blocks (honouring its
// context) while none is free.
//
// Defaults: an empty OperationID gets a fresh UUID, an empty ComputationType means
// abi.DefaultComputation, BatchOptions' zero value runs as many workers as the plugin
// has instances and never fails the batch for one item.
//
// Errors are *host.PluginError values matching the sentinels of package host
// (host.ErrInvalidInput, host.ErrInvalidOutput, host.ErrTimeout, host.ErrCanceled, …)
// with errors.Is; New fails with host.ErrUnsupported for a plugin of another kind.
package compute
