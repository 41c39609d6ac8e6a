package meter

import (
	"context"
	"testing"

	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// BenchmarkInstrument instruments the core plugin, a standard-Go module of a few MB
// (built on first use, then cached); the MB/s column is the rewriter's throughput.
func BenchmarkInstrument(b *testing.B) {
	path, err := plugintest.Path("plugins/core")
	if err != nil {
		b.Fatal(err)
	}
	wasm := readFile(b, path)
	b.SetBytes(int64(len(wasm)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Instrument(wasm, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInstrument_LoadTime compares what instrumenting costs at load with what
// loading costs anyway, on the largest of BenchmarkStdlib's binaries (encoding/json's
// test binary, 15.8 MB with go1.26; the others are 5–10 MB). Every sub-benchmark's MB/s
// is of that plain module: instrument is Instrument; compile/plain and compile/metered
// are wazero's CompileModule with the compiler, of the plain and the instrumented module;
// validate is CompileModule with the interpreter, an upper bound on wazero's decoding
// and validation alone (it also translates the code for the interpreter): about what
// validating the original before instrumenting it would add.
func BenchmarkInstrument_LoadTime(b *testing.B) {
	plain, err := buildStdlibTest(b.TempDir(), "encoding/json")
	if err != nil {
		b.Skip(err)
	}
	metered, _, err := Instrument(plain, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("instrument", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Instrument(plain, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	compile := func(cfg wazero.RuntimeConfig, wasm []byte) func(*testing.B) {
		return func(b *testing.B) {
			ctx := context.Background()
			r := wazero.NewRuntimeWithConfig(ctx, cfg)
			defer r.Close(ctx)
			b.SetBytes(int64(len(plain)))
			for b.Loop() {
				c, err := r.CompileModule(ctx, wasm)
				if err != nil {
					b.Fatal(err)
				}
				// Closing drops the code from the runtime, so the next op compiles again.
				_ = c.Close(ctx)
			}
		}
	}
	b.Run("compile/plain", compile(wazero.NewRuntimeConfigCompiler(), plain))
	b.Run("compile/metered", compile(wazero.NewRuntimeConfigCompiler(), metered))
	b.Run("validate", compile(wazero.NewRuntimeConfigInterpreter(), plain))
}
