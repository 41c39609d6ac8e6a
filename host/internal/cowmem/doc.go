// Package cowmem backs Wasm linear memories with a copy-on-write mapping of one shared
// image, through wazero's experimental.MemoryAllocator: a new instance's memory starts as
// the image without a byte being copied, and each page is copied (by the kernel, 4 KiB at
// a time) only when the instance first writes it. Instances of one pre-initialized
// snapshot (host/internal/snapshot) share every page they only read.
//
// On Linux the image lives in a sealed memfd that each memory maps privately over the
// start of its own reservation of the memory's maximum size (address space only; pages
// past the image are anonymous and zero, made accessible as the memory grows). Elsewhere
// New returns ErrUnsupported and callers keep the image in the module's data segments.
//
// A mapping that fails at instantiation (the address space exhausted) does not fail the
// instance: that memory is an ordinary heap copy of the image instead.
package cowmem

import "errors"

// ErrUnsupported is returned by New where copy-on-write memories are not available (any
// system but Linux, or a kernel without memfd_create).
var ErrUnsupported = errors.New("cowmem: copy-on-write memories are not supported on this system")

// heap is the fallback linear memory: a Go slice starting as a copy of the image.
type heap struct {
	buf []byte
	max uint64
}

func newHeap(image []byte, max uint64) *heap {
	h := &heap{max: max}
	h.buf = append(make([]byte, 0, len(image)), image...)
	return h
}

// Reallocate grows the slice to size bytes, zero past what it held; nil past max.
func (h *heap) Reallocate(size uint64) []byte {
	if size > h.max {
		return nil
	}
	if n := uint64(len(h.buf)); size > n {
		h.buf = append(h.buf, make([]byte, size-n)...)
	}
	return h.buf[:size]
}

func (h *heap) Free() { h.buf = nil }
