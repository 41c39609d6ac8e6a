package sdk

import (
	"context"
	"fmt"
	"reflect"

	"github.com/onexhost/onex-host/abi"
)

// Effect registers a typed effect: the handler of one effect type of an effect node
// (abi/SPEC.md section 8). It works exactly like Compute — the same decoding of the
// effect's operation data into In (unknown fields refused unless AllowUnknownFields is
// passed), the same encoding of Out as the result, the same
// outcomes for bad input, errors, panics and unencodable results, the same schemas
// derived from In and Out — but the host calls it
// through onex_effect, inside a transaction, and e becomes an entry of the manifest's
// Effects.
//
// fn does its I/O only through the host's capabilities: FS, KV, HTTP and Events, each
// needing its abi.Capability in the manifest and the operator's grant. Every mutating
// capability call is recorded in the attempt's transaction with what undoes it, so when
// fn returns an error (or panics, or the call times out) the host rolls the attempt
// back, newest operation first, and may retry it in a fresh transaction: return
// Retryable for failures worth retrying, and pass a *CapabilityError on as it is (or
// wrapped) to keep its code and retryable flag. Compensate adds undo steps of fn's own.
// Published events are delivered only when the attempt commits. fn must therefore be
// safe to run again from the start.
//
// A plugin is one kind of node: compute, effect, reducer or orchestrator. The first Effect (or EffectRaw, or
// Compensation) makes it an effect node when Describe left Kind empty.
//
// Call Effect from an init function. It panics on a programmer error: a name that
// abi.ValidName rejects, a name registered before, a nil fn, or a plugin that is already
// a compute node (by Describe's Kind or a Compute or ComputeRaw registration).
func Effect[In, Out any](e abi.Computation, fn func(ctx context.Context, in In) (Out, error), opts ...Option) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: Effect %q: nil function", e.Name))
	}
	std.register(abi.KindEffect, "Effect", e, wrapTyped(abi.KindEffect, e.Name, fn, opts))
	std.deriveLater(e.Name, reflect.TypeFor[In](), reflect.TypeFor[Out](), opts)
}

// EffectRaw registers an effect whose handler works on the JSON bytes directly, as
// ComputeRaw does for computations: data is the effect's operation data exactly as the
// host sent it (a view the handler must not keep), and the result must be one valid
// JSON value (empty means null). Everything else is as for Effect, panics included.
func EffectRaw(e abi.Computation, fn func(ctx context.Context, data []byte) ([]byte, error)) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: EffectRaw %q: nil function", e.Name))
	}
	std.register(abi.KindEffect, "EffectRaw", e, wrapRaw(fn))
}
