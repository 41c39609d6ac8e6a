package host_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

func TestMetered_IsTheDefault(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	p, err := h.Load(ctx, plugintest.Fixture(t, "wat/echo.wasm"), host.PluginConfig{})
	require.NoError(t, err)
	assert.Equal(t, host.ExecutionMetered, p.Execution())
	assert.NotContains(t, p.Imports(), "onex.fuel", "the meter's import is not the plugin's")
	out, err := p.Call(ctx, "default", []byte(`"same result"`))
	require.NoError(t, err)
	assert.Equal(t, `"same result"`, string(out))

	g, err := h.Load(ctx, plugintest.Fixture(t, "wat/echo.wasm"), host.PluginConfig{Execution: host.ExecutionGuarded})
	require.NoError(t, err)
	assert.Equal(t, host.ExecutionGuarded, g.Execution())
	out, err = g.Call(ctx, "default", []byte(`"same result"`))
	require.NoError(t, err)
	assert.Equal(t, `"same result"`, string(out))

	_, err = h.Load(ctx, plugintest.Fixture(t, "wat/echo.wasm"), host.PluginConfig{Execution: "fast"})
	require.ErrorIs(t, err, host.ErrInvalidModule)

	// Extism plugins are metered too, unless they ask to run guarded.
	x := loadExtism(t, h, "count_vowels.wasm", host.PluginConfig{})
	assert.Equal(t, host.ExecutionMetered, x.Execution())
	assert.NotContains(t, x.Imports(), "onex.fuel")
	xg := loadExtism(t, h, "count_vowels.wasm", host.PluginConfig{Execution: host.ExecutionGuarded})
	assert.Equal(t, host.ExecutionGuarded, xg.Execution())
	for _, p := range []*host.Plugin{x, xg} {
		out, err := p.Call(ctx, "count_vowels", []byte("Hello"))
		require.NoError(t, err)
		assert.Contains(t, string(out), `"count":2`)
	}
}

func TestMetered_RunawayGuestStopped(t *testing.T) {
	for _, exec := range []host.Execution{host.ExecutionMetered, host.ExecutionGuarded} {
		t.Run(string(exec), func(t *testing.T) {
			h, _ := newHost(t, host.NewConfig())
			p, err := h.Load(context.Background(), plugintest.Fixture(t, "wat/loop.wasm"),
				host.PluginConfig{Execution: exec, Timeout: 50 * time.Millisecond})
			require.NoError(t, err)
			start := time.Now()
			_, err = p.Call(context.Background(), "default", nil)
			require.ErrorIs(t, err, host.ErrTimeout)
			assert.Less(t, time.Since(start), 5*time.Second)
			// Canceled by the caller, too.
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			_, err = p.Call(ctx, "default", nil)
			require.ErrorIs(t, err, host.ErrCanceled)
			assert.Equal(t, uint64(2), p.Stats().Discarded)
		})
	}
}

func TestMetered_FuelBudget(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	// A budget stops the runaway loop long before its deadline, deterministically.
	p, err := h.Load(ctx, plugintest.Fixture(t, "wat/loop.wasm"), host.PluginConfig{Fuel: 1_000_000, Timeout: time.Minute})
	require.NoError(t, err)
	start := time.Now()
	_, err = p.Call(ctx, "default", nil)
	require.ErrorIs(t, err, host.ErrFuelExhausted)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Contains(t, err.Error(), "fuel budget of 1000000")

	// A budget large enough lets a real computation through, on a reused instance.
	core := loadGo(t, h, "plugins/core", host.PluginConfig{Fuel: 50_000_000})
	n, err := compute.New(core)
	require.NoError(t, err)
	for range 3 {
		out, err := n.Process(ctx, abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte(`[1,2,3]`), NoCache: true})
		require.NoError(t, err)
		assert.Equal(t, "6", string(out.Result))
	}
	small := loadGo(t, h, "plugins/core", host.PluginConfig{Fuel: 1_000})
	_, err = small.Call(ctx, "sum_numbers", []byte(`[1,2,3]`))
	require.ErrorIs(t, err, host.ErrFuelExhausted)
}

// TestMetered_RunawaysDoNotStallTheHost spins four metered runaway guests at once on two
// cores: other calls keep completing, and a garbage collection — which must stop every
// goroutine, the spinning ones included — returns promptly, because a metered guest calls
// into Go at every refill.
func TestMetered_RunawaysDoNotStallTheHost(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	loop, err := h.Load(ctx, plugintest.Fixture(t, "wat/loop.wasm"), host.PluginConfig{Timeout: time.Minute, MaxInstances: 4})
	require.NoError(t, err)
	echo, err := h.Load(ctx, plugintest.Fixture(t, "wat/echo.wasm"), host.PluginConfig{})
	require.NoError(t, err)
	done := make(chan error, 4)
	spin, stop := context.WithCancel(ctx)
	defer stop()
	for range 4 {
		go func() {
			_, err := loop.Call(spin, "default", nil)
			done <- err
		}()
	}
	require.Eventually(t, func() bool { return loop.Stats().InUse == 4 }, 5*time.Second, time.Millisecond)
	for i := range 3 {
		// Unmetered and unguarded, a GC would wait for the guests' one-minute deadline;
		// metered, it takes ≈ 20 ms (the refill yields once per quantum — without that
		// yield, four spinners held a GC 0.5-3 s). The bound is half the guests' deadline:
		// far above any load, far below what an unmetered spinner would hold.
		start := time.Now()
		runtime.GC()
		assert.Less(t, time.Since(start), 30*time.Second, "GC %d waited on a spinning guest", i)
		out, err := echo.Call(ctx, "length", []byte(`"abc"`))
		require.NoError(t, err)
		assert.Equal(t, "5", string(out))
	}
	stop()
	for range 4 {
		require.ErrorIs(t, <-done, host.ErrCanceled)
	}
}

func TestMetered_FuelUsedIsReported(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	core := loadGo(t, h, "plugins/core", host.PluginConfig{})
	n, err := compute.New(core)
	require.NoError(t, err)
	in := abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte(`[1,2,3]`)}
	out, err := n.Process(ctx, in)
	require.NoError(t, err)
	assert.Positive(t, out.FuelUsed, "a metered computation reports its work")
	again, err := n.Process(ctx, in)
	require.NoError(t, err)
	require.True(t, again.CacheHit)
	assert.Zero(t, again.FuelUsed, "a cache hit does no work")

	guarded := loadGo(t, h, "plugins/core", host.PluginConfig{Execution: host.ExecutionGuarded})
	g, err := compute.New(guarded)
	require.NoError(t, err)
	out, err = g.Process(ctx, abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte(`[1,2,3]`), NoCache: true})
	require.NoError(t, err)
	assert.Zero(t, out.FuelUsed, "guarded plugins are not metered")
}

// TestMetered_RefusesWhatWazeroRefuses loads a module that is invalid only because it
// sets a global it does not have — the index the meter's fuel counter would take. It must
// be refused at load, metered (the default) as guarded, never run with its own refill.
func TestMetered_RefusesWhatWazeroRefuses(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	wasm := plugintest.Fixture(t, "wat/invalid-refuel.wasm")
	for _, exec := range []host.Execution{host.ExecutionMetered, host.ExecutionGuarded} {
		t.Run(string(exec), func(t *testing.T) {
			_, err := h.Load(context.Background(), wasm, host.PluginConfig{Execution: exec, Timeout: 50 * time.Millisecond})
			require.ErrorIs(t, err, host.ErrInvalidModule)
			var pe *host.PluginError
			require.ErrorAs(t, err, &pe)
			assert.Contains(t, pe.Message, "global", "the error names what is wrong: %v", err)
		})
	}
}
