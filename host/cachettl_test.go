package host_test

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestComputeNode_CacheTTL: a plugin's CacheTTL overrides the host's; results expire on
// time; a negative CacheTTL never caches.
func TestComputeNode_CacheTTL(t *testing.T) {
	wasm := plugintest.Fixture(t, "wat/echo.wasm") // deterministic: true
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		h, err := host.New(ctx, host.NewConfig().WithCacheDir("").WithLogger(slog.New(&recorder{})))
		require.NoError(t, err)
		defer h.Close(ctx)
		process := func(cfg host.PluginConfig) func() bool {
			p, err := h.Load(ctx, wasm, cfg)
			require.NoError(t, err)
			node, err := compute.New(p)
			require.NoError(t, err)
			return func() bool {
				out, err := node.Process(ctx, input("length", `"abc"`))
				require.NoError(t, err)
				return out.CacheHit
			}
		}

		minute := process(host.PluginConfig{CacheTTL: time.Minute})
		assert.False(t, minute(), "first call computes")
		assert.True(t, minute(), "then hits")
		time.Sleep(59 * time.Second)
		assert.True(t, minute(), "still fresh after 59s")
		time.Sleep(2 * time.Second)
		assert.False(t, minute(), "expired after a minute")
		assert.GreaterOrEqual(t, h.CacheStats().Expirations, uint64(1))

		require.NoError(t, h.ClearCache(context.Background()))
		never := process(host.PluginConfig{CacheTTL: -1})
		assert.False(t, never())
		assert.False(t, never(), "a negative CacheTTL never caches")
	})
}
