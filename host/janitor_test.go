package host_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// gate is a slog.Handler that blocks echo's "length" log record until open is closed, so
// guest calls can be held in flight, each holding its instance.
type gate struct {
	arrived chan struct{}
	open    chan struct{}
}

func (g *gate) Enabled(context.Context, slog.Level) bool { return true }
func (g *gate) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "echo: computing length" {
		return nil
	}
	g.arrived <- struct{}{}
	<-g.open
	return nil
}
func (g *gate) WithAttrs([]slog.Attr) slog.Handler { return g }
func (g *gate) WithGroup(string) slog.Handler      { return g }

// TestHost_IdleTrimming: instances beyond Prewarm that sit idle for IdleTimeout are
// destroyed by the host's janitor; the pre-warmed one stays.
func TestHost_IdleTrimming(t *testing.T) {
	wasm := plugintest.Fixture(t, "wat/echo.wasm")
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		g := &gate{arrived: make(chan struct{}), open: make(chan struct{})}
		cfg := host.NewConfig().WithCacheDir("").WithIdleTimeout(time.Minute).
			WithMaxInstances(4).WithPrewarm(1).WithLogger(slog.New(g))
		h, err := host.New(ctx, cfg)
		require.NoError(t, err)
		defer h.Close(ctx)
		p, err := h.Load(ctx, wasm, host.PluginConfig{})
		require.NoError(t, err)

		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				_, err := p.Call(ctx, "length", []byte(`"x"`))
				assert.NoError(t, err)
			})
		}
		for range 4 {
			<-g.arrived // four calls in flight, each on its own instance
		}
		assert.Equal(t, 4, p.Stats().InUse)
		close(g.open)
		wg.Wait()
		require.Equal(t, 4, p.Stats().Idle)

		time.Sleep(45 * time.Second)
		synctest.Wait()
		assert.Equal(t, 4, p.Stats().Live, "not idle for a minute yet")

		time.Sleep(2 * time.Minute)
		synctest.Wait()
		s := p.Stats()
		assert.Equal(t, 1, s.Live, "trimmed down to Prewarm")
		assert.Equal(t, uint64(3), s.Trimmed)
		assert.Equal(t, uint64(0), s.Discarded)
	})
}
