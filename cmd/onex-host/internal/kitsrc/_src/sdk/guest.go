package sdk

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/onexhost/onex-host/abi"
)

// minBuffer is the smallest input buffer: the return area is written over it.
const minBuffer = abi.ReturnAreaSize

// guest is the state behind the exports: the host's input buffer and the last output,
// both kept referenced so the garbage collector never frees memory the host still reads
// or writes. Its methods work on addresses so they can be tested natively; the wasip1
// exports only convert between uint32 and uintptr. Not safe for concurrent use: the
// guest is single-threaded and the host calls one export at a time.
type guest struct {
	reg *registry
	in  []byte   // the buffer onex_alloc hands out; used for nothing else
	enc *encoder // results and error payloads
	out []byte   // the last output, kept until the next call
	// spill holds a raw result that aliases in, which the return area would overwrite.
	spill []byte
}

func newGuest(reg *registry) *guest {
	return &guest{reg: reg, enc: newEncoder()}
}

// alloc implements onex_alloc: it returns the address of the input buffer, grown to at
// least size bytes (and at least minBuffer). The buffer is reused across calls and only
// ever replaced by a larger one.
func (g *guest) alloc(size uint32) uintptr {
	need := max(int(size), minBuffer)
	if len(g.in) < need {
		g.in = make([]byte, max(need, 2*len(g.in)))
	}
	return addr(g.in)
}

// window returns n bytes of the input buffer starting at address p. A range outside the
// buffer means the host broke the ABI (it must write into what onex_alloc returned); the
// instance cannot be trusted after that, so window panics, which traps the guest and
// makes the host discard it.
func (g *guest) window(export string, p uintptr, n uint64) []byte {
	base := addr(g.in)
	if g.in == nil || p < base || uint64(p-base)+n > uint64(len(g.in)) {
		panic(fmt.Sprintf("sdk: %s: %d bytes at 0x%x lie outside the %d-byte buffer onex_alloc returned (ABI violation by the host)",
			export, n, p, len(g.in)))
	}
	off := uint64(p - base)
	return g.in[off : off+n : off+n]
}

// entry implements onex_compute, onex_effect and onex_compensate, named by export: it
// dispatches the name and data the host wrote at p and writes the output location into
// the return area at p.
func (g *guest) entry(ctx context.Context, export string, p uintptr, nameLen, dataLen uint32) abi.Status {
	n := uint64(nameLen) + uint64(dataLen)
	buf := g.window(export, p, max(n, minBuffer))
	// The name and data are used in place: no copy. Typed handlers decode (copying) and
	// raw handlers are told not to keep data.
	status, out := g.reg.dispatch(ctx, export, buf[:nameLen], buf[nameLen:n], g.enc)
	g.finish(buf[:abi.ReturnAreaSize], out)
	return status
}

// manifest implements onex_manifest: it writes the manifest JSON as output through the
// return area at ret.
func (g *guest) manifest(ret uintptr) abi.Status {
	area := g.window(abi.ExportManifest, ret, abi.ReturnAreaSize)
	status, out := g.reg.manifestJSON(g.enc)
	g.finish(area, out)
	return status
}

// finish keeps out referenced until the next call and writes its location to area.
func (g *guest) finish(area, out []byte) {
	if overlaps(out, g.in) {
		if cap(g.spill) > maxRetained {
			g.spill = nil
		}
		g.spill = append(g.spill[:0], out...)
		out = g.spill
	}
	g.out = out
	if len(out) == 0 {
		abi.PutReturnArea(area, 0, 0)
		return
	}
	// Guest addresses fit in 32 bits: Wasm memory is at most 4 GiB.
	abi.PutReturnArea(area, uint32(addr(out)), uint32(len(out)))
}

// manifestJSON encodes the validated manifest, or the error that keeps it from loading.
func (r *registry) manifestJSON(e *encoder) (abi.Status, []byte) {
	if !r.described {
		return e.failure(abi.StatusError, abi.Error{Code: "no_manifest", Message: "sdk: Describe was not called in init"})
	}
	m := r.assembled()
	if err := m.Validate(); err != nil {
		return e.failure(abi.StatusError, abi.Error{Code: "invalid_manifest", Message: "sdk: " + err.Error()})
	}
	b, err := e.encode(m)
	if err != nil {
		return e.failure(abi.StatusInternal, abi.Error{Code: "internal", Message: "sdk: encode manifest: " + err.Error()})
	}
	if len(b) > abi.MaxManifestSize {
		return e.failure(abi.StatusTooLarge, abi.Error{
			Code:    abi.StatusTooLarge.String(),
			Message: fmt.Sprintf("sdk: manifest is %d bytes, over the %d-byte limit", len(b), abi.MaxManifestSize),
		})
	}
	return abi.StatusOK, b
}

// addr returns the address of b's first element (0 for an empty slice with no array).
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// overlaps reports whether a and b share any byte.
func overlaps(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	a0, b0 := addr(a), addr(b)
	return a0 < b0+uintptr(len(b)) && b0 < a0+uintptr(len(a))
}
