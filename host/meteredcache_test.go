//go:build unix

package host_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestMeteredCache_ReusedAcrossHosts: a metered load with a disk cache stores the
// instrumented module beside the compiled code; a second host on that directory (as a
// second process would be) reads it instead of rewriting the module (the file is not
// replaced), and a damaged file is ignored, rewritten and the plugin still answers right.
func TestMeteredCache_ReusedAcrossHosts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	wasm := plugintest.Fixture(t, "wat/echo.wasm")
	load := func() {
		t.Helper()
		h, err := host.New(ctx, host.NewConfig().WithCacheDir(dir).WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		defer func() { require.NoError(t, h.Close(ctx)) }()
		p, err := h.Load(ctx, wasm, host.PluginConfig{})
		require.NoError(t, err)
		require.Equal(t, host.ExecutionMetered, p.Execution())
		out, err := p.Call(ctx, "length", []byte(`"abc"`))
		require.NoError(t, err)
		assert.Equal(t, "5", string(out))
	}
	inode := func(path string) uint64 {
		t.Helper()
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Sys().(*syscall.Stat_t).Ino
	}

	load()
	files, err := filepath.Glob(filepath.Join(dir, "onex-metered-v*", "*.wasm"))
	require.NoError(t, err)
	require.Len(t, files, 1, "one instrumented module stored")
	first := inode(files[0])

	load()
	assert.Equal(t, first, inode(files[0]), "the second host read the stored module, not a new rewrite")

	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	b[len(b)-1] ^= 0xff
	require.NoError(t, os.WriteFile(files[0], b, 0o644))
	damaged := inode(files[0])
	load()
	assert.NotEqual(t, damaged, inode(files[0]), "a damaged module is rewritten")
}
