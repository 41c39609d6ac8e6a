package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/onexhost/onex-host/abi"
)

// null is what an empty input decodes as, per the ABI (a data length of 0 means null).
var null = []byte("null")

// Compute registers a typed computation. The input data (one JSON value) is decoded into
// a fresh In with encoding/json — empty data decodes as null, which leaves In at its zero
// value — and fn's Out is encoded with encoding/json (HTML characters are not escaped) as
// the result. c names the computation and documents it: its Name, Description and
// schemas become an entry of the manifest's Computations.
//
// Outcomes the host sees:
//   - input that does not decode into In: abi.StatusInvalidInput, with a message naming
//     the computation and the Go type;
//   - fn returns an error: abi.StatusError with the error's code (see NewError and
//     Retryable; any other error gets code "error");
//   - fn panics: the panic is recovered and reported as abi.StatusPanic;
//   - Out cannot be encoded (a NaN or an infinite float, a channel, ...): abi.StatusError
//     with code "invalid_output".
//
// fn may keep its In value, which is its own copy. The context is context.Background()
// in ABI v1: the host enforces deadlines by stopping the guest from outside, so fn need
// not watch it.
//
// Call Compute from an init function. It panics on a programmer error: a name that
// abi.ValidName rejects, a name registered before, a nil fn, or a plugin that is already
// an effect node (see Effect).
func Compute[In, Out any](c abi.Computation, fn func(ctx context.Context, in In) (Out, error)) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: Compute %q: nil function", c.Name))
	}
	std.register(abi.KindCompute, "Compute", c, wrapTyped(abi.KindCompute, c.Name, fn))
}

// wrapTyped turns a typed handler of a computation or an effect called name into a
// handler: decode the input, run fn, encode its result or its error.
func wrapTyped[In, Out any](k abi.Kind, name string, fn func(ctx context.Context, in In) (Out, error)) handler {
	inType := reflect.TypeFor[In]().String()
	return func(ctx context.Context, data []byte, e *encoder) (abi.Status, []byte) {
		if len(data) == 0 {
			data = null
		}
		var in In
		// json.Unmarshal copies what it keeps, so in never aliases the host's buffer.
		if err := json.Unmarshal(data, &in); err != nil {
			return e.failure(abi.StatusInvalidInput, abi.Error{
				Code:    abi.StatusInvalidInput.String(),
				Message: fmt.Sprintf("sdk: %s %q: decode input as %s: %v", noun(k), name, inType, err),
			})
		}
		out, err := fn(ctx, in)
		if err != nil {
			return e.failure(abi.StatusError, errorPayload(err))
		}
		b, err := e.encode(out)
		if err != nil {
			return e.failure(abi.StatusError, abi.Error{
				Code:    "invalid_output",
				Message: fmt.Sprintf("sdk: %s %q: encode result: %v", noun(k), name, err),
			})
		}
		return abi.StatusOK, b
	}
}

// wrapRaw turns a raw handler into a handler: fn's result is the output as it is.
func wrapRaw(fn func(ctx context.Context, data []byte) ([]byte, error)) handler {
	return func(ctx context.Context, data []byte, e *encoder) (abi.Status, []byte) {
		out, err := fn(ctx, data)
		if err != nil {
			return e.failure(abi.StatusError, errorPayload(err))
		}
		return abi.StatusOK, out
	}
}

// ComputeRaw registers a computation that works on the JSON bytes directly, for handlers
// that pass data through or parse it their own way. fn receives the input data exactly as
// the host sent it (one JSON value; empty means null) and returns the result, which must
// be one valid JSON value: the SDK does not check it, the host does, and fails the call
// otherwise. An empty or nil result means null.
//
// data is a view into a buffer the host owns and overwrites on the next call: fn must not
// keep data, or any slice of it, after returning (copy what it needs). fn may return data
// itself or a slice of it; the SDK copies such a result before the return area is
// written over the input. Errors and panics are reported as for Compute.
//
// Call ComputeRaw from an init function. It panics on a programmer error, as Compute
// does.
func ComputeRaw(c abi.Computation, fn func(ctx context.Context, data []byte) ([]byte, error)) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: ComputeRaw %q: nil function", c.Name))
	}
	std.register(abi.KindCompute, "ComputeRaw", c, wrapRaw(fn))
}
