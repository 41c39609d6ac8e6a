package host_test

import (
	"context"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

func loadFixture(tb testing.TB, h *host.Host, name string, cfg host.PluginConfig) *host.Plugin {
	tb.Helper()
	p, err := h.Load(context.Background(), plugintest.Fixture(tb, name), cfg)
	require.NoError(tb, err)
	return p
}

func TestPlugin_Call(t *testing.T) {
	h, rec := newHost(t, host.NewConfig())
	p := loadFixture(t, h, "wat/echo.wasm", host.PluginConfig{})
	ctx := context.Background()
	tests := []struct {
		name        string
		computation string
		data        string
		want        string
	}{
		{name: "identity", computation: "default", data: `{"a":1}`, want: `{"a":1}`},
		{name: "empty input", computation: "default", data: ``, want: ``},
		{name: "length", computation: "length", data: `"hello"`, want: `7`},
		{name: "large input", computation: "length", data: strings.Repeat("x", 1<<20), want: strconv.Itoa(1 << 20)},
		{name: "small input after a large one", computation: "default", data: `[1]`, want: `[1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := p.Call(ctx, tt.computation, []byte(tt.data))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(out))
		})
	}
	logs := rec.Find("echo: computing length")
	require.Len(t, logs, 2, "the guest's onex.log calls reach the logger")
	assert.Equal(t, "echo", logs[0].Attrs["plugin"])
}

func TestPlugin_CallUnknownComputation(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	p := loadFixture(t, h, "wat/echo.wasm", host.PluginConfig{})
	_, err := p.Call(context.Background(), "nope", nil)
	require.ErrorIs(t, err, host.ErrUnknownComputation)
	assert.Contains(t, err.Error(), "offered: [default length]")
	assert.Equal(t, uint64(0), p.Stats().Discarded)
}

func TestPlugin_CallInputTooLarge(t *testing.T) {
	h, _ := newHost(t, host.NewConfig().WithMaxInputBytes(1024))
	p := loadFixture(t, h, "wat/echo.wasm", host.PluginConfig{})
	_, err := p.Call(context.Background(), "default", make([]byte, 1025))
	require.ErrorIs(t, err, host.ErrInputTooLarge)
	out, err := p.Call(context.Background(), "default", []byte("1"))
	require.NoError(t, err)
	assert.Equal(t, "1", string(out))
}

// TestPlugin_CallHostile runs each hostile fixture twice: each call gets the typed error,
// the faulted instance is discarded (never reused), and the host keeps serving.
func TestPlugin_CallHostile(t *testing.T) {
	tests := []struct {
		name      string
		fixture   string
		cfg       host.Config
		want      error
		discarded bool
		message   string
	}{
		{name: "raw unreachable", fixture: "wat/unreachable.wasm", want: host.ErrTrap, discarded: true, message: "unreachable"},
		{name: "out-of-bounds host call", fixture: "wat/oob.wasm", want: host.ErrOutOfBounds, discarded: true, message: "onex.log"},
		{name: "output outside memory", fixture: "wat/badout.wasm", want: host.ErrOutOfBounds, discarded: true, message: "outside guest memory"},
		{name: "oversized output", fixture: "wat/bigout.wasm", cfg: host.NewConfig().WithMaxOutputBytes(1 << 20),
			want: host.ErrOutputTooLarge, discarded: false, message: "2097152 bytes"},
		{name: "memory bomb", fixture: "wat/membomb.wasm", cfg: host.NewConfig().WithMemoryLimit(16 << 20),
			want: host.ErrMemoryLimit, discarded: true, message: "256 pages"},
		{name: "runaway loop", fixture: "wat/loop.wasm", cfg: host.NewConfig().WithTimeout(100 * time.Millisecond),
			want: host.ErrTimeout, discarded: true, message: "100ms timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if reflect.ValueOf(cfg).IsZero() {
				cfg = host.NewConfig()
			}
			h, _ := newHost(t, cfg)
			p := loadFixture(t, h, tt.fixture, host.PluginConfig{})
			echo := loadFixture(t, h, "wat/echo.wasm", host.PluginConfig{})
			computation := p.Manifest().Computations[0].Name
			for i := range 2 {
				start := time.Now()
				_, err := p.Call(context.Background(), computation, []byte(`null`))
				require.ErrorIs(t, err, tt.want)
				assert.Less(t, time.Since(start), 5*time.Second)
				var pe *host.PluginError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, p.Name(), pe.Plugin)
				assert.Contains(t, err.Error(), tt.message)

				stats := p.Stats()
				if tt.discarded {
					assert.Equal(t, uint64(i+1), stats.Discarded, "the faulted instance is discarded")
					assert.Equal(t, uint64(i+1), stats.Created, "every call ran on a fresh instance")
				} else {
					assert.Equal(t, uint64(0), stats.Discarded)
				}
				out, err := echo.Call(context.Background(), "default", []byte(`"still serving"`))
				require.NoError(t, err)
				assert.Equal(t, `"still serving"`, string(out))
			}
		})
	}
}

func TestPlugin_CallDeadline(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	p := loadFixture(t, h, "wat/loop.wasm", host.PluginConfig{})

	t.Run("caller deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := p.Call(ctx, "default", nil)
		require.ErrorIs(t, err, host.ErrTimeout)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("caller cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := p.Call(ctx, "default", nil)
		require.ErrorIs(t, err, host.ErrCanceled)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("plugin timeout", func(t *testing.T) {
		q := loadFixture(t, h, "wat/loop.wasm", host.PluginConfig{Timeout: 300 * time.Millisecond})
		start := time.Now()
		_, err := q.Call(context.Background(), "default", nil)
		require.ErrorIs(t, err, host.ErrTimeout)
		elapsed := time.Since(start)
		// Not before the deadline; how soon after depends on the machine's load and is
		// measured by BenchmarkDeadlineOvershoot (an unstopped loop never returns).
		assert.GreaterOrEqual(t, elapsed, 300*time.Millisecond)
	})
	assert.Equal(t, uint64(2), p.Stats().Discarded)
}
