//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/onexhost/onex-host/abi"
)

// onexCall is the host's call function (abi.ImportModule, abi.ImportCall): it performs
// one capability operation, leaves the response in the instance's result register and
// writes its length as a u32 at retLen.
//
//go:wasmimport onex call
func onexCall(op unsafe.Pointer, opLen uint32, req unsafe.Pointer, reqLen uint32, retLen unsafe.Pointer) int32

// onexResult is the host's result function (abi.ImportResult): it copies the result
// register to dst; dstLen must equal the length call reported.
//
//go:wasmimport onex result
func onexResult(dst unsafe.Pointer, dstLen uint32) int32

// The imports are referenced only from callHost, so a compute plugin, which never calls
// a capability, does not import them: the linker drops unreachable imports, and hosts
// that offer only log keep loading such plugins.

// importCall calls onex.call with op and req, which stay valid (and unmoved: Go's heap
// does not move) during the call, and retLen, a field of the package's client.
func importCall(op string, req []byte, retLen *uint32) abi.Status {
	return abi.Status(onexCall(unsafe.Pointer(unsafe.StringData(op)), uint32(len(op)),
		unsafe.Pointer(unsafe.SliceData(req)), uint32(len(req)), unsafe.Pointer(retLen)))
}

// importResult copies the result register into dst with onex.result.
func importResult(dst []byte) abi.Status {
	return abi.Status(onexResult(unsafe.Pointer(unsafe.SliceData(dst)), uint32(len(dst))))
}
