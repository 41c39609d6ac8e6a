package meter

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// Fuel of the test modules below, counted by hand: one unit per instruction executed,
// charged per segment of straight-line code (see the package documentation).
//
// count(n) runs block, loop (2); n+1 times the loop's test, local.get local.get
// i32.ge_u br_if (4); n times the step, local.get i32.const i32.add local.set br (5);
// and once out of the block, local.get and the function's end (2). The loop's end and
// the block's end are reached only by branches, so they never run.
const (
	countOutside = 4
	countTest    = 4
	countStep    = 5
)

func countFuel(n uint64) int64 { return int64(countOutside + countTest*(n+1) + countStep*n) }

// fib(n) runs, per call, local.get i32.const i32.lt_s if (4) and the function's end (1),
// and either local.get else (2) when n < 2, or the else branch (10: two calls, their
// arguments, i32.add and the if's end).
const (
	fibEntry = 5
	fibLeaf  = 2
	fibInner = 10
)

// countModule exports count(n) -> n, which loops n times, and imports nothing.
func countModule() []byte {
	return wasmModule(
		sec(secType, vec(funcType([]byte{tI32}, []byte{tI32}))),
		sec(secFunction, vec(uleb(0))),
		sec(secExport, vec(exportOf("count", 0, 0))),
		sec(secCode, vec(fbody([][]byte{local(1, tI32)},
			opBlock, blockEmpty,
			opLoop, blockEmpty,
			lget(1), lget(0), opI32GeU, brIf(1),
			lget(1), i32c(1), opI32Add, lset(1),
			br(0),
			opEnd,
			opEnd,
			lget(1),
		))),
	)
}

// fibModule exports fib(n), recursive without a loop. It imports env.base first, so
// that fib's own index (1) and its recursive calls are renumbered.
func fibModule() []byte {
	return wasmModule(
		sec(secType, vec(funcType([]byte{tI32}, []byte{tI32}), funcType(nil, []byte{tI32}))),
		sec(secImport, vec(importFunc("env", "base", 1))),
		sec(secFunction, vec(uleb(0))),
		sec(secExport, vec(exportOf("fib", 0, 1))),
		sec(secCode, vec(fbody(nil,
			lget(0), i32c(2), opI32LtS,
			opIf, tI32,
			lget(0),
			opElse,
			lget(0), i32c(1), opI32Sub, call(1),
			lget(0), i32c(2), opI32Sub, call(1),
			opI32Add,
			opEnd,
		))),
	)
}

// envModule provides the imports of fibModule and renumberModule: base() -> 100 and an
// immutable i32 global g = 7.
func envModule() []byte {
	return wasmModule(
		sec(secType, vec(funcType(nil, []byte{tI32}))),
		sec(secFunction, vec(uleb(0))),
		sec(secGlobal, vec(cat(tI32, 0, constExpr(i32c(7))))),
		sec(secExport, vec(exportOf("base", 0, 0), exportOf("g", 3, 0))),
		sec(secCode, vec(fbody(nil, i32c(100)))),
	)
}

func TestInstrument_LoopRefills(t *testing.T) {
	out, info := instrument(t, countModule())
	assert.Equal(t, Info{Functions: 1, Loops: 1, Checks: 1, Charges: 4, RefillFunc: 0, FuelGlobal: 0, MaxCost: countStep}, info)
	tests := []struct {
		name  string
		n     uint64
		chunk int64
	}{
		{name: "no iterations", n: 0, chunk: 1000},
		{name: "one iteration", n: 1, chunk: 1000},
		{name: "1000 iterations", n: 1000, chunk: 1000},
		{name: "1000 iterations, chunk of one iteration", n: 1000, chunk: countTest + countStep},
		{name: "100000 iterations", n: 100000, chunk: 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fuelHost{chunk: tt.chunk}
			mod := instantiate(t, newRuntime(t, h), out)
			require.Equal(t, tt.n, call1(t, mod, "count", tt.n))
			want := countFuel(tt.n)
			assert.Equal(t, want, h.used(t, mod), "fuel charged")
			assert.Equal(t, int((want+tt.chunk-1)/tt.chunk), h.refills, "refills")
		})
	}
}

func TestInstrument_RecursionMetered(t *testing.T) {
	out, info := instrument(t, fibModule())
	assert.Equal(t, Info{Functions: 1, Loops: 0, Checks: 1, Charges: 4, RefillFunc: 1, FuelGlobal: 0, MaxCost: fibInner}, info)
	h := &fuelHost{chunk: 10000}
	r := newRuntime(t, h)
	env := instantiateNamed(t, r, "env", envModule())
	defer env.Close(context.Background())
	mod := instantiate(t, r, out)
	require.Equal(t, uint64(6765), call1(t, mod, "fib", 20))
	leaves := int64(10946) // fib(n) makes fib(n+1) calls with n < 2, fib(n+1)-1 others
	want := fibEntry*(2*leaves-1) + fibLeaf*leaves + fibInner*(leaves-1)
	assert.Equal(t, want, h.used(t, mod))
	assert.Equal(t, int((want+9999)/10000), h.refills)

	// The refill function ends a runaway recursion.
	h2 := &fuelHost{chunk: 1000, budget: 5000}
	r2 := newRuntime(t, h2)
	instantiateNamed(t, r2, "env", envModule())
	mod2 := instantiate(t, r2, out)
	_, err := mod2.ExportedFunction("fib").Call(context.Background(), 30)
	require.ErrorIs(t, err, errFuelExhausted)
	assert.Equal(t, 6, h2.refills)
}

// TestInstrument_Deterministic checks that the same budget stops the same loop at the
// same iteration, run after run, and that instrumenting is itself deterministic.
func TestInstrument_Deterministic(t *testing.T) {
	// progress(n) loops forever, storing its iteration count in memory at 0.
	wasm := wasmModule(
		sec(secType, vec(funcType(nil, nil))),
		sec(secFunction, vec(uleb(0))),
		sec(secMemory, vec(cat(0, uleb(1)))),
		sec(secExport, vec(exportOf("spin", 0, 0), exportOf("memory", 2, 0))),
		sec(secCode, vec(fbody(nil,
			opLoop, blockEmpty,
			i32c(0), i32c(0), opI32Load, mem(2, 0), i32c(1), opI32Add, opI32Store, mem(2, 0),
			br(0),
			opEnd,
		))),
	)
	out, _ := instrument(t, wasm)
	again, _ := instrument(t, wasm)
	require.Equal(t, out, again)

	var stopped []uint32
	for range 3 {
		h := &fuelHost{chunk: 1000, budget: 100000}
		mod := instantiate(t, newRuntime(t, h), out)
		_, err := mod.ExportedFunction("spin").Call(context.Background())
		require.ErrorIs(t, err, errFuelExhausted)
		n, ok := mod.Memory().ReadUint32Le(0)
		require.True(t, ok)
		stopped = append(stopped, n)
	}
	assert.Equal(t, stopped[0], stopped[1])
	assert.Equal(t, stopped[0], stopped[2])
	// 100000 fuel: 1 for the loop instruction, 7 per iteration (the instructions of its
	// body; the loop's end never runs). The check of iteration 14,286 finds the budget gone.
	assert.Equal(t, uint32((100000-1)/7), stopped[0])
}

// resultCase is a hand-assembled module and calls of one of its exports.
type resultCase struct {
	name string
	wasm []byte
	fn   string
	args [][]uint64
}

// resultCases are the modules whose results and fuel the tests compare across modes.
func resultCases() []resultCase {
	return []resultCase{
		{name: "count", wasm: countModule(), fn: "count", args: [][]uint64{{0}, {1}, {77}, {5000}}},
		{name: "fib", wasm: fibModule(), fn: "fib", args: [][]uint64{{0}, {1}, {2}, {10}, {19}}},
		{name: "sum", wasm: sumModule(), fn: "sum", args: [][]uint64{{0}, {1}, {10}, {1000}}},
		{name: "features", wasm: featuresModule(), fn: "run", args: [][]uint64{{0}, {1}, {3}}},
	}
}

// abiInput is one computation for the native-ABI fixtures.
type abiInput struct{ name, data string }

// abiInputs are the computations run on echo.wasm and versioned1.wasm: every name they
// know, an unknown one, empty data and 100 KiB.
func abiInputs() []abiInput {
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	return []abiInput{{"default", "hello"}, {"length", "some data"}, {"nope", "x"}, {"default", ""}, {"default", string(big)}}
}

// TestInstrument_SameResults runs the uninstrumented and the instrumented module side
// by side and compares every result.
func TestInstrument_SameResults(t *testing.T) {
	for _, tt := range resultCases() {
		t.Run(tt.name, func(t *testing.T) {
			out, _ := instrument(t, tt.wasm)
			h := &fuelHost{chunk: 100}
			r := newRuntime(t, h)
			instantiateNamed(t, r, "env", envModule())
			plain, metered := instantiate(t, r, tt.wasm), instantiate(t, r, out)
			for _, args := range tt.args {
				assert.Equal(t, call1(t, plain, tt.fn, args...), call1(t, metered, tt.fn, args...), "%s%v", tt.fn, args)
			}
			assert.Positive(t, h.refills)
		})
	}
}

// TestInstrument_FixtureResults runs the native-ABI fixtures echo.wasm and
// versioned1.wasm plain and metered (abi/SPEC.md section 2: onex_alloc, then
// onex_compute, then the return area) and compares status and output.
func TestInstrument_FixtureResults(t *testing.T) {
	inputs := abiInputs()
	for _, file := range []string{"echo.wasm", "versioned1.wasm"} {
		t.Run(file, func(t *testing.T) {
			in := readFile(t, filepath.Join(plugintest.Root(), "plugins", "testdata", "wat", file))
			out, _ := instrument(t, in)
			h := &fuelHost{chunk: 1000}
			r := newRuntime(t, h)
			plain, metered := instantiate(t, r, in), instantiate(t, r, out)
			for _, input := range inputs {
				s1, o1 := computeABI(t, plain, input.name, input.data)
				s2, o2 := computeABI(t, metered, input.name, input.data)
				assert.Equal(t, s1, s2, "status of %s", input.name)
				assert.Equal(t, o1, o2, "output of %s", input.name)
			}
			assert.Positive(t, h.refills)
		})
	}
}

// computeABI runs one computation through the native ABI and returns status and output.
func computeABI(t *testing.T, mod api.Module, name, data string) (uint64, []byte) {
	t.Helper()
	n := uint64(len(name) + len(data))
	ptr := call1(t, mod, "onex_alloc", n)
	require.NotZero(t, ptr)
	require.True(t, mod.Memory().WriteString(uint32(ptr), name+data))
	status := call1(t, mod, "onex_compute", ptr, uint64(len(name)), uint64(len(data)))
	outPtr, ok := mod.Memory().ReadUint32Le(uint32(ptr))
	require.True(t, ok)
	outLen, ok := mod.Memory().ReadUint32Le(uint32(ptr) + 4)
	require.True(t, ok)
	b, ok := mod.Memory().Read(outPtr, outLen)
	require.True(t, ok)
	return status, append([]byte(nil), b...)
}

// TestInstrument_LeadingLoop checks when a function's first loop takes over its entry
// check: only when straight-line code (no branch, call or end) leads into it and the
// entry region is small; and that recursion through such a function is still metered.
func TestInstrument_LeadingLoop(t *testing.T) {
	// f() loops forever calling itself from its loop body: every entry passes the loop's
	// check, and a budget ends the recursion long before the stack runs out.
	recurse := wasmModule(
		sec(secType, vec(funcType(nil, nil))),
		sec(secFunction, vec(uleb(0))),
		sec(secExport, vec(exportOf("f", 0, 0))),
		sec(secCode, vec(fbody(nil, opLoop, blockEmpty, call(0), br(0), opEnd))),
	)
	out, info := instrument(t, recurse)
	assert.Equal(t, 1, info.Checks, "the loop's check is the entry check")
	h := &fuelHost{chunk: 1000, budget: 50_000}
	mod := instantiate(t, newRuntime(t, h), out)
	_, err := mod.ExportedFunction("f").Call(context.Background())
	require.ErrorIs(t, err, errFuelExhausted)

	// Each body is g's, (param i32), with a loop that exits at once; g may call h, which
	// does nothing (and has its own entry check).
	loop := cat(opLoop, blockEmpty, opEnd)
	long := make([]any, 0, 100)
	for range 100 {
		long = append(long, opNop)
	}
	tests := []struct {
		name   string
		code   []any
		checks int
	}{
		{name: "loop first", code: []any{loop}, checks: 1},
		{name: "straight-line prefix", code: []any{i32c(1), lset(0), opBlock, blockEmpty, gget(0), opDrop, lget(0), i32c(2), opI32Add, opDrop, loop, opEnd}, checks: 1},
		{name: "load before", code: []any{i32c(0), opI32Load, mem(2, 0), opDrop, loop}, checks: 1},
		{name: "call before", code: []any{call(1), loop}, checks: 2},
		{name: "branch before", code: []any{opBlock, blockEmpty, lget(0), brIf(0), loop, opEnd}, checks: 2},
		{name: "if before", code: []any{lget(0), opIf, blockEmpty, opEnd, loop}, checks: 2},
		{name: "block ended before", code: []any{opBlock, blockEmpty, opEnd, loop}, checks: 2},
		{name: "large entry region", code: append(long, loop), checks: 1},
		{name: "no loop", code: []any{lget(0), opDrop}, checks: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wasm := wasmModule(
				sec(secType, vec(funcType([]byte{tI32}, nil), funcType(nil, nil))),
				sec(secFunction, vec(uleb(0), uleb(1))),
				sec(secMemory, vec(cat(0, uleb(1)))),
				sec(secGlobal, vec(cat(tI32, 0, constExpr(i32c(7))))),
				sec(secExport, vec(exportOf("g", 0, 0))),
				sec(secCode, vec(fbody(nil, tt.code...), fbody(nil))),
			)
			out, info := instrument(t, wasm)
			assert.Equal(t, tt.checks, info.Checks-1, "checks in g")
			h := &fuelHost{chunk: 1000}
			mod := instantiate(t, newRuntime(t, h), out)
			_, err := mod.ExportedFunction("g").Call(context.Background(), 0)
			require.NoError(t, err)
			assert.Positive(t, h.used(t, mod))
		})
	}
}
