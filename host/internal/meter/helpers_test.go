package meter

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// errFuelExhausted is what the test refill function panics with when its budget is
// spent; wazero returns it (wrapped) from the guest call.
var errFuelExhausted = errors.New("test: fuel exhausted")

// fuelHost is the host side of metering in tests: its refill adds chunk to the counter,
// and ends the call by panicking once it has handed out budget (when budget > 0).
type fuelHost struct {
	chunk   int64
	budget  int64
	refills int
	given   int64
}

func (h *fuelHost) refill(_ context.Context, mod api.Module, _ []uint64) {
	h.refills++
	if h.budget > 0 && h.given+h.chunk > h.budget {
		panic(errFuelExhausted)
	}
	g := mod.ExportedGlobal(DefaultGlobal).(api.MutableGlobal)
	g.Set(uint64(int64(g.Get()) + h.chunk))
	h.given += h.chunk
}

// used returns the fuel the guest has charged so far.
func (h *fuelHost) used(tb testing.TB, mod api.Module) int64 {
	tb.Helper()
	return h.given - int64(mod.ExportedGlobal(DefaultGlobal).Get())
}

// newRuntime returns a wazero runtime (the compiler) with a host module "onex" that
// exports fuel (h.refill) and log (which returns 0), closed when tb ends.
func newRuntime(tb testing.TB, h *fuelHost) wazero.Runtime {
	tb.Helper()
	ctx := context.Background()
	r := wazero.NewRuntime(ctx)
	tb.Cleanup(func() { _ = r.Close(ctx) })
	i32 := api.ValueTypeI32
	_, err := r.NewHostModuleBuilder(DefaultImportModule).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(h.refill), nil, nil).Export(DefaultImportName).
		NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, _ api.Module, stack []uint64) {
		stack[0] = 0
	}), []api.ValueType{i32, i32, i32}, []api.ValueType{i32}).Export("log").
		Instantiate(ctx)
	require.NoError(tb, err)
	return r
}

// instantiate compiles and instantiates wasm in r under a fresh name.
func instantiate(tb testing.TB, r wazero.Runtime, wasm []byte) api.Module {
	tb.Helper()
	ctx := context.Background()
	mod, err := r.InstantiateWithConfig(ctx, wasm, wazero.NewModuleConfig().WithName(""))
	require.NoError(tb, err)
	return mod
}

// call calls the export name of mod and returns its results.
func call1(tb testing.TB, mod api.Module, name string, args ...uint64) uint64 {
	tb.Helper()
	res, err := mod.ExportedFunction(name).Call(context.Background(), args...)
	require.NoError(tb, err)
	require.Len(tb, res, 1)
	return res[0]
}

// instrument instruments wasm with the default options, failing tb on error.
func instrument(tb testing.TB, wasm []byte) ([]byte, Info) {
	tb.Helper()
	out, info, err := Instrument(wasm, Options{})
	require.NoError(tb, err)
	return out, info
}

// validator compiles modules with wazero's interpreter: CompileModule decodes and
// validates the whole module, and the interpreter's compile step is much cheaper than
// the compiler's under the race detector.
func validator(tb testing.TB) (wazero.Runtime, func(wasm []byte) error) {
	tb.Helper()
	ctx := context.Background()
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	tb.Cleanup(func() { _ = r.Close(ctx) })
	return r, func(wasm []byte) error {
		c, err := r.CompileModule(ctx, wasm)
		if err == nil {
			_ = c.Close(ctx)
		}
		return err
	}
}

// fixture is a real module the tests instrument.
type fixture struct {
	name string
	path string
}

// fixtures lists this repository's WAT fixtures and the Extism go-sdk's test plugins
// (Rust, C, Haskell, TinyGo and standard Go, read in place from the module cache).
func fixtures(tb testing.TB) []fixture {
	tb.Helper()
	wat, err := filepath.Glob(filepath.Join(plugintest.Root(), "plugins", "testdata", "wat", "*.wasm"))
	require.NoError(tb, err)
	require.NotEmpty(tb, wat)
	one, err := plugintest.ExtismPath("alloc.wasm")
	require.NoError(tb, err)
	extism, err := filepath.Glob(filepath.Join(filepath.Dir(one), "*.wasm"))
	require.NoError(tb, err)
	var out []fixture
	for _, p := range wat {
		if !strings.HasPrefix(filepath.Base(p), "invalid-") { // deliberately invalid: see errors_test.go
			out = append(out, fixture{name: "wat/" + filepath.Base(p), path: p})
		}
	}
	for _, p := range extism {
		out = append(out, fixture{name: "extism/" + filepath.Base(p), path: p})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	require.NoError(tb, err)
	return b
}

// rawSection is one section of a module as it appears in the bytes.
type rawSection struct {
	id   byte
	name string // custom sections only
	raw  []byte // header and payload
}

// splitSections splits a well-formed module into its sections.
func splitSections(tb testing.TB, wasm []byte) []rawSection {
	tb.Helper()
	r := &reader{b: wasm, off: len(magic)}
	var out []rawSection
	for r.len() > 0 {
		start := r.off
		id, err := r.byte()
		require.NoError(tb, err)
		size, err := r.u32()
		require.NoError(tb, err)
		body := r.off
		require.NoError(tb, r.skip(int(size)))
		s := rawSection{id: id, raw: wasm[start:r.off]}
		if id == secCustom {
			nr := &reader{b: wasm[body:r.off]}
			name, err := nr.name()
			require.NoError(tb, err)
			s.name = string(name)
		}
		out = append(out, s)
	}
	return out
}

// instantiateNamed compiles and instantiates wasm in r as the module name.
func instantiateNamed(tb testing.TB, r wazero.Runtime, name string, wasm []byte) api.Module {
	tb.Helper()
	mod, err := r.InstantiateWithConfig(context.Background(), wasm, wazero.NewModuleConfig().WithName(name))
	require.NoError(tb, err)
	return mod
}
