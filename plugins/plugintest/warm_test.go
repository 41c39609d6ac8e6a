package plugintest

import (
	"context"
	"io/fs"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
)

// cacheFiles lists the compiled code under a compilation cache directory.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && e.Name() == "warmed" {
			return filepath.SkipDir
		}
		if !e.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return nil
	}))
	return files
}

// TestWarm_FillsTheCacheThisBinaryReads: what the CLI compiles is what a host in a test
// binary looks up. (It was not: a test binary's wazero calls itself "dev" and keeps its
// code apart from the CLI's "v1.12.0", so every test compiled every guest under -race.)
func TestWarm_FillsTheCacheThisBinaryReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	echo := filepath.Join(Root(), "plugins", "testdata", "wat", "echo.wasm")
	require.NoError(t, warmInto(dir, echo))
	warm := cacheFiles(t, dir)
	require.NotEmpty(t, warm, "the CLI compiled into dir")
	mark, err := warmMark(dir, echo)
	require.NoError(t, err)
	assert.FileExists(t, mark)

	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig().WithCacheDir(dir).WithDataDir("").WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer h.Close(ctx)
	_, err = h.LoadFile(ctx, echo, host.PluginConfig{})
	require.NoError(t, err)
	assert.Equal(t, warm, cacheFiles(t, dir), "the load found the warm code and compiled nothing")
}
