package host_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// extismechoPath is the Extism Go PDK twin of goecho, a module of its own (the PDK is no
// dependency of onex-host).
const extismechoPath = "plugins/testdata/extismecho"

// benchExtism times Extism's go-sdk Call on extismecho: compiled once with
// NewCompiledPlugin, one Instance, memory limits set explicitly to the host's defaults.
// A timeoutMS above 0 goes into the manifest, which makes Extism enable
// close-on-context-done and derive a context.WithTimeout per call.
func benchExtism(b *testing.B, in []byte, timeoutMS uint64) {
	ctx := context.Background()
	wasm := plugintest.Bytes(b, extismechoPath)
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
