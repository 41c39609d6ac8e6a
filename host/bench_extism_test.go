package host_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/host"
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
	call := bareExtismInstance(b, bareExtism(b, timeoutMS))
	checkEcho(b, in, func() ([]byte, error) { return call(in) }) // also runs the guest's _initialize, which Instance defers
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := call(in); err != nil {
			b.Fatal(err)
		}
	}
}

// bareExtism compiles extismecho with Extism's go-sdk alone, as an application using it
// directly would, sharing the tests' compilation cache.
func bareExtism(b *testing.B, timeoutMS uint64) *extism.CompiledPlugin {
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
	return compiled
}

// bareExtismInstance makes one Instance with the module configuration the host gives
// its guests (no files, environment or arguments; real clocks and randomness) and
// returns a call of its echo.
func bareExtismInstance(b *testing.B, compiled *extism.CompiledPlugin) func([]byte) ([]byte, error) {
	ctx := context.Background()
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
	return func(in []byte) ([]byte, error) {
		rc, out, err := p.Call("echo", in)
		if err == nil && rc != 0 {
			err = fmt.Errorf("extism echo: exit code %d", rc)
		}
		return out, err
	}
}

// benchHostExtism times Plugin.Call on extismecho loaded by the host with exec: Extism's
// path with the host's pool, deadline (30 s default, a context.WithDeadline per call) and
// checks; metered (the default, no close-on-context-done) or guarded.
func benchHostExtism(b *testing.B, in []byte, exec host.Execution) {
	p := loadExtismecho(b, 1, exec)
	ctx := context.Background()
	checkEcho(b, in, func() ([]byte, error) { return p.Call(ctx, "echo", in) })
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := p.Call(ctx, "echo", in); err != nil {
			b.Fatal(err)
		}
	}
}

// loadExtismecho loads extismecho into a host that discards its logs: a recording or
// debug logger would have Extism format and hand over a message on every call.
func loadExtismecho(b *testing.B, prewarm int, exec host.Execution) *host.Plugin {
	h, _ := newHost(b, host.NewConfig().WithLogger(slog.New(slog.DiscardHandler)))
	p, err := h.Load(context.Background(), plugintest.Bytes(b, extismechoPath), host.PluginConfig{Prewarm: prewarm, Execution: exec})
	if err != nil {
		b.Fatal(err)
	}
	if p.Execution() != exec {
		b.Fatalf("extismecho runs %s, not %s", p.Execution(), exec)
	}
	return p
}

// BenchmarkExtismWorkers runs the 64-byte echo from 1 and 2 worker goroutines at once
// through onex-host's Extism path, metered (the default) and guarded (one Plugin, its
// pool hands each worker an instance), through bare Extism (one Instance per worker, made
// before timing), and through the native ABI (goecho on the host). ns/op is wall time per
// call: with 2 workers on 2 cores it should approach half of the 1-worker figure.
func BenchmarkExtismWorkers(b *testing.B) {
	in := echoInput(64)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for _, exec := range []host.Execution{host.ExecutionMetered, host.ExecutionGuarded} {
				name := "host-extism"
				if exec == host.ExecutionGuarded {
					name += "-guarded"
				}
				b.Run(name, func(b *testing.B) {
					p := loadExtismecho(b, workers, exec)
					call := func(int) func([]byte) ([]byte, error) {
						return func(in []byte) ([]byte, error) { return p.Call(context.Background(), "echo", in) }
					}
					runWorkers(b, workers, in, call)
				})
			}
			b.Run("extism", func(b *testing.B) {
				compiled := bareExtism(b, 0)
				calls := make([]func([]byte) ([]byte, error), workers)
				for i := range calls {
					calls[i] = bareExtismInstance(b, compiled)
				}
				runWorkers(b, workers, in, func(w int) func([]byte) ([]byte, error) { return calls[w] })
			})
			b.Run("host-native", func(b *testing.B) {
				h, _ := newHost(b, host.NewConfig())
				p, err := h.Load(context.Background(), plugintest.Bytes(b, goechoPath), host.PluginConfig{Prewarm: workers})
				if err != nil {
					b.Fatal(err)
				}
				call := func(int) func([]byte) ([]byte, error) {
					return func(in []byte) ([]byte, error) { return p.Call(context.Background(), "default", in) }
				}
				runWorkers(b, workers, in, call)
			})
		})
	}
}

// runWorkers checks and warms each worker's call, then times b.N calls split over
// workers goroutines.
func runWorkers(b *testing.B, workers int, in []byte, call func(worker int) func([]byte) ([]byte, error)) {
	for w := range workers {
		checkEcho(b, in, func() ([]byte, error) { return call(w)(in) })
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range workers {
		n := b.N / workers
		if w < b.N%workers {
			n++
		}
		f := call(w)
		wg.Go(func() {
			for range n {
				if _, err := f(in); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkExtismFresh is one 64 B echo call on extismecho (Extism's Go PDK) with
// isolation fresh — each call on a new instance, whose guest runtime Extism initialises
// at that first call — with and without a snapshot of the module (issue 23: "Extism
// plugins: the plugin module at least"), and pooled for comparison. Back to back, as
// BenchmarkIsolation: the refill competes with the calls on 2 cores.
func BenchmarkExtismFresh(b *testing.B) {
	in := echoInput(64)
	fresh := host.PluginConfig{Isolation: host.IsolationFresh, Prewarm: 2}
	for _, v := range []struct {
		name string
		pc   host.PluginConfig
	}{
		{"pooled", host.PluginConfig{}},
		{"fresh", fresh},
		{"fresh-nosnapshot", withSnapshot(fresh, host.SnapshotOff)},
	} {
		b.Run(v.name, func(b *testing.B) {
			h, _ := newHost(b, host.NewConfig().WithLogger(slog.New(slog.DiscardHandler)))
			p, err := h.Load(context.Background(), plugintest.Bytes(b, extismechoPath), v.pc)
			if err != nil {
				b.Fatal(err)
			}
			call := func() ([]byte, error) { return p.Call(context.Background(), "echo", in) }
			checkEcho(b, in, call)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := call(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
