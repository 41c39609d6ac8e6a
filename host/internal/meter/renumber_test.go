package meter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero/api"
)

// renumberModule uses a function index in every place one can appear: call, ref.func
// in code and in a global initialiser, all eight element segment encodings, exports,
// the start function and the name section. It imports env.base (function 0) and env.g
// (global 0, = 7), so defined functions are 1-12.
//
//	f1..f6  return 1..6
//	f7      callidx(i): call_indirect through table slot i
//	f8      direct: f1() + base() + f3() = 104
//	f9      reffunc: puts ref.func f5 in slot 10 and calls it: 5
//	f10     start: sets global 2 to f6() + 36 = 42
//	f11     fromglobal: puts global 3 (ref.func f4) in slot 11 and calls it: 4
//	f12     passive: table.init slot 20 from segment 4 (f2), slot 21 from segment 5
//	        (f6), returns slot20() + 10*slot21() = 62
func renumberModule() []byte {
	const t0, t1, t2 = 0, 1, 2 // () -> i32, (i32) -> i32, () -> ()
	ret := func(v int32) []byte { return fbody(nil, i32c(v)) }
	names := cat(
		1, func() []byte {
			b := vec(cat(uleb(0), str("base")), cat(uleb(1), str("one")), cat(uleb(7), str("callidx")),
				cat(uleb(8), str("direct")), cat(uleb(12), str("passive")))
			return cat(uleb(uint32(len(b))), b)
		}(),
		2, func() []byte {
			b := vec(cat(uleb(7), vec(cat(uleb(0), str("slot")))))
			return cat(uleb(uint32(len(b))), b)
		}(),
	)
	return wasmModule(
		customSec("first", []byte("kept in place")),
		sec(secType, vec(funcType(nil, []byte{tI32}), funcType([]byte{tI32}, []byte{tI32}), funcType(nil, nil))),
		sec(secImport, vec(importFunc("env", "base", t0), importGlobal("env", "g", tI32, false))),
		sec(secFunction, vec(uleb(t0), uleb(t0), uleb(t0), uleb(t0), uleb(t0), uleb(t0),
			uleb(t1), uleb(t0), uleb(t0), uleb(t2), uleb(t0), uleb(t0))),
		sec(secTable, vec(cat(tFuncref, 0, uleb(32)))),
		sec(secGlobal, vec(
			cat(tI32, 1, constExpr(gget(0))),      // global 1 = g
			cat(tI32, 1, constExpr(i32c(0))),      // global 2, set by start
			cat(tFuncref, 0, constExpr(rfunc(4))), // global 3 = f4
		)),
		sec(secExport, vec(
			exportOf("direct", 0, 8), exportOf("callidx", 0, 7), exportOf("reffunc", 0, 9),
			exportOf("fromglobal", 0, 11), exportOf("passive", 0, 12), exportOf("one", 0, 1),
			exportOf("g1", 3, 1), exportOf("g2", 3, 2), exportOf("table", 1, 0),
		)),
		sec(secStart, uleb(10)),
		customSec("middle", []byte{1, 2, 3}),
		sec(secElement, vec(
			cat(uleb(0), constExpr(i32c(0)), vec(uleb(1), uleb(2))),                                    // active, indices
			cat(uleb(2), uleb(0), constExpr(i32c(2)), 0, vec(uleb(3))),                                 // active, table, indices
			cat(uleb(4), constExpr(i32c(3)), vec(constExpr(rfunc(4)), constExpr(opRefNull, tFuncref))), // active, exprs
			cat(uleb(6), uleb(0), constExpr(gget(0)), tFuncref, vec(constExpr(rfunc(6)))),              // active at g, exprs
			cat(uleb(1), 0, vec(uleb(2))),                                                              // passive, indices
			cat(uleb(5), tFuncref, vec(constExpr(rfunc(6)))),                                           // passive, exprs
			cat(uleb(3), 0, vec(uleb(5))),                                                              // declarative, indices
			cat(uleb(7), tFuncref, vec(constExpr(rfunc(9)))),                                           // declarative, exprs
		)),
		sec(secCode, vec(
			ret(1), ret(2), ret(3), ret(4), ret(5), ret(6),
			fbody(nil, lget(0), callInd(t0)),
			fbody(nil, call(1), call(0), opI32Add, call(3), opI32Add),
			fbody(nil, i32c(10), rfunc(5), opTableSet, 0, i32c(10), callInd(t0)),
			fbody(nil, call(6), i32c(36), opI32Add, gset(2)),
			fbody(nil, i32c(11), gget(3), opTableSet, 0, i32c(11), callInd(t0)),
			fbody(nil,
				i32c(20), i32c(0), i32c(1), miscOp(12, uleb(4), uleb(0)),
				i32c(21), i32c(0), i32c(1), miscOp(12, uleb(5), uleb(0)),
				i32c(20), callInd(t0), i32c(21), callInd(t0), i32c(10), opI32Mul, opI32Add),
		)),
		customSec("name", names),
		customSec("last", []byte("end")),
	)
}

func TestInstrument_Renumbering(t *testing.T) {
	in := renumberModule()
	out, info := instrument(t, in)
	assert.Equal(t, Info{Functions: 12, Loops: 0, Checks: 12, Charges: 12, RefillFunc: 1, FuelGlobal: 4, MaxCost: 6 + ImportCallFuel, Start: true}, info)
	assertSectionsKept(t, in, out)

	for _, tt := range []struct {
		name string
		wasm []byte
	}{{"plain", in}, {"metered", out}} {
		t.Run(tt.name, func(t *testing.T) {
			h := &fuelHost{chunk: 3}
			r := newRuntime(t, h)
			instantiateNamed(t, r, "env", envModule())
			mod := instantiate(t, r, tt.wasm)
			assert.Equal(t, uint64(7), mod.ExportedGlobal("g1").Get(), "global initialised from an imported global")
			assert.Equal(t, uint64(42), mod.ExportedGlobal("g2").Get(), "set by the start function")
			assert.Equal(t, uint64(104), call1(t, mod, "direct"))
			assert.Equal(t, uint64(5), call1(t, mod, "reffunc"))
			assert.Equal(t, uint64(4), call1(t, mod, "fromglobal"))
			assert.Equal(t, uint64(62), call1(t, mod, "passive"))
			assert.Equal(t, uint64(1), call1(t, mod, "one"))
			for slot, want := range map[uint64]uint64{0: 1, 1: 2, 2: 3, 3: 4, 7: 6, 10: 5, 11: 4, 20: 2, 21: 6} {
				assert.Equal(t, want, call1(t, mod, "callidx", slot), "slot %d", slot)
			}
			_, err := mod.ExportedFunction("callidx").Call(context.Background(), 4)
			require.Error(t, err, "slot 4 holds ref.null")

			// The name section follows the functions it names.
			defs := mod.ExportedFunctionDefinitions()
			for export, name := range map[string]string{"one": "one", "direct": "direct", "callidx": "callidx", "passive": "passive"} {
				assert.Equal(t, name, defs[export].Name(), export)
			}
			if tt.name == "metered" {
				assert.Positive(t, h.refills)
				assert.Equal(t, []string{"slot"}, defs["callidx"].ParamNames())
			}
		})
	}
}

// TestInstrument_AddsSections instruments a module that has none of the sections the
// rewriter appends to, and one whose only function type is not () -> ().
func TestInstrument_AddsSections(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
		want Info
	}{
		{name: "empty module", wasm: wasmModule(), want: Info{}},
		{name: "only a custom section", wasm: wasmModule(customSec("c", []byte("x"))), want: Info{}},
		{name: "no void type", wasm: countModule(), want: Info{Functions: 1, Loops: 1, Checks: 1, Charges: 4, MaxCost: countStep}},
		{name: "memory only", wasm: wasmModule(sec(secMemory, vec(cat(0, uleb(1)))), sec(secData, vec(cat(0, constExpr(i32c(0)), str("x"))))), want: Info{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, info := instrument(t, tt.wasm)
			assert.Equal(t, tt.want, info)
			assertSectionsKept(t, tt.wasm, out)
			h := &fuelHost{chunk: 10}
			mod := instantiate(t, newRuntime(t, h), out)
			g := mod.ExportedGlobal(DefaultGlobal)
			require.NotNil(t, g)
			assert.Equal(t, api.ValueTypeI64, g.Type())
			assert.Zero(t, g.Get())
		})
	}
}

// TestInstrument_NamesBeforeCode checks a name section placed before the sections that
// give the function counts: it is still renumbered with the final counts.
func TestInstrument_NamesBeforeCode(t *testing.T) {
	names := vec(cat(uleb(0), str("base")), cat(uleb(1), str("fib")))
	in := cat(magic, customSec("name", cat(1, uleb(uint32(len(names))), names)), fibModule()[len(magic):])
	out, _ := instrument(t, in)
	h := &fuelHost{chunk: 100}
	r := newRuntime(t, h)
	instantiateNamed(t, r, "env", envModule())
	mod := instantiate(t, r, out)
	assert.Equal(t, "fib", mod.ExportedFunctionDefinitions()["fib"].Name())
	assert.Equal(t, uint64(55), call1(t, mod, "fib", 10))
}

// TestInstrument_PaddedLEB checks that a padded index that changes is re-encoded
// canonically and one that does not change is kept as it was (wasm-ld pads call
// indices to five bytes).
func TestInstrument_PaddedLEB(t *testing.T) {
	padded := func(v byte) []byte { return []byte{0x80 | v, 0x80, 0x80, 0x80, 0} }
	in := wasmModule(
		sec(secType, vec(funcType(nil, []byte{tI32}))),
		sec(secImport, vec(importFunc("env", "base", 0))),
		sec(secFunction, vec(uleb(0), uleb(0))),
		sec(secExport, vec(exportOf("f", 0, 2))),
		sec(secCode, vec(
			fbody(nil, i32c(5)),
			fbody(nil, opCall, padded(1), opCall, padded(0), opI32Add), // f1() + base()
		)),
	)
	out, _ := instrument(t, in)
	// Each call is between a spill and a reload of the fuel local, local 0 of f.
	spill, reload := cat(lget(0), gset(0)), cat(gget(0), lset(0))
	assert.Contains(t, string(out), string(cat(spill, opCall, 2, reload, spill, opCall, padded(0), reload)))
	h := &fuelHost{chunk: 100}
	r := newRuntime(t, h)
	instantiateNamed(t, r, "env", envModule())
	assert.Equal(t, uint64(105), call1(t, instantiate(t, r, out), "f"))
}
