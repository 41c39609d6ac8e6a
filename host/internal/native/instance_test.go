package native

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/guest"
)

// fakePlugin is a guest.Plugin without a host: no watchdog, the given limits.
type fakePlugin struct{ limits guest.Limits }

func (p fakePlugin) Limits() guest.Limits               { return p.limits }
func (p fakePlugin) Kind() abi.Kind                     { return abi.KindCompute }
func (p fakePlugin) Logger() *slog.Logger               { return slog.New(slog.DiscardHandler) }
func (p fakePlugin) Watch(func()) guest.Watch           { return noWatch{} }
func (p fakePlugin) ReportsStuck() bool                 { return false }
func (p fakePlugin) Config(string) (string, abi.Status) { return "", abi.StatusNotFound }
func (noWatch) Arm(string, time.Time)                   {}
func (noWatch) Disarm() bool                            { return false }

type noWatch struct{}

// newTestInstance instantiates testdata module name in a guarded runtime of its own.
func newTestInstance(t *testing.T, name string) *Instance {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "..", "..", "plugins", "testdata", "wat", name))
	require.NoError(t, err)
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCloseOnContextDone(true))
	t.Cleanup(func() { _ = rt.Close(ctx) })
	_, err = wasi_snapshot_preview1.Instantiate(ctx, rt)
	require.NoError(t, err)
	require.NoError(t, DefineHostModule(ctx, rt))
	compiled, err := rt.CompileModule(ctx, wasm)
	require.NoError(t, err)
	code := &Code{Plugin: fakePlugin{guest.Limits{InitTimeout: time.Minute, MaxInput: 1 << 20, MaxOutput: 1 << 20, MemoryPages: 256}},
		Runtime: rt, Compiled: compiled, ModConfig: wazero.NewModuleConfig()}
	inst, err := code.NewInstance(ctx)
	require.NoError(t, err)
	t.Cleanup(inst.Close)
	return inst
}

// TestInstance_OwnerCheck: an instance refuses a second goroutine while a call is
// running on it. The pool never lets that happen; this proves the check that would catch
// it if it did. The running call spins until the test cancels it.
func TestInstance_OwnerCheck(t *testing.T) {
	inst := newTestInstance(t, "loop.wasm")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() {
		_, err := inst.Invoke(ctx, "default", "default", nil, time.Time{}, nil)
		done <- err
	}()
	for !inst.busy.Load() {
		runtime.Gosched()
	}
	assert.PanicsWithValue(t, guest.ErrConcurrentUse, func() {
		_, _ = inst.Invoke(ctx, "default", "default", nil, time.Time{}, nil)
	})
	cancel()
	err := <-done
	f, ok := err.(*guest.Failure)
	require.True(t, ok, "a *guest.Failure: %v", err)
	assert.Equal(t, guest.KindCanceled, f.Kind)
	assert.True(t, inst.Faulted())
}
