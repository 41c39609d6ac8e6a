package meter

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// instrumentExact instruments wasm in exact mode (a charge of 1 before every
// instruction), failing tb on error.
func instrumentExact(tb testing.TB, wasm []byte) []byte {
	tb.Helper()
	out, _, err := rewrite(wasm, Options{}, true)
	require.NoError(tb, err)
	return out
}

// TestInstrument_FuelIsExact holds the cost model to its promise: for every call that
// returns, the fuel charged equals the number of instructions executed, as counted by
// the exact mode, which charges each instruction right before it runs. The two modes
// run side by side on the same calls, and must give the same results too.
func TestInstrument_FuelIsExact(t *testing.T) {
	for _, tt := range resultCases() {
		t.Run(tt.name, func(t *testing.T) {
			normal, exact := side(t, tt.wasm)
			for _, args := range tt.args {
				want := call1(t, exact.mod, tt.fn, args...)
				got := call1(t, normal.mod, tt.fn, args...)
				assert.Equal(t, want, got, "%s%v", tt.fn, args)
				assert.Equal(t, exact.used(t), normal.used(t), "fuel of %s%v", tt.fn, args)
			}
		})
	}
	inputs := abiInputs()
	for _, file := range []string{"echo.wasm", "versioned1.wasm"} {
		t.Run(file, func(t *testing.T) {
			normal, exact := side(t, readFile(t, filepath.Join(plugintest.Root(), "plugins", "testdata", "wat", file)))
			for _, input := range inputs {
				s1, o1 := computeABI(t, exact.mod, input.name, input.data)
				s2, o2 := computeABI(t, normal.mod, input.name, input.data)
				assert.Equal(t, s1, s2, "status of %s", input.name)
				assert.Equal(t, o1, o2, "output of %s", input.name)
				assert.Equal(t, exact.used(t), normal.used(t), "fuel of %s", input.name)
			}
		})
	}
}

// metered is one instrumented instance and the refills it got.
type metered struct {
	h   *fuelHost
	mod api.Module
}

func (m metered) used(tb testing.TB) int64 { return m.h.used(tb, m.mod) }

// side instantiates wasm instrumented normally and exactly, each in a runtime of its own
// with env (envModule) to import from.
func side(tb testing.TB, wasm []byte) (normal, exact metered) {
	tb.Helper()
	for _, m := range []struct {
		dst  *metered
		code []byte
	}{{&normal, mustInstrument(tb, wasm)}, {&exact, instrumentExact(tb, wasm)}} {
		h := &fuelHost{chunk: 1000}
		r := newRuntime(tb, h)
		instantiateNamed(tb, r, "env", envModule())
		*m.dst = metered{h: h, mod: instantiate(tb, r, m.code)}
	}
	return normal, exact
}

func mustInstrument(tb testing.TB, wasm []byte) []byte {
	tb.Helper()
	out, _ := instrument(tb, wasm)
	return out
}

// TestInstrument_ExactBudget checks that a budget stops a runaway loop in both modes,
// and never early: each is handed its whole budget, one unit per refill, and has used at
// least that much when it is stopped. (Where each stops differs: the normal mode charges
// a segment at its start, the exact mode each instruction before it runs.)
func TestInstrument_ExactBudget(t *testing.T) {
	for _, budget := range []int64{1, 17, 1000, 12345} {
		normal, exact := side(t, countModule())
		for _, m := range []metered{normal, exact} {
			m.h.budget, m.h.chunk = budget, 1
			_, err := m.mod.ExportedFunction("count").Call(context.Background(), 1<<30)
			require.ErrorIs(t, err, errFuelExhausted)
			assert.Equal(t, budget, m.h.given, "fuel handed out before the stop")
			assert.GreaterOrEqual(t, m.used(t), budget, "fuel used at the stop")
		}
	}
}

// TestInstrument_FuelIsExactGo is TestInstrument_FuelIsExact on real Go code: the core
// plugin (standard Go, wasip1) runs its initialisation and a few computations in both
// modes, on wazero's interpreter (cheap to compile under the race detector), with a
// fixed clock and randomness so that both runs take the same path.
func TestInstrument_FuelIsExactGo(t *testing.T) {
	if raceEnabled {
		t.Skip("a minute under the race detector: make test runs it without (go test -run FuelIsExact ./host/internal/meter)")
	}
	wasm := plugintest.Bytes(t, "plugins/core")
	ctx := context.Background()
	var mods [2]metered
	for i, code := range [][]byte{mustInstrument(t, wasm), instrumentExact(t, wasm)} {
		h := &fuelHost{chunk: 1 << 17}
		r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
		t.Cleanup(func() { _ = r.Close(ctx) })
		wasi_snapshot_preview1.MustInstantiate(ctx, r)
		_, err := r.NewHostModuleBuilder(DefaultImportModule).
			NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(h.refill), nil, nil).Export(DefaultImportName).
			Instantiate(ctx)
		require.NoError(t, err)
		var clock int64
		tick := func() int64 { clock += 1000; return clock }
		mod, err := r.InstantiateWithConfig(ctx, code, wazero.NewModuleConfig().WithName("").
			WithStartFunctions("_initialize").
			WithRandSource(zeroReader{}).
			WithWalltime(func() (int64, int32) { n := tick(); return n / 1e9, int32(n % 1e9) }, sys.ClockResolution(1)).
			WithNanotime(tick, sys.ClockResolution(1)))
		require.NoError(t, err)
		mods[i] = metered{h: h, mod: mod}
	}
	normal, exact := mods[0], mods[1]
	assert.Equal(t, exact.used(t), normal.used(t), "fuel of _initialize")
	for _, in := range []struct{ name, data string }{
		{"sum_numbers", "[1,2,3,4,5]"}, {"stats", "[2,4,4,4,5,5,7,9]"}, {"sha256", `"abc"`},
		{"string_uppercase", `"hello, world"`}, {"nope", "1"},
	} {
		before := [2]int64{normal.used(t), exact.used(t)}
		s1, o1 := computeABI(t, exact.mod, in.name, in.data)
		s2, o2 := computeABI(t, normal.mod, in.name, in.data)
		assert.Equal(t, s1, s2, "status of %s", in.name)
		assert.Equal(t, string(o1), string(o2), "output of %s", in.name)
		assert.Equal(t, exact.used(t)-before[1], normal.used(t)-before[0], "fuel of %s", in.name)
		t.Logf("%s: %d instructions", in.name, exact.used(t)-before[1])
	}
}

// zeroReader is a source of zero bytes: deterministic randomness.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestInstrument_ImportCallFuel checks that a call to an imported function costs
// ImportCallFuel more than its own instruction, and a call to a defined one does not.
func TestInstrument_ImportCallFuel(t *testing.T) {
	wasm := wasmModule(
		sec(secType, vec(funcType(nil, []byte{tI32}))),
		sec(secImport, vec(importFunc("env", "base", 0))),
		sec(secFunction, vec(uleb(0), uleb(0))),
		sec(secExport, vec(exportOf("host", 0, 1), exportOf("own", 0, 2))),
		sec(secCode, vec(fbody(nil, call(0)), fbody(nil, call(1)))),
	)
	normal, exact := side(t, wasm)
	assert.Equal(t, uint64(100), call1(t, normal.mod, "host"))
	assert.Equal(t, int64(2+ImportCallFuel), normal.used(t), "call base, end")
	before := normal.used(t)
	assert.Equal(t, uint64(100), call1(t, normal.mod, "own"))
	assert.Equal(t, int64(2+2+ImportCallFuel), normal.used(t)-before, "call host, end, and host's own")
	call1(t, exact.mod, "host")
	call1(t, exact.mod, "own")
	assert.Equal(t, exact.used(t), normal.used(t))
}
