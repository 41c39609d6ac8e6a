package host

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInstance_OwnerCheck: an instance refuses a second goroutine while a call is
// running on it. The pool never lets that happen; this proves the check that would catch
// it if it did.
func TestInstance_OwnerCheck(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "plugins", "testdata", "wat", "loop.wasm"))
	require.NoError(t, err)
	ctx := context.Background()
	h, err := New(ctx, NewConfig().WithCacheDir(""))
	require.NoError(t, err)
	defer h.Close(ctx)
	p, err := h.Load(ctx, wasm, PluginConfig{Timeout: 200 * time.Millisecond})
	require.NoError(t, err)

	g, err := p.pool.Acquire(ctx)
	require.NoError(t, err)
	inst := g.(*instance)
	running := make(chan struct{})
	done := make(chan error)
	go func() {
		close(running)
		_, err := inst.call(ctx, inst.compute, "default", "default", nil, time.Now().Add(200*time.Millisecond))
		done <- err
	}()
	<-running
	for !inst.busy.Load() {
		runtime.Gosched()
	}
	assert.PanicsWithValue(t, errConcurrentUse, func() {
		_, _ = inst.call(ctx, inst.compute, "default", "default", nil, time.Time{})
	})
	require.ErrorIs(t, <-done, ErrTimeout)
	assert.True(t, inst.broken)
	p.put(inst)
	assert.Equal(t, uint64(1), p.Stats().Discarded)
}
