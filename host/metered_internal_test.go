package host

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/stretchr/testify/require"
)

func TestMetered_RefillRate(t *testing.T) {
	wasm, err := os.ReadFile("../plugins/testdata/wat/loop.wasm")
	require.NoError(t, err)
	h, err := New(context.Background(), NewConfig().WithCacheDir(""))
	require.NoError(t, err)
	defer h.Close(context.Background())
	p, err := h.Load(context.Background(), wasm, PluginConfig{Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	before := guest.Refills.Load()
	start := time.Now()
	_, err = p.Call(context.Background(), "default", nil)
	require.ErrorIs(t, err, ErrTimeout)
	n := guest.Refills.Load() - before
	t.Logf("%d refills in %v: one every %v", n, time.Since(start), time.Since(start)/time.Duration(max(n, 1)))
	require.Greater(t, n, int64(10), "a spinning guest calls into Go many times a second")
}
