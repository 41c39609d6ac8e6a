//go:build wasip1

package sdk

import (
	"log/slog"
	"unsafe"
)

// onexLog is the host's log function (abi.ImportModule, abi.ImportLog).
//
//go:wasmimport onex log
func onexLog(level int32, msg unsafe.Pointer, msgLen uint32) int32

// hostLog sends one rendered log line to the host. The status is ignored: the only
// failure is a bad pointer, which cannot happen for a live slice.
func hostLog(level slog.Level, msg []byte) {
	onexLog(int32(level), unsafe.Pointer(unsafe.SliceData(msg)), uint32(len(msg)))
}
