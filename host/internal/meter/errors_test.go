package meter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// codeModule is a module with one memory and one function () -> () whose body is code
// (fbody adds the final end).
func codeModule(code ...any) []byte {
	return wasmModule(
		sec(secType, vec(funcType(nil, nil))),
		sec(secFunction, vec(uleb(0))),
		sec(secMemory, vec(cat(0, uleb(1)))),
		sec(secCode, vec(fbody(nil, code...))),
	)
}

func TestInstrument_Unsupported(t *testing.T) {
	tests := []struct {
		name string
		wasm []byte
	}{
		{name: "return_call (tail calls)", wasm: codeModule(opReturnCall(0))},
		{name: "return_call_indirect", wasm: codeModule(i32c(0), 0x13, 0, 0)},
		{name: "atomic.fence (threads)", wasm: codeModule(0xfe, 0x03, 0)},
		{name: "try (exceptions)", wasm: codeModule(0x06, blockEmpty, opEnd)},
		{name: "try_table (exceptions)", wasm: codeModule(0x1f, blockEmpty, 0, opEnd)},
		{name: "call_ref (function references)", wasm: codeModule(0x14, 0)},
		{name: "ref.eq (GC)", wasm: codeModule(0xd5)},
		{name: "GC prefix", wasm: codeModule(0xfb, 0)},
		{name: "unknown opcode 0x27", wasm: codeModule(0x27)},
		{name: "unknown opcode 0xc5", wasm: codeModule(0xc5)},
		{name: "0xfc 18", wasm: codeModule(miscOp(18))},
		{name: "relaxed SIMD 0xfd 256", wasm: codeModule(simdOp(256))},
		{name: "unassigned SIMD 0xfd 154", wasm: codeModule(simdOp(154))},
		{name: "memarg with memory index (multi-memory)", wasm: codeModule(i32c(0), opI32Load, mem(0x42, 0), 0, 0x1a)},
		{name: "memory.size of memory 1", wasm: codeModule(opMemorySize, 1, opDrop)},
		{name: "memory.copy between memories", wasm: codeModule(i32c(0), i32c(0), i32c(0), miscOp(10, 1, 0))},
		{name: "ref.null of a concrete type", wasm: codeModule(opRefNull, 0x00, opDrop)},
		{name: "select of a non-nullable reference", wasm: codeModule(opSelectT, vec([]byte{0x64, 0x70}))},
		{name: "local of type anyref", wasm: wasmModule(
			sec(secType, vec(funcType(nil, nil))), sec(secFunction, vec(uleb(0))),
			sec(secCode, vec(fbody([][]byte{local(1, 0x6e)}))))},
		{name: "struct type (GC)", wasm: wasmModule(sec(secType, vec(cat(0x5f, vec()))))},
		{name: "recursive type group (GC)", wasm: wasmModule(sec(secType, vec(cat(0x4e, vec()))))},
		{name: "shared memory (threads)", wasm: wasmModule(sec(secMemory, vec(cat(3, uleb(1), uleb(2)))))},
		{name: "memory64", wasm: wasmModule(sec(secMemory, vec(cat(4, uleb(1)))))},
		{name: "imported memory64", wasm: wasmModule(sec(secImport, vec(cat(str("a"), str("m"), 2, 5, uleb(1), uleb(2)))))},
		{name: "table64", wasm: wasmModule(sec(secTable, vec(cat(tFuncref, 4, uleb(1)))))},
		{name: "table with initialiser", wasm: wasmModule(sec(secTable, vec(cat(0x40, 0, tFuncref, 0, uleb(1), constExpr(opRefNull, tFuncref)))))},
		{name: "tag section (exceptions)", wasm: wasmModule(sec(secTag, vec(cat(0, uleb(0)))))},
		{name: "tag import", wasm: wasmModule(sec(secType, vec(funcType(nil, nil))), sec(secImport, vec(cat(str("a"), str("t"), 4, 0, uleb(0)))))},
		{name: "unknown section 14", wasm: wasmModule(sec(14, nil))},
		{name: "too many locals", wasm: wasmModule(
			sec(secType, vec(funcType(nil, nil))), sec(secFunction, vec(uleb(0))),
			sec(secCode, vec(fbody([][]byte{local(40000, tI32), local(10001, tI64)}))))},
		{name: "element of a GC reference type", wasm: wasmModule(
			sec(secElement, vec(cat(uleb(5), 0x64, vec()))))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, info, err := Instrument(tt.wasm, Options{})
			require.ErrorIs(t, err, ErrUnsupported)
			assert.NotErrorIs(t, err, ErrMalformed)
			assert.Nil(t, out)
			assert.Zero(t, info)
			assert.Contains(t, err.Error(), "offset")
		})
	}
}

func opReturnCall(f uint32) []byte { return cat(0x12, uleb(f)) }

// TestInstrument_Invalid checks that an index the input cannot use is refused, above all
// where the rewriting extends that index space: otherwise it would name what the rewriter
// added, and the output would validate where the input does not (a module refilling its
// own fuel with global.set was the first such case).
func TestInstrument_Invalid(t *testing.T) {
	voidFunc := sec(secType, vec(funcType(nil, nil)))
	tests := []struct {
		name string
		wasm []byte
	}{
		{name: "function type out of range", wasm: wasmModule(sec(secType, vec(funcType(nil, nil))), sec(secFunction, vec(uleb(1))))},
		{name: "call out of range", wasm: codeModule(call(1))},
		{name: "ref.func out of range", wasm: codeModule(rfunc(5), opDrop)},
		{name: "export of a function out of range", wasm: wasmModule(sec(secExport, vec(exportOf("f", 0, 0))))},
		{name: "start out of range", wasm: wasmModule(sec(secStart, uleb(0)))},
		{name: "element index out of range", wasm: wasmModule(sec(secElement, vec(cat(uleb(1), 0, vec(uleb(3))))))},
		{name: "block type index out of range", wasm: codeModule(opBlock, uleb(3), opEnd)},
		{name: "global.set of the counter's index refills the fuel", wasm: codeModule(opLoop, blockEmpty, i64c(1<<62), gset(0), br(0), opEnd)},
		{name: "global.get of the counter's index", wasm: codeModule(gget(0), opDrop)},
		{name: "global.get past an imported global", wasm: wasmModule(voidFunc, sec(secImport, vec(importGlobal("env", "g", tI32, false))),
			sec(secFunction, vec(uleb(0))), sec(secCode, vec(fbody(nil, gget(1), opDrop))))},
		{name: "global.get in a global initialiser", wasm: wasmModule(sec(secGlobal, vec(cat(tI64, 0, constExpr(gget(0))))))},
		{name: "global.get in an element offset", wasm: wasmModule(sec(secTable, vec(cat(tFuncref, 0, uleb(1)))),
			sec(secElement, vec(cat(uleb(0), constExpr(gget(0)), vec()))))},
		{name: "global.get in a data offset", wasm: wasmModule(sec(secMemory, vec(cat(0, uleb(1)))),
			sec(secData, vec(cat(uleb(0), constExpr(gget(0)), uleb(0)))))},
		{name: "export of the counter's global index", wasm: wasmModule(sec(secExport, vec(exportOf("g", 3, 0))))},
		{name: "local index of the fuel local", wasm: codeModule(lget(0), opDrop)},
		{name: "local.set past a parameter", wasm: wasmModule(sec(secType, vec(funcType([]byte{tI32}, nil))), sec(secFunction, vec(uleb(0))),
			sec(secCode, vec(fbody([][]byte{local(2, tI64)}, i64c(1), lset(3)))))},
		{name: "call_indirect of the appended type", wasm: wasmModule(sec(secType, vec(funcType([]byte{tI32}, nil))), sec(secFunction, vec(uleb(0))),
			sec(secTable, vec(cat(tFuncref, 0, uleb(1)))), sec(secCode, vec(fbody(nil, i32c(0), callInd(1)))))},
		{name: "import of the appended type", wasm: wasmModule(sec(secType, vec(funcType([]byte{tI32}, nil))), sec(secImport, vec(importFunc("env", "f", 1))))},
		{name: "branch past the function's label", wasm: codeModule(br(1))},
		{name: "br_table past the function's label", wasm: codeModule(i32c(0), opBrTable, vec(uleb(0)), uleb(1))},
		{name: "unreachable global.set", wasm: codeModule(opUnreachable, i64c(0), gset(0))},
	}
	_, validate := validator(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Error(t, validate(tt.wasm), "wazero must refuse the input too")
			out, info, err := Instrument(tt.wasm, Options{})
			require.ErrorIs(t, err, ErrInvalid)
			assert.NotErrorIs(t, err, ErrUnsupported, "an invalid module must not fall back to running guarded")
			assert.Nil(t, out)
			assert.Zero(t, info)
		})
	}
}

func TestInstrument_Malformed(t *testing.T) {
	valid := countModule()
	tests := []struct {
		name string
		wasm []byte
	}{
		{name: "nil", wasm: nil},
		{name: "bad magic", wasm: []byte("\x00asn\x01\x00\x00\x00")},
		{name: "version 2", wasm: []byte("\x00asm\x02\x00\x00\x00")},
		{name: "truncated module", wasm: valid[:len(valid)-3]},
		{name: "section size past the end", wasm: cat(magic, secType, uleb(100), 0)},
		{name: "truncated section size", wasm: cat(magic, secType, 0x80)},
		{name: "section size overflows 32 bits", wasm: cat(magic, secType, 0xff, 0xff, 0xff, 0xff, 0x7f)},
		{name: "sections out of order", wasm: wasmModule(sec(secFunction, vec()), sec(secType, vec()))},
		{name: "section repeated", wasm: wasmModule(sec(secType, vec()), sec(secType, vec()))},
		{name: "type vector count too large", wasm: wasmModule(sec(secType, cat(0xff, 0xff, 0xff, 0xff, 0x0f)))},
		{name: "bad type form", wasm: wasmModule(sec(secType, vec(cat(0x61, 0, 0))))},
		{name: "trailing bytes in a section", wasm: wasmModule(sec(secType, cat(vec(funcType(nil, nil)), 0)))},
		{name: "more declarations than bodies", wasm: wasmModule(sec(secType, vec(funcType(nil, nil))), sec(secFunction, vec(uleb(0), uleb(0))), sec(secCode, vec(fbody(nil))))},
		{name: "bodies without declarations", wasm: wasmModule(sec(secType, vec(funcType(nil, nil))), sec(secCode, vec(fbody(nil))))},
		{name: "element flags 8", wasm: wasmModule(sec(secElement, vec(cat(uleb(8)))))},
		{name: "element kind 1", wasm: wasmModule(sec(secElement, vec(cat(uleb(1), 1, vec()))))},
		{name: "export kind 5", wasm: wasmModule(sec(secExport, vec(cat(str("x"), 5, 0))))},
		{name: "import kind 5", wasm: wasmModule(sec(secImport, vec(cat(str("a"), str("b"), 5, 0))))},
		{name: "global mutability 2", wasm: wasmModule(sec(secGlobal, vec(cat(tI32, 2, constExpr(i32c(0))))))},
		{name: "limits flags 0x10", wasm: wasmModule(sec(secMemory, vec(cat(0x10, uleb(1)))))},
		{name: "body without end", wasm: wasmModule(sec(secType, vec(funcType(nil, nil))), sec(secFunction, vec(uleb(0))),
			sec(secCode, vec(cat(uleb(2), 0, opNop))))},
		{name: "bytes after the body's end", wasm: wasmModule(sec(secType, vec(funcType(nil, nil))), sec(secFunction, vec(uleb(0))),
			sec(secCode, vec(cat(uleb(4), 0, opEnd, opNop, opNop))))},
		{name: "body size past the section", wasm: wasmModule(sec(secType, vec(funcType(nil, nil))), sec(secFunction, vec(uleb(0))),
			sec(secCode, vec(cat(uleb(9), 0, opEnd))))},
		{name: "else outside if", wasm: codeModule(opBlock, blockEmpty, opElse, opEnd)},
		{name: "block type negative index", wasm: codeModule(opBlock, 0xff, 0x7f, opEnd)},
		{name: "truncated LEB128 in code", wasm: codeModule(opI32Const, 0x80)},
		{name: "LEB128 overflow", wasm: codeModule(opLocalGet, 0xff, 0xff, 0xff, 0xff, 0x7f)},
		{name: "i64.const longer than 10 bytes", wasm: codeModule(opI64Const, cat(anys(bytesOf([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0}))...), opDrop)},
		{name: "truncated v128.const", wasm: codeModule(simdOp(12, 1, 2, 3))},
		{name: "br_table count too large", wasm: codeModule(i32c(0), opBrTable, 0xff, 0xff, 0x03)},
		{name: "truncated custom section name", wasm: cat(magic, secCustom, uleb(3), uleb(9), "ab")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, info, err := Instrument(tt.wasm, Options{})
			require.ErrorIs(t, err, ErrMalformed)
			assert.NotErrorIs(t, err, ErrUnsupported)
			assert.Nil(t, out)
			assert.Zero(t, info)
		})
	}
}

func TestInstrument_Conflict(t *testing.T) {
	once, _ := instrument(t, countModule())
	tests := []struct {
		name string
		wasm []byte
		opts Options
	}{
		{name: "instrumented twice", wasm: once},
		{name: "exports the counter's name", wasm: wasmModule(sec(secMemory, vec(cat(0, uleb(1)))), sec(secExport, vec(exportOf("onex_fuel", 2, 0))))},
		{name: "imports the refill function", wasm: wasmModule(sec(secType, vec(funcType(nil, nil))), sec(secImport, vec(importFunc("onex", "fuel", 0))))},
		{name: "imports a global under the refill name", wasm: wasmModule(sec(secImport, vec(importGlobal("m", "n", tI32, false)))),
			opts: Options{ImportModule: "m", ImportName: "n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Instrument(tt.wasm, tt.opts)
			require.ErrorIs(t, err, ErrConflict)
		})
	}
	t.Run("instrumented twice under other names", func(t *testing.T) {
		_, info, err := Instrument(once, Options{Global: "fuel2", ImportModule: "m", ImportName: "n"})
		require.NoError(t, err)
		// The first pass's check is now part of the loop body (10 more instructions); the
		// entry region (5) is still charged by the leading loop's check.
		assert.Equal(t, Info{Functions: 1, Loops: 1, Checks: 1, Charges: 6, RefillFunc: 1, FuelGlobal: 1, MaxCost: 6 + ImportCallFuel}, info)
	})
}

func TestInstrument_Options(t *testing.T) {
	_, _, err := Instrument(countModule(), Options{Global: "\xff"})
	require.ErrorIs(t, err, ErrInvalidOptions)

	out, _, err := Instrument(countModule(), Options{Global: "g", ImportModule: "m", ImportName: "n"})
	require.NoError(t, err)
	r, _ := validator(t)
	c, err := r.CompileModule(t.Context(), out)
	require.NoError(t, err)
	m, n, _ := c.ImportedFunctions()[0].Import()
	assert.Equal(t, "m.n", m+"."+n)
	var exports []string
	for _, s := range splitSections(t, out) {
		if s.id == secExport {
			exports = append(exports, string(s.raw))
		}
	}
	require.Len(t, exports, 1)
	assert.Contains(t, exports[0], "\x01g\x03")
}

// TestInstrument_BadNameSection checks that a name section that cannot be decoded is
// dropped, while the other custom sections stay.
func TestInstrument_BadNameSection(t *testing.T) {
	in := wasmModule(
		sec(secType, vec(funcType(nil, nil))),
		sec(secFunction, vec(uleb(0))),
		sec(secCode, vec(fbody(nil))),
		customSec("name", cat(1, uleb(5), vec(cat(uleb(0), uleb(9))))),
		customSec("other", []byte("x")),
	)
	out, info, err := Instrument(in, Options{})
	require.NoError(t, err)
	assert.True(t, info.NamesDropped)
	var names []string
	for _, s := range splitSections(t, out) {
		if s.id == secCustom {
			names = append(names, s.name)
		}
	}
	assert.Equal(t, []string{"other"}, names)
	_, validate := validator(t)
	require.NoError(t, validate(out))
}
