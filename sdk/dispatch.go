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
// names.
//
// Dispatch exists so plugin authors can unit-test their handlers natively (plain
// go test, -race included), with no Wasm runtime: registrations made in init are in
// place in the test binary. It recovers handler panics like the export does.
//
// The returned slice belongs to the caller, except that a raw handler's result may be
// data itself. Once registration is over (after init), Dispatch is safe for concurrent
// use by multiple goroutines, as far as the handlers themselves are.
func Dispatch(ctx context.Context, name string, data []byte) (abi.Status, []byte) {
	return std.dispatch(ctx, []byte(name), data, newEncoder())
}

// dispatch looks name up and runs it with e as its output buffer. The output is a view of
// e's buffer or a raw handler's own slice.
func (r *registry) dispatch(ctx context.Context, name, data []byte, e *encoder) (abi.Status, []byte) {
	if len(name) == 0 {
		name = []byte(abi.DefaultComputation)
	}
	h, ok := r.handlers[string(name)] // this conversion does not allocate
	if !ok {
		return e.failure(abi.StatusUnknownComputation, abi.Error{
			Code: abi.StatusUnknownComputation.String(),
			Message: fmt.Sprintf("sdk: unknown computation %q; this plugin offers: %s",
				name, strings.Join(r.names(), ", ")),
		})
	}
	return call(ctx, h, data, e)
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

// wrapperPrefix starts the names of the SDK functions that call a handler (Compute's and
// ComputeRaw's closures, then call): the excerpt stops there, as they say nothing about
// the bug.
var wrapperPrefix = reflect.TypeFor[encoder]().PkgPath() + ".Compute"

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
