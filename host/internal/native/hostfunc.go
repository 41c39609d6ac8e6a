package native

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
)

// hostFunctions are the names this host provides in abi.ImportModule, for the import check
// at load (Check).
var hostFunctions = map[string]bool{abi.ImportLog: true, abi.ImportCall: true, abi.ImportResult: true,
	abi.ImportConfig: true, meter.DefaultImportName: true}

// DefineHostModule defines abi.ImportModule (onex.log, onex.call, onex.result, onex.config and the
// meter's onex.fuel) in rt; every native runtime needs it before it instantiates a guest. Host functions are Go module
// functions (~45 ns per guest-to-host call, no allocation), never reflective WithFunc
// (~0.3-1 µs, 5-7 allocations).
func DefineHostModule(ctx context.Context, rt wazero.Runtime) error {
	i32 := api.ValueTypeI32
	_, err := rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostLog), []api.ValueType{i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("level", "msg_ptr", "msg_len").
		Export(abi.ImportLog).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostCall), []api.ValueType{i32, i32, i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("op_ptr", "op_len", "req_ptr", "req_len", "ret_len_ptr").
		Export(abi.ImportCall).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostResult), []api.ValueType{i32, i32}, []api.ValueType{i32}).
		WithParameterNames("dst_ptr", "dst_len").
		Export(abi.ImportResult).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostConfig), []api.ValueType{i32, i32, i32}, []api.ValueType{i32}).
		WithParameterNames("key_ptr", "key_len", "ret_len_ptr").
		Export(abi.ImportConfig).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(hostFuel), nil, nil).
		Export(meter.DefaultImportName).
		Instantiate(ctx)
	return err
}

// hostLog implements onex.log(level, msg_ptr, msg_len) -> status.
func hostLog(ctx context.Context, mod api.Module, stack []uint64) {
	inst, _ := ctx.Value(instanceKey{}).(*Instance)
	if inst == nil {
		stack[0] = uint64(abi.StatusInternal)
		return
	}
	stopIfDone(ctx)
	level := slogLevel(int32(uint32(stack[0])))
	ptr, n := uint32(stack[1]), uint32(stack[2])
	var msg []byte
	ok := true
	if n > 0 {
		msg, ok = mod.Memory().Read(ptr, n)
	}
	if !ok {
		inst.violate("log", ptr, n)
		stack[0] = uint64(abi.StatusOutOfBounds)
		return
	}
	if len(msg) > abi.MaxLogMessage {
		msg = msg[:abi.MaxLogMessage]
	}
	inst.plugin.Logger().Log(ctx, level, string(bytes.ToValidUTF8(msg, []byte("\uFFFD"))))
	stack[0] = uint64(abi.StatusOK)
}

// stopIfDone ends the guest's call, as its next fuel check or loop header would, when
// ctx, the call's context, has ended: a guest that calls the host in a loop is stopped
// at its next host call, however much each costs, rather than at its next refill.
func stopIfDone(ctx context.Context) {
	if ctx.Err() != nil {
		panic(guest.ErrStopped)
	}
}

// violate records that a host function got a (pointer, length) pair outside memory.
func (inst *Instance) violate(fn string, ptr, n uint32) {
	if inst.violation == "" {
		inst.violation = fmt.Sprintf("%s.%s: (ptr=%#x, len=%d) lies outside guest memory (%d bytes)",
			abi.ImportModule, fn, ptr, n, inst.mem.Size())
	}
}

// slogLevel rounds an ABI log level down to a slog level.
func slogLevel(l int32) slog.Level {
	switch {
	case l >= int32(slog.LevelError):
		return slog.LevelError
	case l >= int32(slog.LevelWarn):
		return slog.LevelWarn
	case l >= int32(slog.LevelInfo):
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}
