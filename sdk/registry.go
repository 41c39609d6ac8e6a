package sdk

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/onexhost/onex-host/abi"
)

// std is the plugin's one registry, filled by Describe, Compute and ComputeRaw from init
// functions and read by the exports. It is package-level state on purpose: a plugin is a
// whole Wasm instance, and the host-facing exports are plain functions with nowhere else
// to find it (see the package documentation). Tests swap it out; see registry_test.go.
var std = newRegistry()

// handler runs one registered computation. It writes any output it encodes into e and
// returns a view of e's buffer, or (for raw handlers) a slice of its own.
type handler func(ctx context.Context, data []byte, e *encoder) (abi.Status, []byte)

// registry holds what a plugin declares at init. It is not safe for concurrent
// registration; once init is over it is only read, and reads may be concurrent.
type registry struct {
	described    bool
	manifest     abi.Manifest      // as given to Describe, with Computations empty
	computations []abi.Computation // in registration order
	handlers     map[string]handler
}

func newRegistry() *registry {
	return &registry{handlers: make(map[string]handler)}
}

func (r *registry) describe(m abi.Manifest) {
	if r.described {
		panic("sdk: Describe called twice")
	}
	if len(m.Computations) > 0 {
		panic("sdk: Describe: leave Manifest.Computations empty; Compute and ComputeRaw fill it")
	}
	if m.Kind == "" {
		m.Kind = abi.KindCompute
	}
	m.Capabilities = slices.Clone(m.Capabilities)
	m.Publishes = slices.Clone(m.Publishes)
	r.manifest = m
	r.described = true
}

func (r *registry) register(c abi.Computation, run handler) {
	if !abi.ValidName(c.Name) {
		panic(fmt.Sprintf("sdk: computation name %q must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit", c.Name))
	}
	if _, dup := r.handlers[c.Name]; dup {
		panic(fmt.Sprintf("sdk: computation %q registered twice", c.Name))
	}
	r.computations = append(r.computations, cloneComputation(c))
	r.handlers[c.Name] = run
}

// assembled returns the manifest with its computations filled in. The result shares
// nothing with the registry.
func (r *registry) assembled() abi.Manifest {
	m := r.manifest
	m.Capabilities = slices.Clone(m.Capabilities)
	m.Publishes = slices.Clone(m.Publishes)
	m.Computations = nil
	for _, c := range r.computations {
		m.Computations = append(m.Computations, cloneComputation(c))
	}
	return m
}

// names lists the registered computation names in registration order.
func (r *registry) names() []string {
	out := make([]string, len(r.computations))
	for i, c := range r.computations {
		out[i] = c.Name
	}
	return out
}

func cloneComputation(c abi.Computation) abi.Computation {
	c.InputSchema = bytes.Clone(c.InputSchema)
	c.OutputSchema = bytes.Clone(c.OutputSchema)
	return c
}

// Describe sets the node's metadata: name, version, kind, description, determinism,
// idempotence, timeout, capabilities and topics. Call it exactly once, from an init
// function. Leave Computations empty: Compute and ComputeRaw append one entry each, in
// the order they run, so the manifest the host reads always matches the handlers.
// An empty Kind means abi.KindCompute, the only kind ABI v1 runs.
//
// Describe does not validate the manifest; the onex_manifest export does (via
// abi.Manifest.Validate) and reports a broken one to the host, which then refuses to
// load the plugin. Check it in a unit test with Manifest().Validate().
//
// Describe panics when called twice or with Computations set: both are programmer errors
// meant to fail at init.
func Describe(m abi.Manifest) { std.describe(m) }

// Manifest returns the manifest as assembled so far: Describe's metadata plus one
// computation per registration, in registration order. It is meant for tests; the result
// is a deep copy and is not validated. Before Describe it holds only the computations.
func Manifest() abi.Manifest { return std.assembled() }
