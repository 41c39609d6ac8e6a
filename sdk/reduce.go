package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/onexhost/onex-host/abi"
)

// Event is what a reduction receives besides the state: one event for one key, with its
// data decoded into E.
type Event[E any] struct {
	ID       string // the event's id (event_id), unique per key; the host applies it once
	Type     string // the event's type, for example an FSM trigger
	Key      string // the key whose state is being folded
	Sequence uint64 // the sequence number the event gets if the reduction succeeds (1 first)
	Data     E      // the event's data; its zero value when the event has none (null)
}

// Intent is an effect a reduction asks the host to carry out once the new state is
// stored: effect node Node runs its effect EffectType on OperationData, which is encoded
// with encoding/json (nil means none). See abi.Intent and abi/SPEC.md section 9.
type Intent struct {
	Node          string `json:"node"`
	EffectType    string `json:"effect_type"`
	OperationData any    `json:"operation_data,omitempty"`
}

// reduceOutput is abi.ReduceOutput with the state and intents still Go values.
type reduceOutput struct {
	State   any      `json:"state"`
	Intents []Intent `json:"intents,omitempty"`
}

// Reducer registers a typed reduction of a reducer node (abi/SPEC.md section 9): a pure
// fold of one event into one key's state. The host owns the state: it sends the key's
// current state with each event (through onex_reduce), stores the state fn returns, and
// carries out the intents fn returns through the effect nodes they name.
//
// The state is decoded into a fresh S and the event data into a fresh E, both with
// encoding/json as Compute decodes its input: unknown object fields are errors unless
// AllowUnknownFields is passed, and null (a new key's state, an event with no data)
// leaves the zero value. The returned S is encoded with encoding/json as the new state.
// r names the reduction and documents it: its InputSchema documents the event data and
// its OutputSchema the state; when empty they are derived from E and S (see SchemaOf),
// and the host checks each event's data against the InputSchema.
//
// Outcomes the host sees:
//   - a ReduceInput that is not valid (see abi.DecodeReduceInput), or a state or event
//     data that does not decode: abi.StatusInvalidInput;
//   - fn returns an error: abi.StatusError with the error's code (see NewError) — the
//     host keeps the key's state as it was and reports the event;
//   - fn panics: abi.StatusPanic, likewise;
//   - the new state or an intent's data cannot be encoded, or an intent has a Node that
//     abi.ValidName rejects or an empty EffectType: abi.StatusError with code
//     "invalid_output".
//
// fn must be deterministic and do no I/O: a reducer node gets no capabilities. It may
// keep its S and E values, which are its own copies.
//
// A plugin is one kind of node (compute, effect, reducer or orchestrator), never two: the first Reducer makes
// it a reducer node when Describe left Kind empty. Call Reducer from an init function. It
// panics on a programmer error: a name that abi.ValidName rejects, a name registered
// before, a nil fn, or a plugin that is already a compute or an effect node.
func Reducer[S, E any](r abi.Computation, fn func(ctx context.Context, state S, ev Event[E]) (S, []Intent, error), opts ...Option) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: Reducer %q: nil function", r.Name))
	}
	std.register(abi.KindReducer, "Reducer", r, wrapReducer(r.Name, fn, opts))
	std.deriveLater(r.Name, reflect.TypeFor[E](), reflect.TypeFor[S](), opts)
}

// wrapReducer turns a typed reduction into a handler of ReduceInput bytes.
func wrapReducer[S, E any](name string, fn func(ctx context.Context, state S, ev Event[E]) (S, []Intent, error), opts []Option) handler {
	st, et := reflect.TypeFor[S](), reflect.TypeFor[E]()
	strictS, strictE := holdsStruct(st, map[reflect.Type]bool{}), holdsStruct(et, map[reflect.Type]bool{})
	for _, o := range opts {
		if o.allowUnknownFields {
			strictS, strictE = false, false
		}
	}
	invalid := func(e *encoder, format string, args ...any) (abi.Status, []byte) {
		return e.failure(abi.StatusInvalidInput, abi.Error{
			Code:    abi.StatusInvalidInput.String(),
			Message: fmt.Sprintf("sdk: reduction %q: ", name) + fmt.Sprintf(format, args...),
		})
	}
	badOutput := func(e *encoder, format string, args ...any) (abi.Status, []byte) {
		return e.failure(abi.StatusError, abi.Error{
			Code:    "invalid_output",
			Message: fmt.Sprintf("sdk: reduction %q: ", name) + fmt.Sprintf(format, args...),
		})
	}
	return func(ctx context.Context, data []byte, e *encoder) (abi.Status, []byte) {
		in, err := abi.DecodeReduceInput(data) // copies what it keeps
		if err != nil {
			return invalid(e, "%v", err)
		}
		if in.Reduction != name {
			return invalid(e, "the input names reduction %q", in.Reduction)
		}
		var state S
		if err := decodeInput(in.State, &state, strictS); err != nil {
			return invalid(e, "decode state as %s: %v", st, err)
		}
		ev := Event[E]{ID: in.Event.EventID, Type: in.Event.Type, Key: in.Key, Sequence: in.Sequence}
		evData := in.Event.Data
		if len(evData) == 0 {
			evData = null
		}
		if err := decodeInput(evData, &ev.Data, strictE); err != nil {
			return invalid(e, "decode event data as %s: %v", et, err)
		}
		next, intents, err := fn(ctx, state, ev)
		if err != nil {
			return e.failure(abi.StatusError, errorPayload(err))
		}
		for i, it := range intents {
			if !abi.ValidName(it.Node) || it.EffectType == "" {
				return badOutput(e, "intents[%d]: node %q must be a node name and effect_type %q not empty", i, it.Node, it.EffectType)
			}
		}
		b, err := e.encode(reduceOutput{State: next, Intents: intents})
		if err != nil {
			return badOutput(e, "encode the new state and intents: %v", err)
		}
		return abi.StatusOK, b
	}
}

// DispatchReduce runs the reduction called reduction on input (a ReduceInput JSON
// object), exactly as the onex_reduce export does, with the results and guarantees of
// Dispatch: abi.StatusOK and a ReduceOutput JSON object, or a status and an abi.Error
// payload. An unknown reduction gives abi.StatusUnknownComputation, and a plugin that is
// not a reducer node abi.StatusUnsupported. It is meant for native unit tests; Reduce
// is easier to use.
func DispatchReduce(ctx context.Context, reduction string, input []byte) (abi.Status, []byte) {
	return std.dispatch(ctx, abi.ExportReduce, []byte(reduction), input, newEncoder())
}

// Reduce runs a reduction natively through DispatchReduce, for unit tests: it encodes in
// (an empty in.Reduction means reduction; a nil in.State means null), and decodes the
// output with abi.DecodeReduceOutput. A failed reduction returns an *abi.Error (its Code
// says why: abi.StatusInvalidInput's name, "invalid_output", a NewError code, ...) and
// the status.
func Reduce(ctx context.Context, reduction string, in abi.ReduceInput) (abi.ReduceOutput, abi.Status, error) {
	if in.Reduction == "" {
		in.Reduction = reduction
	}
	if in.State == nil {
		in.State = null
	}
	b, err := json.Marshal(in)
	if err != nil {
		return abi.ReduceOutput{}, abi.StatusInvalidInput, fmt.Errorf("sdk: Reduce %q: encode input: %w", reduction, err)
	}
	status, out := DispatchReduce(ctx, reduction, b)
	if status != abi.StatusOK {
		e := abi.DecodeError(status, out)
		return abi.ReduceOutput{}, status, &e
	}
	o, err := abi.DecodeReduceOutput(out)
	if err != nil {
		return abi.ReduceOutput{}, status, fmt.Errorf("sdk: Reduce %q: %w", reduction, err)
	}
	return o, status, nil
}
