package host_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/internal/hosttest"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// cacheDir is the compilation cache shared by the tests (see package plugintest: under
// -race a cold compile of a Go guest takes ~40 s, so guests are compiled once, warm,
// outside the race detector).
var cacheDir = plugintest.CacheDir()

// goPlugins are the standard-Go guests these tests load, by source directory.
var goPlugins = []string{
	"plugins/core",
	"plugins/testdata/loop",
	"plugins/testdata/membomb",
	"plugins/testdata/panic",
	"plugins/testdata/crash",
	"plugins/testdata/bigoutput",
	"plugins/testdata/chatty",
	"plugins/testdata/goecho",
	"plugins/text", // an Extism Go PDK plugin, a module of its own
	"plugins/testdata/effects",
	"plugins/testdata/counter",
	"plugins/testdata/configured",
	"plugins/fileops",
	"plugins/httpcall",
}

// goPluginPaths maps each of goPlugins to its built .wasm file.
var goPluginPaths = map[string]string{}

// extismFixtures are the Extism go-sdk's own test plugins these tests load, read in place
// from the module cache (see plugintest.ExtismPath), by source language.
var extismFixtures = []string{
	"count_vowels.wasm",  // Rust
	"hello_haskell.wasm", // Haskell
	"std_command.wasm",   // standard Go, a command module
	"sleep.wasm",         // TinyGo
	"config.wasm",        // TinyGo
	"log.wasm",           // TinyGo
	"fail.wasm",          // C
	"http_headers.wasm",  // Rust
	"read_write.wasm",    // Rust
	"host.wasm",          // needs an application host function
}

// extismPaths maps each of extismFixtures to its path.
var extismPaths = map[string]string{}

func TestMain(m *testing.M) {
	var paths []string
	for _, dir := range goPlugins {
		path, err := plugintest.Path(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		goPluginPaths[dir] = path
		paths = append(paths, path)
	}
	for _, name := range extismFixtures {
		path, err := plugintest.ExtismPath(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		extismPaths[name] = path
		if name != "host.wasm" { // cannot load: it is refused, which is what the test checks
			paths = append(paths, path)
		}
	}
	if err := plugintest.Warm(paths...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// loadGo loads one of goPlugins into h.
func loadGo(tb testing.TB, h *host.Host, dir string, cfg host.PluginConfig) *host.Plugin {
	tb.Helper()
	path, ok := goPluginPaths[dir]
	require.True(tb, ok, "%s is not in goPlugins", dir)
	p, err := h.LoadFile(context.Background(), path, cfg)
	require.NoError(tb, err)
	return p
}

// newHost returns a Host with test defaults (shared cache, recorded logs) and closes it
// when the test ends.
func newHost(tb testing.TB, cfg host.Config) (*host.Host, *recorder) {
	tb.Helper()
	return hosttest.NewHost(tb, cfg)
}

// recorder is a slog.Handler that keeps every record, for assertions.
type recorder = hosttest.Recorder
