package sdk

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/onexhost/onex-host/abi"
)

// null is what an empty input decodes as, per the ABI (a data length of 0 means null).
var null = []byte("null")

// Compute registers a typed computation. The input data (one JSON value) is decoded into
// a fresh In with encoding/json — empty data decodes as null, which leaves In at its zero
// value. An object field that In's structs do not have is an error (a misspelled field
// must not silently become a zero value); pass AllowUnknownFields to ignore such fields
// instead. fn's Out is encoded with encoding/json (HTML characters are not escaped) as
// the result. c names the computation and documents it: its Name, Description and
// schemas become an entry of the manifest's Computations. An empty InputSchema or
// OutputSchema is derived from In or Out (see SchemaOf), and the host checks each input
// against the InputSchema before the guest sees it; set InputSchema to {} to accept
// any JSON value.
//
// Outcomes the host sees:
//   - input that does not decode into In, or has an unknown field: abi.StatusInvalidInput,
//     with a message naming the computation, the Go type and the field;
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
func Compute[In, Out any](c abi.Computation, fn func(ctx context.Context, in In) (Out, error), opts ...Option) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: Compute %q: nil function", c.Name))
	}
	std.register(abi.KindCompute, "Compute", c, wrapTyped(abi.KindCompute, c.Name, fn, opts))
	std.deriveLater(c.Name, reflect.TypeFor[In](), reflect.TypeFor[Out](), opts)
}

// Option changes how Compute or Effect treats one registration.
type Option struct {
	allowUnknownFields bool
}

// AllowUnknownFields makes a typed computation or effect ignore object fields its input
// type does not have, as encoding/json does by default; without it they are an error.
func AllowUnknownFields() Option { return Option{allowUnknownFields: true} }

// wrapTyped turns a typed handler of a computation or an effect called name into a
// handler: decode the input, run fn, encode its result or its error.
func wrapTyped[In, Out any](k abi.Kind, name string, fn func(ctx context.Context, in In) (Out, error), opts []Option) handler {
	t := reflect.TypeFor[In]()
	inType := t.String()
	strict := holdsStruct(t, map[reflect.Type]bool{})
	for _, o := range opts {
		if o.allowUnknownFields {
			strict = false
		}
	}
	return func(ctx context.Context, data []byte, e *encoder) (abi.Status, []byte) {
		if len(data) == 0 {
			data = null
		}
		var in In
		if err := decodeInput(data, &in, strict); err != nil {
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

// decodeInput decodes data into in. Both ways copy what they keep, so in never aliases
// the host's buffer. Unknown fields can only be told apart by a json.Decoder, which
// copies all of data into a buffer of its own first; so only an In that can hold a
// struct (strict) pays for that copy, and an input a string or a slice of numbers takes
// (the largest inputs) is decoded in place by json.Unmarshal.
func decodeInput(data []byte, in any, strict bool) error {
	if !strict {
		return json.Unmarshal(data, in)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// holdsStruct reports whether a value of type t can contain a struct that encoding/json
// fills field by field (one that does not decode itself), so that an unknown field can
// arise.
func holdsStruct(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Struct:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return holdsStruct(t.Elem(), seen)
	}
	return false
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

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
