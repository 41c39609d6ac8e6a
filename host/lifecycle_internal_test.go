package host

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/pool"
)

// TestPlugin_CloseTimeout: a Close whose context ends while a call is in flight returns
// the context's error, and the plugin is torn down when that call ends: no instance
// left, gone from the host.
func TestPlugin_CloseTimeout(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "plugins", "testdata", "wat", "sleep.wasm"))
	require.NoError(t, err)
	ctx := context.Background()
	h, err := New(ctx, NewConfig().WithCacheDir(""))
	require.NoError(t, err)
	defer h.Close(ctx)
	p, err := h.Load(ctx, wasm, PluginConfig{Timeout: time.Hour})
	require.NoError(t, err)

	callCtx, cancelCall := context.WithCancel(ctx)
	called := make(chan error, 1)
	go func() {
		_, err := p.Call(callCtx, "sleeploop", nil)
		called <- err
	}()
	require.Eventually(t, func() bool { return p.Stats().InUse == 1 }, time.Minute, time.Millisecond)

	closeCtx, cancelClose := context.WithCancel(ctx)
	cancelClose()
	require.ErrorIs(t, p.Close(closeCtx), context.Canceled)
	_, err = p.Call(ctx, "sleep", nil)
	require.ErrorIs(t, err, ErrClosed, "no new call after Close")

	cancelCall()
	require.ErrorIs(t, <-called, ErrCanceled)
	require.NoError(t, p.Close(ctx), "the last call tore the plugin down")
	assert.Equal(t, 0, p.Stats().Live)
	h.mu.Lock()
	_, loaded := h.plugins[p]
	h.mu.Unlock()
	assert.False(t, loaded, "the plugin left the host's map")
}

// fakeGuest is a guest.Instance whose Invoke records its deadline, or panics.
type fakeGuest struct {
	deadline time.Time
	panics   bool
}

func (g *fakeGuest) Invoke(_ context.Context, _, _ string, _ []byte, deadline time.Time, _ guest.Capabilities) ([]byte, error) {
	if g.panics {
		panic("guest host bug")
	}
	g.deadline = deadline
	return []byte("null"), nil
}
func (g *fakeGuest) Faulted() bool    { return false }
func (g *fakeGuest) FuelUsed() uint64 { return 0 }
func (g *fakeGuest) Close()           {}

// fakePlugin is a Plugin with one instance of g, without a host: enough for call.
func fakePlugin(tb testing.TB, g *fakeGuest, timeout time.Duration) *Plugin {
	tb.Helper()
	p := &Plugin{name: "fake", offers: map[string]string{"x": "x"}, done: make(chan struct{}),
		limits: limits{maxInput: 1 << 20, maxInstances: 1, timeout: timeout}}
	p.refs.Store(1)
	var err error
	p.pool, err = pool.New(pool.Config[guest.Instance]{Max: 1, New: func(context.Context) (guest.Instance, error) { return g, nil }})
	require.NoError(tb, err)
	return p
}

// TestPlugin_CallTimeoutStartsWithTheInstance: the plugin's timeout is the guest's; time
// spent waiting for an instance does not count against it.
func TestPlugin_CallTimeoutStartsWithTheInstance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &fakeGuest{}
		p := fakePlugin(t, g, time.Second)
		held, err := p.pool.Acquire(t.Context())
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() {
			_, err := p.Call(context.Background(), "x", nil)
			done <- err
		}()
		synctest.Wait() // the call waits for the instance
		time.Sleep(time.Minute)
		got := time.Now()
		p.pool.Release(held)
		require.NoError(t, <-done)
		assert.Equal(t, got.Add(time.Second), g.deadline, "the timeout starts when the guest gets its instance")
	})
}

// TestPlugin_CallPanicReturnsTheSlot: a call that panics discards its instance and frees
// its slot, so the next call gets one.
func TestPlugin_CallPanicReturnsTheSlot(t *testing.T) {
	g := &fakeGuest{panics: true}
	p := fakePlugin(t, g, time.Second)
	assert.Panics(t, func() { _, _ = p.Call(context.Background(), "x", nil) })
	s := p.Stats()
	assert.Equal(t, 0, s.Live)
	assert.Equal(t, 0, s.InUse)
	g.panics = false
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := p.Call(ctx, "x", nil)
	require.NoError(t, err, "the slot was freed")
}
