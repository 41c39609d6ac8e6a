//go:build wasip1

package sdk

import (
	"context"
	"runtime"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// The exports below are the plugin's side of ABI v1 (abi/SPEC.md). They live in the SDK,
// not in the author's main package: //go:wasmexport works in any package linked into a
// -buildmode=c-shared module.
//
// onex_compute, onex_effect, onex_compensate, onex_reduce, onex_orchestrate and onex_manifest end by yielding to the
// guest's scheduler when yieldPolicy says so, letting the garbage collector finish its
// cycles; see yield.go for why and when.

// wasmGuest holds the input buffer and the last output for the exports. Being a package
// variable is what keeps both referenced between calls.
var wasmGuest = newGuest(std)

// yields decides when the entry exports yield.
var yields yieldPolicy

// abiVersion is the ABI v1 marker. The host reads its name at load and never calls it,
// so it stays empty (no Gosched).
//
//go:wasmexport onex_abi_v1
func abiVersion() {}

// onexAlloc returns the host's input buffer (see guest.alloc).
//
//go:wasmexport onex_alloc
func onexAlloc(size uint32) uint32 {
	// No yield: the entry export follows and yields for both.
	return uint32(wasmGuest.alloc(size))
}

// onexCompute runs one computation (see guest.entry).
//
//go:wasmexport onex_compute
func onexCompute(ptr, typeLen, dataLen uint32) int32 {
	return runEntry(abi.ExportCompute, ptr, typeLen, dataLen)
}

// onexEffect runs one effect of an effect node (see guest.entry).
//
//go:wasmexport onex_effect
func onexEffect(ptr, typeLen, dataLen uint32) int32 {
	return runEntry(abi.ExportEffect, ptr, typeLen, dataLen)
}

// onexCompensate runs one guest-defined compensation during a rollback (see
// guest.entry and Compensation).
//
//go:wasmexport onex_compensate
func onexCompensate(ptr, nameLen, dataLen uint32) int32 {
	return runEntry(abi.ExportCompensate, ptr, nameLen, dataLen)
}

// onexReduce runs one reduction of a reducer node (see guest.entry and Reducer).
//
//go:wasmexport onex_reduce
func onexReduce(ptr, nameLen, dataLen uint32) int32 {
	return runEntry(abi.ExportReduce, ptr, nameLen, dataLen)
}

// onexOrchestrate decides the next actions of one workflow of an orchestrator node (see
// guest.entry and Orchestrator).
//
//go:wasmexport onex_orchestrate
func onexOrchestrate(ptr, nameLen, dataLen uint32) int32 {
	return runEntry(abi.ExportOrchestrate, ptr, nameLen, dataLen)
}

// runEntry runs one call of an entry export and then yields when yieldPolicy says so,
// counting the bytes the call's capability calls moved with its input and output.
func runEntry(export string, ptr, nameLen, dataLen uint32) int32 {
	start := time.Now()
	status := wasmGuest.entry(context.Background(), export, uintptr(ptr), nameLen, dataLen)
	moved := int(nameLen) + int(dataLen) + len(wasmGuest.out) + capClient.takeMoved()
	if yields.after(moved, time.Since(start)) {
		runtime.Gosched() // let the GC finish its cycle; see yield.go
	}
	return int32(status)
}

// onexManifest writes the manifest (see guest.manifest).
//
//go:wasmexport onex_manifest
func onexManifest(ret uint32) int32 {
	status := wasmGuest.manifest(uintptr(ret))
	runtime.Gosched() // once per instance, at load: always worth it
	return int32(status)
}
