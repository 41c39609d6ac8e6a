//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/onexhost/onex-host/abi"
)

// onexConfig is the host's config function (abi.ImportModule, abi.ImportConfig): it
// leaves the key's value in the result register and writes its length at retLen.
//
//go:wasmimport onex config
func onexConfig(key unsafe.Pointer, keyLen uint32, retLen unsafe.Pointer) int32

// importConfig reads key with onex.config and onex.result; the caller holds the
// capability client's lock (the register is shared).
func importConfig(key string, retLen *uint32) (string, bool) {
	*retLen = 0
	if abi.Status(onexConfig(unsafe.Pointer(unsafe.StringData(key)), uint32(len(key)), unsafe.Pointer(retLen))) != abi.StatusOK {
		return "", false
	}
	v := make([]byte, *retLen)
	if len(v) > 0 && importResult(v) != abi.StatusOK {
		return "", false
	}
	return string(v), true
}
