package sdk

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/onexhost/onex-host/abi"
)

// std is the plugin's one registry, filled by Describe, Compute, ComputeRaw, Effect,
// EffectRaw and Compensation from init functions and read by the exports. It is
// package-level state on purpose: a plugin is a whole Wasm instance, and the host-facing
// exports are plain functions with nowhere else to find it (see the package
// documentation). Tests swap it out; see registry_test.go.
var std = newRegistry()

// handler runs one registered computation, effect or compensation. It writes any output
// it encodes into e and returns a view of e's buffer, or (for raw handlers) a slice of its
// own.
type handler func(ctx context.Context, data []byte, e *encoder) (abi.Status, []byte)

// registry holds what a plugin declares at init. It is not safe for concurrent
// registration; once init is over it is only read, and reads may be concurrent.
type registry struct {
	described bool
	manifest  abi.Manifest // as given to Describe, with Computations and Effects empty
	// kind is fixed by Describe (when its Kind is set) or by the first registration, and
	// kindBy names what fixed it, for the panic that refuses the other kind.
	kind     abi.Kind
	kindBy   string
	offers   []abi.Computation // computations or effects, per kind, in registration order
	handlers map[string]handler
	// compensations are the guest-defined compensations (Compensation), run by
	// onex_compensate; compensationNames lists them in registration order.
	compensations     map[string]handler
	compensationNames []string
	// deriving guards typed and the schemas of offers, which assembled fills once.
	deriving sync.Mutex
	// typed holds, by name, the Go types the missing schemas of a typed registration are
	// derived from. They are derived when the manifest is first assembled, which the host
	// asks for once per load, rather than at init, which runs in every instance.
	typed map[string]typedSchemas
}

// typedSchemas are the types a typed registration's schemas come from (see SchemaOf);
// closed refuses unknown input fields (no AllowUnknownFields).
type typedSchemas struct {
	in, out reflect.Type
	closed  bool
}

func newRegistry() *registry {
	return &registry{handlers: make(map[string]handler), compensations: make(map[string]handler),
		typed: make(map[string]typedSchemas)}
}

func (r *registry) describe(m abi.Manifest) {
	if r.described {
		panic("sdk: Describe called twice")
	}
	if len(m.Computations) > 0 || len(m.Effects) > 0 {
		panic("sdk: Describe: leave Manifest.Computations and Manifest.Effects empty; the registrations fill them")
	}
	if m.Kind != "" {
		r.fixKind(m.Kind, "Describe")
	}
	m.Capabilities = slices.Clone(m.Capabilities)
	m.Publishes = slices.Clone(m.Publishes)
	r.manifest = m
	r.described = true
}

// fixKind records that by needs the plugin to be of kind k, and panics when something
// earlier made it the other kind: a plugin is a compute node or an effect node.
func (r *registry) fixKind(k abi.Kind, by string) {
	switch r.kind {
	case "":
		r.kind, r.kindBy = k, by
	case k:
	default:
		panic(fmt.Sprintf("sdk: %s: this plugin is already %s (made one by %s); "+
			"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two", by, kindPhrase(r.kind), r.kindBy))
	}
}

// kindPhrase names a node kind with its article, for messages.
func kindPhrase(k abi.Kind) string {
	switch k {
	case abi.KindCompute:
		return "a compute node"
	case abi.KindEffect:
		return "an effect node"
	case abi.KindReducer:
		return "a reducer node"
	case abi.KindOrchestrator:
		return "an orchestrator node"
	}
	return fmt.Sprintf("a %q node", k)
}

// effectiveKind is the kind the manifest declares: compute unless Describe or a
// registration said otherwise.
func (r *registry) effectiveKind() abi.Kind {
	if r.kind == "" {
		return abi.KindCompute
	}
	return r.kind
}

// noun names what a node of kind k offers, for messages.
func noun(k abi.Kind) string {
	switch k {
	case abi.KindEffect:
		return "effect"
	case abi.KindReducer:
		return "reduction"
	case abi.KindOrchestrator:
		return "workflow"
	}
	return "computation"
}

// register adds a computation (k is abi.KindCompute) or an effect (abi.KindEffect); fn
// names the registering function for panic messages.
func (r *registry) register(k abi.Kind, fn string, c abi.Computation, run handler) {
	if !abi.ValidName(c.Name) {
		panic(fmt.Sprintf("sdk: %s name %q must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit", noun(k), c.Name))
	}
	r.fixKind(k, fmt.Sprintf("%s %q", fn, c.Name))
	if _, dup := r.handlers[c.Name]; dup {
		panic(fmt.Sprintf("sdk: %s %q registered twice", noun(k), c.Name))
	}
	r.offers = append(r.offers, cloneComputation(c))
	r.handlers[c.Name] = run
}

// registerCompensation adds a guest-defined compensation. Only effect nodes have
// transactions, so it makes the plugin one.
func (r *registry) registerCompensation(name string, run handler) {
	if !abi.ValidName(name) {
		panic(fmt.Sprintf("sdk: compensation name %q must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit", name))
	}
	r.fixKind(abi.KindEffect, fmt.Sprintf("Compensation %q", name))
	if _, dup := r.compensations[name]; dup {
		panic(fmt.Sprintf("sdk: compensation %q registered twice", name))
	}
	r.compensations[name] = run
	r.compensationNames = append(r.compensationNames, name)
}

// deriveLater records the types of registration name's input and output, from which
// assembled derives the schemas the registration left empty.
func (r *registry) deriveLater(name string, in, out reflect.Type, opts []Option) {
	closed := true
	for _, o := range opts {
		if o.allowUnknownFields {
			closed = false
		}
	}
	r.typed[name] = typedSchemas{in: in, out: out, closed: closed}
}

// deriveSchemas fills the empty schemas of the typed registrations, once: a schema the
// author wrote is kept as it is.
func (r *registry) deriveSchemas() {
	for i := range r.offers {
		c := &r.offers[i]
		t, ok := r.typed[c.Name]
		if !ok {
			continue
		}
		delete(r.typed, c.Name)
		if len(c.InputSchema) == 0 {
			c.InputSchema = deriveSchema(t.in, t.closed, true)
		}
		if len(c.OutputSchema) == 0 {
			c.OutputSchema = deriveSchema(t.out, false, false)
		}
	}
}

// assembled returns the manifest with its kind and its computations or effects filled
// in. The result shares nothing with the registry.
func (r *registry) assembled() abi.Manifest {
	r.deriving.Lock()
	defer r.deriving.Unlock()
	r.deriveSchemas()
	m := r.manifest
	m.Kind = r.effectiveKind()
	m.Capabilities = slices.Clone(m.Capabilities)
	m.Publishes = slices.Clone(m.Publishes)
	m.Config = slices.Clone(m.Config)
	var offers []abi.Computation
	for _, c := range r.offers {
		offers = append(offers, cloneComputation(c))
	}
	if m.Kind == abi.KindEffect {
		m.Computations, m.Effects = nil, offers
	} else {
		m.Computations, m.Effects = offers, nil
	}
	return m
}

// names lists the registered computation or effect names in registration order.
func (r *registry) names() []string {
	out := make([]string, len(r.offers))
	for i, c := range r.offers {
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
// function. Leave Computations and Effects empty: each registration (Compute, ComputeRaw,
// Effect, EffectRaw) appends one entry, in the order they run, so the manifest the host
// reads always matches the handlers.
//
// Kind says whether the plugin is a compute node or an effect node; an empty Kind lets
// the registrations decide (abi.KindEffect once Effect, EffectRaw or Compensation runs,
// abi.KindCompute otherwise).
//
// Describe does not validate the manifest; the onex_manifest export does (via
// abi.Manifest.Validate) and reports a broken one to the host, which then refuses to
// load the plugin. Check it in a unit test: `m := Manifest(); err := m.Validate()`.
//
// Describe panics, as programmer errors meant to fail at init, when called twice, with
// Computations or Effects set, or with a Kind that disagrees with a registration made
// before it.
func Describe(m abi.Manifest) { std.describe(m) }

// Manifest returns the manifest as assembled so far: Describe's metadata, the kind, and
// one computation (for a compute node) or effect (for an effect node) per registration,
// in registration order. It is meant for tests; the result is a deep copy and is not
// validated. Before Describe it holds only the kind and the registrations.
func Manifest() abi.Manifest { return std.assembled() }
