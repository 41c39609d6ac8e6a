//go:build unix

package host

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/internal/meter"
)

// TestMeteredCode_StoredAndReused: with a disk cache, a module at least meteredCacheMin
// bytes long is instrumented once and stored; a second host on the directory (as a second
// process would be) reads the stored module instead of rewriting it (the file is not
// replaced); a damaged file is ignored and rewritten; every answer is the instrumented
// module. A smaller module is not stored.
func TestMeteredCode_StoredAndReused(t *testing.T) {
	wasm, err := os.ReadFile("../plugins/testdata/wat/echo.wasm")
	require.NoError(t, err)
	want, _, err := meter.Instrument(wasm, meter.Options{})
	require.NoError(t, err)
	dir := t.TempDir()
	code := func() []byte {
		t.Helper()
		h, err := New(context.Background(), NewConfig().WithCacheDir(dir).WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		defer h.Close(context.Background())
		got, err := h.meteredCode("sha256:echo", wasm)
		require.NoError(t, err)
		return got
	}
	stored := func() []string {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(dir, meteredDir, "*.wasm"))
		require.NoError(t, err)
		return files
	}
	inode := func(path string) uint64 {
		t.Helper()
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Sys().(*syscall.Stat_t).Ino
	}

	require.Less(t, len(wasm), meteredCacheMin)
	assert.True(t, bytes.Equal(want, code()))
	assert.Empty(t, stored(), "a small module is rewritten each time, not stored")

	defer func(min int) { meteredCacheMin = min }(meteredCacheMin)
	meteredCacheMin = len(wasm)
	assert.True(t, bytes.Equal(want, code()))
	files := stored()
	require.Len(t, files, 1, "one instrumented module stored")
	first := inode(files[0])

	assert.True(t, bytes.Equal(want, code()))
	assert.Equal(t, first, inode(files[0]), "the second host read the stored module, not a new rewrite")

	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	b[len(b)-1] ^= 0xff
	require.NoError(t, os.WriteFile(files[0], b, 0o644))
	damaged := inode(files[0])
	assert.True(t, bytes.Equal(want, code()), "a damaged file is not used")
	assert.NotEqual(t, damaged, inode(files[0]), "a damaged module is rewritten")
}
