package host_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// The echo benchmarks measure what a call costs the host on the cheapest possible
// computation, an identity echo, side by side with the same work done by hand on raw
// wazero, with Extism's go-sdk, and natively. BENCHMARKS.md holds the results and how to
// reproduce them. They run only with -bench: plain go test compiles but never runs them.
//
// Every leaf uses b.Loop, so its setup (loading, instantiating, the guest's _initialize
// and a first call) runs once per -count and is never timed.

// echoSizes are the input sizes: a small request and a large one.
var echoSizes = []struct {
	name string
	size int
}{
	{"64B", 64},
	{"64KiB", 64 << 10},
}

// echoInput returns a JSON string of exactly n bytes (n >= 2), so that every variant gets
// valid JSON as the ABI asks.
func echoInput(n int) []byte {
	b := bytes.Repeat([]byte("x"), n)
	b[0], b[n-1] = '"', '"'
	return b
}

// goechoPath is the standard-Go SDK plugin every native-ABI variant runs.
const goechoPath = "plugins/testdata/goecho"

// memoryPages is the host's default memory limit in Wasm pages, given to every raw
// runtime so all variants run under the same limit.
const memoryPages = host.DefaultMemoryLimit / (64 << 10)

// BenchmarkEcho compares one identity call at 64 B and 64 KiB through:
//
//   - host: Plugin.Call with the default config (metered execution, 30 s timeout, so the
//     watchdog is armed): pool acquire, copy in, onex_compute, copy out, release;
//   - host-guarded: the same with PluginConfig{Execution: ExecutionGuarded}, the
//     close-on-context-done runtime every call used before metering;
//   - host-nodeadline: the same with PluginConfig{Timeout: -1} (no watchdog);
//   - host-cancelctx: the default config with a caller context that can be canceled,
//     as a server's request context is (the host then registers context.AfterFunc);
//   - wazero-guarded: the same ABI sequence by hand on raw wazero with cached functions
//     and CallWithStack, in a runtime with close-on-context-done, as the host's;
//   - wazero-raw: the same without close-on-context-done (unstoppable guests);
//   - host-extism: Plugin.Call on the same echo written with Extism's Go PDK, loaded by
//     the host (Extism flavour: its pool, deadline and checks around Extism's Call),
//     metered, as by default;
//   - host-extism-guarded: the same, guarded (close-on-context-done);
//   - extism: Extism's go-sdk Call on that Extism echo, one Instance of a
//     CompiledPlugin, no timeout (Extism's default);
//   - extism-timeout: the same with a manifest timeout, which makes Extism enable
//     close-on-context-done and wrap each call in context.WithTimeout;
//   - native: a Go copy in and copy out, for scale.
func BenchmarkEcho(b *testing.B) {
	for _, v := range []struct {
		name string
		run  func(b *testing.B, in []byte)
	}{
		{"host", func(b *testing.B, in []byte) { benchHost(b, in, host.PluginConfig{}, false) }},
		{"host-guarded", func(b *testing.B, in []byte) {
			benchHost(b, in, host.PluginConfig{Execution: host.ExecutionGuarded}, false)
		}},
		{"host-nodeadline", func(b *testing.B, in []byte) { benchHost(b, in, host.PluginConfig{Timeout: -1}, false) }},
		{"host-cancelctx", func(b *testing.B, in []byte) { benchHost(b, in, host.PluginConfig{}, true) }},
		{"wazero-guarded", func(b *testing.B, in []byte) { benchWazero(b, in, true) }},
		{"wazero-raw", func(b *testing.B, in []byte) { benchWazero(b, in, false) }},
		{"host-extism", func(b *testing.B, in []byte) { benchHostExtism(b, in, host.ExecutionMetered) }},
		{"host-extism-guarded", func(b *testing.B, in []byte) { benchHostExtism(b, in, host.ExecutionGuarded) }},
		{"extism", func(b *testing.B, in []byte) { benchExtism(b, in, 0) }},
		{"extism-timeout", func(b *testing.B, in []byte) { benchExtism(b, in, 30_000) }},
		{"native", benchNative},
	} {
		b.Run(v.name, func(b *testing.B) {
			for _, s := range echoSizes {
				b.Run(s.name, func(b *testing.B) { v.run(b, echoInput(s.size)) })
			}
		})
	}
}

// benchHost times Plugin.Call on goecho. With cancelable, the caller's context has a Done
// channel, as an HTTP request's context does.
func benchHost(b *testing.B, in []byte, pc host.PluginConfig, cancelable bool) {
	h, _ := newHost(b, host.NewConfig())
	ctx := context.Background()
	p, err := h.Load(ctx, plugintest.Bytes(b, goechoPath), pc)
	if err != nil {
		b.Fatal(err)
	}
	if cancelable {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		b.Cleanup(cancel)
	}
	checkEcho(b, in, func() ([]byte, error) { return p.Call(ctx, abi.DefaultComputation, in) })
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := p.Call(ctx, abi.DefaultComputation, in); err != nil {
			b.Fatal(err)
		}
	}
}

// benchWazero times the host's call sequence done by hand on raw wazero.
func benchWazero(b *testing.B, in []byte, guarded bool) {
	w := newWazeroEcho(b, plugintest.Bytes(b, goechoPath), guarded, len(abi.DefaultComputation)+len(in))
	ctx := context.Background()
	checkEcho(b, in, func() ([]byte, error) { return w.echo(ctx, abi.DefaultComputation, in) })
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := w.echo(ctx, abi.DefaultComputation, in); err != nil {
			b.Fatal(err)
		}
	}
}

// benchNative times the two copies every variant makes: into the guest's buffer and out
// to a fresh slice for the caller.
func benchNative(b *testing.B, in []byte) {
	buf := make([]byte, len(in))
	echo := func() []byte {
		copy(buf, in)
		return append([]byte(nil), buf...)
	}
	checkEcho(b, in, func() ([]byte, error) { return echo(), nil })
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		echo()
	}
}

// BenchmarkEchoParallel runs Plugin.Call on one Plugin (default config) from
// GOMAXPROCS goroutines at once; compare its ns/op with BenchmarkEcho/host, and run it
// with -cpu 1,2,4 to see how calls scale. The pool is pre-warmed with one instance per
// goroutine, so instantiation (~3 ms each) stays out of the timing.
func BenchmarkEchoParallel(b *testing.B) {
	h, _ := newHost(b, host.NewConfig())
	pc := host.PluginConfig{Prewarm: runtime.GOMAXPROCS(0)}
	p, err := h.Load(context.Background(), plugintest.Bytes(b, goechoPath), pc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("host", func(b *testing.B) {
		for _, s := range echoSizes {
			b.Run(s.name, func(b *testing.B) {
				in := echoInput(s.size)
				ctx := context.Background()
				checkEcho(b, in, func() ([]byte, error) { return p.Call(ctx, abi.DefaultComputation, in) })
				b.ReportAllocs()
				b.SetBytes(int64(len(in)))
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := p.Call(ctx, abi.DefaultComputation, in); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	})
}

// checkEcho fails b unless call returns in unchanged; it also warms up the path.
func checkEcho(b *testing.B, in []byte, call func() ([]byte, error)) {
	b.Helper()
	out, err := call()
	if err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(out, in) {
		b.Fatalf("echo returned %d bytes, want the %d-byte input back", len(out), len(in))
	}
}

// wazeroEcho is one goecho instance on a raw wazero runtime, driven through the native
// ABI exactly as the host drives it, minus the pool, the watchdog and the error handling.
type wazeroEcho struct {
	mem     api.Memory
	compute api.Function
	stack   [3]uint64
	buf     uint32 // the input buffer from onex_alloc, allocated once
}

// newWazeroEcho instantiates wasm in a runtime of its own, configured as the host
// configures its runtimes (guarded selects close-on-context-done), and allocates a guest
// buffer of bufSize bytes. Everything is closed when b ends.
func newWazeroEcho(b *testing.B, wasm []byte, guarded bool, bufSize int) *wazeroEcho {
	b.Helper()
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(cacheDir)
	if err != nil {
		b.Fatal(err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(memoryPages).
		WithCloseOnContextDone(guarded))
	b.Cleanup(func() {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx) // after the runtime: closing it first breaks compiled modules
	})
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	i32 := api.ValueTypeI32
	_, err = rt.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
			stack[0] = uint64(abi.StatusOK) // the echo never logs; accept and drop
		}), []api.ValueType{i32, i32, i32}, []api.ValueType{i32}).
		Export(abi.ImportLog).
		Instantiate(ctx)
	if err != nil {
		b.Fatal(err)
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		b.Fatal(err)
	}
	mod, err := rt.InstantiateModule(ctx, compiled, wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithSysWalltime().
		WithSysNanotime().
		WithSysNanosleep().
		WithRandSource(rand.Reader))
	if err != nil {
		b.Fatal(err)
	}
	w := &wazeroEcho{mem: mod.Memory(), compute: mod.ExportedFunction(abi.ExportCompute)}
	alloc := mod.ExportedFunction(abi.ExportAlloc)
	w.stack[0] = uint64(max(bufSize, abi.ReturnAreaSize))
	if err := alloc.CallWithStack(ctx, w.stack[:]); err != nil {
		b.Fatal(err)
	}
	if w.buf = uint32(w.stack[0]); w.buf == 0 {
		b.Fatal("onex_alloc returned 0")
	}
	return w
}

// echo writes name and data to the guest buffer, calls onex_compute, reads the return
// area and returns a copy of the output.
func (w *wazeroEcho) echo(ctx context.Context, name string, data []byte) ([]byte, error) {
	if !w.mem.WriteString(w.buf, name) || !w.mem.Write(w.buf+uint32(len(name)), data) {
		return nil, fmt.Errorf("input outside guest memory")
	}
	w.stack[0], w.stack[1], w.stack[2] = uint64(w.buf), uint64(len(name)), uint64(len(data))
	if err := w.compute.CallWithStack(ctx, w.stack[:]); err != nil {
		return nil, err
	}
	if status := abi.Status(int32(uint32(w.stack[0]))); status != abi.StatusOK {
		return nil, fmt.Errorf("onex_compute: status %v", status)
	}
	ret, ok := w.mem.ReadUint64Le(w.buf)
	if !ok {
		return nil, fmt.Errorf("return area outside guest memory")
	}
	ptr, n := abi.ReturnArea(ret)
	out, ok := w.mem.Read(ptr, n)
	if !ok {
		return nil, fmt.Errorf("output outside guest memory")
	}
	return append([]byte(nil), out...), nil
}
