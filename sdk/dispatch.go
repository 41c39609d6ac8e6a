package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"reflect"
	"runtime"
	"strings"

	"github.com/onexhost/onex-host/abi"
)

// Dispatch runs the computation called name on data, exactly as the onex_compute export
// does, and returns the status and the output: the result JSON on abi.StatusOK, an
// abi.Error payload (JSON) otherwise. An empty name means abi.DefaultComputation. An
// unknown name gives abi.StatusUnknownComputation with a message listing the registered
// names, and a plugin that is an effect node gives abi.StatusUnsupported (use
// DispatchEffect).
//
// Dispatch exists so plugin authors can unit-test their handlers natively (plain
// go test, -race included), with no Wasm runtime: registrations made in init are in
// place in the test binary. It recovers handler panics like the export does.
//
// The returned slice belongs to the caller, except that a raw handler's result may be
// data itself. Once registration is over (after init), Dispatch is safe for concurrent
// use by multiple goroutines, as far as the handlers themselves are.
func Dispatch(ctx context.Context, name string, data []byte) (abi.Status, []byte) {
	return std.dispatch(ctx, abi.ExportCompute, []byte(name), data, newEncoder())
}

// DispatchEffect runs the effect of type effectType on data, exactly as the onex_effect
// export does, with the results and guarantees of Dispatch: an empty effectType means
// abi.DefaultEffect, an unknown one gives abi.StatusUnknownComputation, and a plugin that
// is a compute node gives abi.StatusUnsupported.
//
// There is no transaction natively: the handler's capability calls (FS, KV, HTTP,
// Events, Compensate) go to the Host installed with SetHost, which by default answers
// abi.StatusUnsupported to every one. Install a fake Host to test a handler's calls and
// its reaction to their failures.
func DispatchEffect(ctx context.Context, effectType string, data []byte) (abi.Status, []byte) {
	return std.dispatch(ctx, abi.ExportEffect, []byte(effectType), data, newEncoder())
}

// DispatchCompensate runs the compensation called name with payload, exactly as the
// onex_compensate export does during a rollback: abi.StatusOK with an empty output when
// it succeeded, abi.StatusError or abi.StatusPanic with an error payload when it failed,
// and abi.StatusUnknownComputation when no Compensation has that name. It is safe for
// concurrent use as Dispatch is.
func DispatchCompensate(ctx context.Context, name string, payload []byte) (abi.Status, []byte) {
	return std.dispatch(ctx, abi.ExportCompensate, []byte(name), payload, newEncoder())
}

// dispatch looks name up among what export runs (computations for onex_compute, effects
// for onex_effect, compensations for onex_compensate) and runs it with e as its output
// buffer. The output is a view of e's buffer or a raw handler's own slice.
func (r *registry) dispatch(ctx context.Context, export string, name, data []byte, e *encoder) (abi.Status, []byte) {
	if export == abi.ExportCompensate {
		h, ok := r.compensations[string(name)] // this conversion does not allocate
		if !ok {
			return e.failure(abi.StatusUnknownComputation, abi.Error{
				Code: abi.StatusUnknownComputation.String(),
				Message: fmt.Sprintf("sdk: unknown compensation %q; this plugin registers: %s",
					name, list(r.compensationNames)),
			})
		}
		return call(ctx, h, data, e)
	}
	want, def := abi.KindCompute, abi.DefaultComputation
	switch export {
	case abi.ExportEffect:
		want, def = abi.KindEffect, abi.DefaultEffect
	case abi.ExportReduce:
		want, def = abi.KindReducer, ""
	case abi.ExportOrchestrate:
		want, def = abi.KindOrchestrator, ""
	}
	if k := r.effectiveKind(); k != want {
		return e.failure(abi.StatusUnsupported, abi.Error{
			Code:    abi.StatusUnsupported.String(),
			Message: fmt.Sprintf("sdk: this plugin is %s: it runs through %s, not %s", kindPhrase(k), exportOf(k), export),
		})
	}
	if len(name) == 0 && def != "" {
		name = []byte(def)
	}
	h, ok := r.handlers[string(name)]
	if !ok {
		return e.failure(abi.StatusUnknownComputation, abi.Error{
			Code: abi.StatusUnknownComputation.String(),
			Message: fmt.Sprintf("sdk: unknown %s %q; this plugin offers: %s",
				noun(want), name, list(r.names())),
		})
	}
	return call(ctx, h, data, e)
}

// exportOf names the entry export that runs a node of kind k.
func exportOf(k abi.Kind) string {
	switch k {
	case abi.KindEffect:
		return abi.ExportEffect
	case abi.KindReducer:
		return abi.ExportReduce
	case abi.KindOrchestrator:
		return abi.ExportOrchestrate
	}
	return abi.ExportCompute
}

// list joins names for a message.
func list(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
}

// call runs h and turns a panic into abi.StatusPanic.
func call(ctx context.Context, h handler, data []byte, e *encoder) (status abi.Status, out []byte) {
	defer func() {
		if v := recover(); v != nil {
			status, out = e.failure(abi.StatusPanic, abi.Error{
				Code:    abi.StatusPanic.String(),
				Message: panicMessage(v),
			})
		}
	}()
	return h(ctx, data, e)
}

// maxPanicFrames bounds the stack excerpt in a panic message: enough to find the line,
// short enough for a log line.
const maxPanicFrames = 5

// wrapperPrefix starts the names of the SDK functions that call a handler (the closures
// of wrapTyped, wrapRaw and wrapCompensation, then call): the excerpt stops there, as
// they say nothing about the bug.
var wrapperPrefix = reflect.TypeFor[encoder]().PkgPath() + ".wrap"

// panicMessage renders "panic: <value>" and the innermost frames of the panicking
// goroutine, up to the handler's caller. It must be called from the deferred function
// that recovered, while the panicking frames are still on the stack.
func panicMessage(v any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "panic: %v", v)
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
	pastPanic := false
	for n := 0; n < maxPanicFrames; {
		f, more := frames.Next()
		switch {
		case f.Function == "runtime.gopanic":
			pastPanic = true
		case !pastPanic || strings.HasPrefix(f.Function, "runtime."):
		case strings.HasPrefix(f.Function, wrapperPrefix):
			return b.String()
		default:
			fmt.Fprintf(&b, "\n  %s (%s:%d)", f.Function, path.Base(f.File), f.Line)
			n++
		}
		if !more {
			break
		}
	}
	return b.String()
}

// maxRetained is the largest buffer an encoder keeps between calls; a larger one (after a
// big result) is dropped so one outlier does not pin its memory for the instance's life.
const maxRetained = 1 << 20

// encoder encodes results and error payloads into one reused buffer. It is not safe for
// concurrent use: the guest has one, and Dispatch makes one per call.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func newEncoder() *encoder {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// encode marshals v and returns a view of the buffer, valid until the next encode.
func (e *encoder) encode(v any) ([]byte, error) {
	if e.buf.Cap() > maxRetained {
		e.buf = bytes.Buffer{} // e.enc holds &e.buf, which stays valid
	}
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	b := e.buf.Bytes()
	return b[:len(b)-1], nil // Encode appends a newline
}

// failure encodes an error payload and returns it with status.
func (e *encoder) failure(status abi.Status, p abi.Error) (abi.Status, []byte) {
	b, err := e.encode(p)
	if err != nil { // cannot happen: strings and a bool; keep a payload anyway
		return status, nil
	}
	return status, b
}
