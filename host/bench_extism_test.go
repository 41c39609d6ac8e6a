package host_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// extismechoPath is the Extism Go PDK twin of goecho. It is a module of its own (the PDK
// is no dependency of onex-host), so plugintest.Path, which builds ./<dir> from the
// repository root, cannot build it; buildNestedPlugin does.
const extismechoPath = "plugins/testdata/extismecho"

// benchExtism times Extism's go-sdk Call on extismecho: compiled once with
// NewCompiledPlugin, one Instance, memory limits set explicitly to the host's defaults.
// A timeoutMS above 0 goes into the manifest, which makes Extism enable
// close-on-context-done and derive a context.WithTimeout per call.
func benchExtism(b *testing.B, in []byte, timeoutMS uint64) {
	ctx := context.Background()
	wasm, err := os.ReadFile(buildNestedPlugin(b, extismechoPath))
	if err != nil {
		b.Fatal(err)
	}
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		b.Fatal(err)
	}
	manifest := extism.Manifest{
		Wasm: []extism.Wasm{extism.WasmData{Data: wasm, Name: "main"}},
		// Set every limit: a ManifestMemory built in Go leaves MaxVarBytes and
		// MaxHttpResponseBytes at 0, which disables vars and HTTP responses.
		Memory: &extism.ManifestMemory{
			MaxPages:             memoryPages,
			MaxVarBytes:          1 << 20,  // Extism's default
			MaxHttpResponseBytes: 50 << 20, // Extism's default
		},
		Timeout: timeoutMS,
	}
	compiled, err := extism.NewCompiledPlugin(ctx, manifest, extism.PluginConfig{
		RuntimeConfig: wazero.NewRuntimeConfig().WithCompilationCache(cache),
		EnableWasi:    true,
	}, nil)
	if err != nil {
		_ = cache.Close(ctx)
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = compiled.Close(ctx)
		_ = cache.Close(ctx) // after the plugin: closing it first breaks compiled modules
	})
	// The same module configuration the host gives its guests: no files, environment or
	// arguments; real clocks and randomness. Extism overrides the name and start functions.
	p, err := compiled.Instance(ctx, extism.PluginInstanceConfig{
		ModuleConfig: wazero.NewModuleConfig().
			WithSysWalltime().
			WithSysNanotime().
			WithSysNanosleep().
			WithRandSource(rand.Reader),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close(ctx) })
	call := func() ([]byte, error) {
		rc, out, err := p.Call("echo", in)
		if err == nil && rc != 0 {
			err = fmt.Errorf("extism echo: exit code %d", rc)
		}
		return out, err
	}
	checkEcho(b, in, call) // also runs the guest's _initialize, which Instance defers
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := call(); err != nil {
			b.Fatal(err)
		}
	}
}

// buildNestedPlugin builds the Go plugin in dir (relative to the repository root), a
// directory with a go.mod of its own, and returns the path of its .wasm file. It caches
// the build as plugintest.Path does, under the user's cache directory, keyed by the Go
// version and the directory's go.mod, go.sum and .go files.
//
// TODO: move into plugintest.Path (build from dir itself when it holds a go.mod) and
// drop this copy.
func buildNestedPlugin(tb testing.TB, dir string) string {
	tb.Helper()
	src := filepath.Join(plugintest.Root(), filepath.FromSlash(dir))
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version())
	entries, err := os.ReadDir(src)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range entries { // ReadDir sorts by name, so the key is stable
		name := e.Name()
		if e.IsDir() || !(name == "go.mod" || name == "go.sum" || strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			tb.Fatal(err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "onex-host", "testplugins", filepath.Base(dir)+"-"+hex.EncodeToString(h.Sum(nil))[:16]+".wasm")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		tb.Fatalf("build %s: %v\n%s", dir, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		tb.Fatal(err)
	}
	return out
}
