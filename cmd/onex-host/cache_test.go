package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// TestCache_LeastRecentlyUsedAndCommands: three plugins compiled into one cache whose
// limit holds two of them. The one used least recently goes, not the one compiled first;
// `cache ls` lists them most recently used first with the total; `cache prune --max 0`
// and `cache clear` empty it.
func TestCache_LeastRecentlyUsedAndCommands(t *testing.T) {
	bin := cliBinary(t)
	wat := func(name string) string { return filepath.Join(plugintest.Root(), "plugins", "testdata", "wat", name) }
	a, b, c := wat("echo.wasm"), wat("loop.wasm"), wat("sleep.wasm")
	cli := func(dir, max string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "ONEX_HOST_CACHE_DIR="+dir, "ONEX_HOST_CACHE_MAX="+max)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	sizeOf := func(plugin string) int64 { // compiled alone, in a cache of its own
		dir := t.TempDir()
		cli(dir, "-1", "inspect", plugin)
		files, err := host.CacheDirFiles(dir)
		require.NoError(t, err)
		require.Len(t, files, 1)
		return files[0].Size
	}
	sa, sb, sc := sizeOf(a), sizeOf(b), sizeOf(c)
	require.True(t, sa != sb && sb != sc, "the sizes tell the modules apart: %d %d %d", sa, sb, sc)

	dir := t.TempDir()
	cli(dir, "-1", "inspect", a)
	cli(dir, "-1", "inspect", b)
	cli(dir, "-1", "inspect", a) // a hit: a is now used more recently than b
	files, err := host.CacheDirFiles(dir)
	require.NoError(t, err)
	require.Len(t, files, 2)

	// Compiling c overflows a limit that holds a and c: b, the least recently used, goes.
	cli(dir, strconv.FormatInt(sa+sc, 10), "inspect", c)
	files, err = host.CacheDirFiles(dir)
	require.NoError(t, err)
	require.Len(t, files, 2, "one module evicted")
	ls := cli(dir, "-1", "cache", "ls")
	lines := strings.Split(strings.TrimSpace(ls), "\n")
	require.Len(t, lines, 4, "header, two modules, total:\n%s", ls)
	assert.Contains(t, lines[1], files[0].Name)
	assert.Regexp(t, regexp.MustCompile(`^2 modules, .* in `+regexp.QuoteMeta(dir)+` \(limit none\)$`), lines[3])
	assert.Equal(t, sa+sc, files[0].Size+files[1].Size, "a and c stayed")

	// Loading b again compiles it again; a fresh load of a is a hit (no growth).
	cli(dir, "-1", "inspect", b)
	cli(dir, "-1", "inspect", a)
	files, err = host.CacheDirFiles(dir)
	require.NoError(t, err)
	assert.Len(t, files, 3)

	out := cli(dir, "-1", "cache", "prune", "--max", "0")
	assert.Regexp(t, `^removed 3 modules \(.*\); 0 B left\n$`, out)
	out = cli(dir, "-1", "cache", "clear")
	assert.Equal(t, "removed 0 modules (0 B); 0 B left\n", out)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.Equal(t, "onex-index", e.Name(), "only the (empty) index directory is left")
	}
	index, err := os.ReadDir(filepath.Join(dir, "onex-index"))
	require.NoError(t, err)
	assert.Empty(t, index)
}
