package plugintest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyModule writes a module with one plugin, p, whose source prints word, and returns
// its root.
func tinyModule(t *testing.T, word string) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("module example.com/tiny\n\ngo 1.22\n"), 0o644))
	writePlugin(t, root, word)
	return root
}

func writePlugin(t *testing.T, root, word string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "p"), 0o755))
	src := "package main\n\nfunc main() { println(\"" + word + "\") }\n"
	require.NoError(t, os.WriteFile(filepath.Join(root, "p", "main.go"), []byte(src), 0o644))
}

func newTestBuilder(root, dir string) *builder {
	return &builder{root: root, dir: dir, mods: []string{"go.mod"}, toolc: toolchain}
}

// wasmMagic is how every WebAssembly binary begins.
var wasmMagic = []byte("\x00asm")

func TestBuilder_ConcurrentCallersShareOneBuild(t *testing.T) {
	t.Parallel()
	b := newTestBuilder(tinyModule(t, "one"), t.TempDir())
	const callers = 6
	paths := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { paths[i], errs[i] = b.path("p") })
	}
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i])
		assert.Equal(t, paths[0], paths[i])
	}
	assert.Equal(t, int64(1), b.builds.Load(), "callers waiting for the lock reuse the build")
	wasm, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(wasm, wasmMagic))
	leftovers, _ := filepath.Glob(filepath.Join(b.dir, "*.tmp"))
	assert.Empty(t, leftovers)
}

// helperEnv names the environment variables that make this test binary a builder
// process for TestBuilder_ConcurrentProcessesShareOneBuild.
const helperEnv = "PLUGINTEST_HELPER_ROOT"

func TestBuilder_ConcurrentProcessesShareOneBuild(t *testing.T) {
	if root := os.Getenv(helperEnv); root != "" { // a builder process
		b := newTestBuilder(root, os.Getenv(helperEnv+"_DIR"))
		path, err := b.path("p")
		require.NoError(t, err)
		require.NoError(t, json.NewEncoder(os.Stdout).Encode(map[string]any{"path": path, "builds": b.builds.Load()}))
		return
	}
	t.Parallel()
	root, dir := tinyModule(t, "two"), t.TempDir()
	const processes = 3
	outs := make([][]byte, processes)
	errs := make([]error, processes)
	var wg sync.WaitGroup
	for i := range processes {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBuilder_ConcurrentProcessesShareOneBuild$")
			cmd.Env = append(os.Environ(), helperEnv+"="+root, helperEnv+"_DIR="+dir)
			outs[i], errs[i] = cmd.Output()
		})
	}
	wg.Wait()
	var builds int64
	var first string
	for i := range processes {
		require.NoError(t, errs[i], "%s", outs[i])
		// The helper's stdout is its JSON line, then the test framework's PASS.
		line, _, _ := bytes.Cut(outs[i], []byte("\n"))
		var got struct {
			Path   string
			Builds int64
		}
		require.NoError(t, json.Unmarshal(line, &got), "%s", outs[i])
		if i == 0 {
			first = got.Path
		}
		assert.Equal(t, first, got.Path)
		builds += got.Builds
	}
	assert.Equal(t, int64(1), builds, "one process builds, the others wait for it and reuse the build")
}

func TestBuilder_SourceChangeRebuilds(t *testing.T) {
	t.Parallel()
	root := tinyModule(t, "before")
	b := newTestBuilder(root, t.TempDir())
	before, err := b.path("p")
	require.NoError(t, err)
	again, err := b.path("p")
	require.NoError(t, err)
	assert.Equal(t, before, again)
	assert.Equal(t, int64(1), b.builds.Load(), "an unchanged source is a hit")

	writePlugin(t, root, "after")
	after, err := b.path("p")
	require.NoError(t, err)
	assert.NotEqual(t, before, after, "a changed source is a new build")
	assert.Equal(t, int64(2), b.builds.Load())
	assert.FileExists(t, before, "a build used in the last hour is kept: another checkout may use it")
	old, err := os.ReadFile(before)
	require.NoError(t, err)
	cur, err := os.ReadFile(after)
	require.NoError(t, err)
	assert.NotEqual(t, old, cur)

	writePlugin(t, root, "before")
	back, err := b.path("p")
	require.NoError(t, err)
	assert.Equal(t, before, back, "the old source's build is found again")
	assert.Equal(t, int64(2), b.builds.Load())
}

// TestBuilder_KeyCoversFlagsAndToolchain changes wasmFlags, so it is not parallel.
func TestBuilder_KeyCoversFlagsAndToolchain(t *testing.T) {
	root := tinyModule(t, "k")
	b := newTestBuilder(root, t.TempDir())
	k1, err := b.key("p", false)
	require.NoError(t, err)
	b.toolc = func() (string, error) { return "go0.0 other settings", nil }
	k2, err := b.key("p", false)
	require.NoError(t, err)
	assert.NotEqual(t, k1, k2, "another toolchain or GOFLAGS is another build")

	saved := wasmFlags
	t.Cleanup(func() { wasmFlags = saved })
	wasmFlags = append([]string{"-trimpath"}, saved...)
	k3, err := b.key("p", false)
	require.NoError(t, err)
	assert.NotEqual(t, k2, k3, "other build flags are another build")
}

func TestBuilder_FailedBuildLeavesNothing(t *testing.T) {
	t.Parallel()
	root := tinyModule(t, "x")
	require.NoError(t, os.WriteFile(filepath.Join(root, "p", "main.go"), []byte("package main\n\nfunc main() { undefined() }\n"), 0o644))
	b := newTestBuilder(root, t.TempDir())
	_, err := b.path("p")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "undefined")
	left, _ := filepath.Glob(filepath.Join(b.dir, "*.wasm*"))
	for _, f := range left {
		assert.Regexp(t, `\.lock$`, f, "only the lock file remains")
	}
}
