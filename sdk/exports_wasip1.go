//go:build wasip1

package sdk

import (
	"context"
	"runtime"
)

// The exports below are the plugin's side of ABI v1 (abi/SPEC.md). They live in the SDK,
// not in the author's main package: //go:wasmexport works in any package linked into a
// -buildmode=c-shared module.
//
// Every export the host calls ends with runtime.Gosched(). A Go guest has one thread, and
// the garbage collector's background mark workers are goroutines: they only run when the
// running goroutine yields. An export that returns without yielding leaves each GC cycle
// unfinished, so a guest that allocates per call grows its heap without bound and traps
// out of memory after about 2,400 calls (measured: 3.8 MB → 150 MB → trap; 20,000 64 KiB
// calls without yielding reached 2.1 GiB). The yield costs about 0.66 µs per call.

// wasmGuest holds the input buffer and the last output for the exports. Being a package
// variable is what keeps both referenced between calls.
var wasmGuest = newGuest(std)

// abiVersion is the ABI v1 marker. The host reads its name at load and never calls it,
// so it stays empty (no Gosched).
//
//go:wasmexport onex_abi_v1
func abiVersion() {}

// onexAlloc returns the host's input buffer (see guest.alloc).
//
//go:wasmexport onex_alloc
func onexAlloc(size uint32) uint32 {
	p := uint32(wasmGuest.alloc(size))
	runtime.Gosched() // let the GC finish its cycle; see the comment at the top
	return p
}

// onexCompute runs one computation (see guest.compute).
//
//go:wasmexport onex_compute
func onexCompute(ptr, typeLen, dataLen uint32) int32 {
	status := wasmGuest.compute(context.Background(), uintptr(ptr), typeLen, dataLen)
	runtime.Gosched() // let the GC finish its cycle; see the comment at the top
	return int32(status)
}

// onexManifest writes the manifest (see guest.manifest).
//
//go:wasmexport onex_manifest
func onexManifest(ret uint32) int32 {
	status := wasmGuest.manifest(uintptr(ret))
	runtime.Gosched() // let the GC finish its cycle; see the comment at the top
	return int32(status)
}
