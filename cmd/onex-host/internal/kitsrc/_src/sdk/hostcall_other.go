//go:build !wasip1

package sdk

import "github.com/onexhost/onex-host/abi"

// noHost is the error payload of the native stand-in for the host.
var noHost = []byte(`{"code":"unsupported","message":"no host: natively, capability calls go to the Host installed with sdk.SetHost"}`)

// importCall is the native stand-in for onex.call, used when no Host is installed: every
// op is abi.StatusUnsupported, with noHost in the result register.
func importCall(_ string, _ []byte, retLen *uint32) abi.Status {
	*retLen = uint32(len(noHost))
	return abi.StatusUnsupported
}

// importResult is the native stand-in for onex.result, with its length check.
func importResult(dst []byte) abi.Status {
	if len(dst) != len(noHost) {
		return abi.StatusInvalidInput
	}
	copy(dst, noHost)
	return abi.StatusOK
}
