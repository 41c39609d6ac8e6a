package native

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/abi"
)

// maxOpName bounds the op argument of onex.call: every op name is far shorter.
const maxOpName = 64

// hostCall implements onex.call(op_ptr, op_len, req_ptr, req_len, ret_len_ptr) -> status
// (abi/SPEC.md section 8): it reads the op and its JSON request, runs it for the effect
// attempt the instance is serving, leaves the response or error payload in the
// instance's result register and writes its length at ret_len_ptr.
func hostCall(ctx context.Context, mod api.Module, stack []uint64) {
	inst, _ := ctx.Value(instanceKey{}).(*Instance)
	if inst == nil {
		stack[0] = uint64(abi.StatusInternal)
		return
	}
	stopIfDone(ctx)
	inst.register = inst.register[:0]
	opPtr, opLen := uint32(stack[0]), uint32(stack[1])
	reqPtr, reqLen := uint32(stack[2]), uint32(stack[3])
	retLenPtr := uint32(stack[4])
	mem := mod.Memory()
	if _, ok := mem.Read(retLenPtr, 4); !ok {
		inst.violate("call", retLenPtr, 4)
		stack[0] = uint64(abi.StatusOutOfBounds)
		return
	}
	status, resp := inst.callCapability(ctx, mem, opPtr, opLen, reqPtr, reqLen)
	inst.register = append(inst.register, resp...)
	mem.WriteUint32Le(retLenPtr, uint32(len(inst.register)))
	stack[0] = uint64(status)
}

// callCapability reads op and request and dispatches them; every failure becomes a status
// and an error payload.
func (inst *Instance) callCapability(ctx context.Context, mem api.Memory, opPtr, opLen, reqPtr, reqLen uint32) (abi.Status, []byte) {
	fail := func(s abi.Status, format string, args ...any) (abi.Status, []byte) {
		return s, abi.AppendError(nil, abi.Error{Code: s.String(), Message: fmt.Sprintf(format, args...)})
	}
	if opLen > maxOpName {
		return fail(abi.StatusInvalidInput, "op name of %d bytes: longer than any op", opLen)
	}
	op, ok := mem.Read(opPtr, opLen)
	if !ok {
		inst.violate("call", opPtr, opLen)
		return fail(abi.StatusOutOfBounds, "op outside memory")
	}
	if maxInput := inst.plugin.Limits().MaxInput; reqLen > uint32(maxInput) {
		return fail(abi.StatusTooLarge, "request of %d bytes exceeds the %d-byte limit", reqLen, maxInput)
	}
	req, ok := mem.Read(reqPtr, reqLen)
	if !ok {
		inst.violate("call", reqPtr, reqLen)
		return fail(abi.StatusOutOfBounds, "request outside memory")
	}
	if inst.caps == nil {
		return fail(abi.StatusUnsupported, "%s: only effect nodes call capabilities, during an effect", op)
	}
	// req is a view of guest memory, valid until the guest runs again: the ops copy what
	// they keep.
	return inst.caps.Call(ctx, string(op), req)
}

// hostResult implements onex.result(dst_ptr, dst_len) -> status: it copies the result
// register, whose length onex.call reported, into guest memory.
func hostResult(ctx context.Context, mod api.Module, stack []uint64) {
	inst, _ := ctx.Value(instanceKey{}).(*Instance)
	if inst == nil {
		stack[0] = uint64(abi.StatusInternal)
		return
	}
	stopIfDone(ctx)
	ptr, n := uint32(stack[0]), uint32(stack[1])
	if int(n) != len(inst.register) {
		stack[0] = uint64(abi.StatusInvalidInput)
		return
	}
	if !mod.Memory().Write(ptr, inst.register) {
		inst.violate("result", ptr, n)
		stack[0] = uint64(abi.StatusOutOfBounds)
		return
	}
	stack[0] = uint64(abi.StatusOK)
}

// maxConfigKey bounds the key argument of onex.config (abi.ValidConfigKey: 64 bytes).
const maxConfigKey = 64

// hostConfig implements onex.config(key_ptr, key_len, ret_len_ptr) -> status (abi/SPEC.md
// section 4): it leaves the value of the node's config key in the result register (or,
// on a non-zero status, an error payload naming the key, never a value) and writes its
// length at ret_len_ptr.
func hostConfig(ctx context.Context, mod api.Module, stack []uint64) {
	inst, _ := ctx.Value(instanceKey{}).(*Instance)
	if inst == nil {
		stack[0] = uint64(abi.StatusInternal)
		return
	}
	stopIfDone(ctx)
	inst.register = inst.register[:0]
	keyPtr, keyLen, retLenPtr := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	mem := mod.Memory()
	if _, ok := mem.Read(retLenPtr, 4); !ok {
		inst.violate("config", retLenPtr, 4)
		stack[0] = uint64(abi.StatusOutOfBounds)
		return
	}
	status := abi.StatusInvalidInput
	var msg string
	if keyLen > maxConfigKey {
		msg = fmt.Sprintf("config key of %d bytes: longer than any key", keyLen)
	} else if key, ok := mem.Read(keyPtr, keyLen); !ok {
		inst.violate("config", keyPtr, keyLen)
		status, msg = abi.StatusOutOfBounds, "config key outside memory"
	} else {
		var v string
		v, status = inst.plugin.Config(string(key))
		switch status {
		case abi.StatusOK:
			inst.register = append(inst.register, v...)
		case abi.StatusNotFound:
			msg = fmt.Sprintf("config key %q has no value", key)
		default:
			msg = fmt.Sprintf("config key %q is not declared in the manifest", key)
		}
	}
	if status != abi.StatusOK {
		inst.register = abi.AppendError(inst.register, abi.Error{Code: status.String(), Message: msg})
	}
	mem.WriteUint32Le(retLenPtr, uint32(len(inst.register)))
	stack[0] = uint64(status)
}
