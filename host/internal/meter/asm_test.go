package meter

import "github.com/onexhost/onex-host/host/internal/leb128"

// A tiny assembler for test modules: each helper returns encoded bytes, so that a test
// reads like the binary format it builds. See the Wasm core specification, chapter 5.

// Value types.
const (
	tI32       = 0x7f
	tI64       = 0x7e
	tF32       = 0x7d
	tF64       = 0x7c
	tV128      = 0x7b
	tFuncref   = 0x70
	tExternref = 0x6f
)

// Opcodes the tests use beyond those code.go names.
const (
	opNop        = 0x01
	opI32Load8U  = 0x2d
	opI32Store   = 0x36
	opI32Store8  = 0x3a
	opI32Eq      = 0x46
	opI32Ne      = 0x47
	opI32LtS     = 0x48
	opI32GtS     = 0x4a
	opI32LeS     = 0x4c
	opI32GeU     = 0x4f
	opI32Add     = 0x6a
	opI32Sub     = 0x6b
	opI32Mul     = 0x6c
	opI64Add     = 0x7c
	opI32Ext8S   = 0xc0
	opI64ExtendU = 0xad
	opI32WrapI64 = 0xa7
)

// cat concatenates byte slices, single bytes (byte or int) and strings.
func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case byte:
			b = append(b, v)
		case int:
			b = append(b, byte(v))
		case []byte:
			b = append(b, v...)
		case string:
			b = append(b, v...)
		default:
			panic("cat: unsupported part")
		}
	}
	return b
}

func uleb(v uint32) []byte { return leb128.AppendU32(nil, v) }
func sleb(v int64) []byte  { return leb128.AppendS64(nil, v) }
func str(s string) []byte  { return cat(uleb(uint32(len(s))), s) }

// vec is a vector: its length, then its elements.
func vec(items ...[]byte) []byte {
	b := uleb(uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

// sec is a section with its id and size.
func sec(id byte, payload []byte) []byte { return cat(id, uleb(uint32(len(payload))), payload) }

func customSec(name string, data []byte) []byte { return sec(secCustom, cat(str(name), data)) }

// wasmModule is the magic and version, then the sections in the order given.
func wasmModule(sections ...[]byte) []byte { return cat(magic, cat(anys(sections)...)) }

func anys(bs [][]byte) []any {
	a := make([]any, len(bs))
	for i, b := range bs {
		a[i] = b
	}
	return a
}

func funcType(params, results []byte) []byte {
	return cat(0x60, vec(bytesOf(params)...), vec(bytesOf(results)...))
}

func bytesOf(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i, c := range b {
		out[i] = []byte{c}
	}
	return out
}

func importFunc(mod, name string, typ uint32) []byte {
	return cat(str(mod), str(name), 0x00, uleb(typ))
}

func importGlobal(mod, name string, t byte, mut bool) []byte {
	return cat(str(mod), str(name), 0x03, t, boolByte(mut))
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func exportOf(name string, kind byte, idx uint32) []byte { return cat(str(name), kind, uleb(idx)) }

// local declares n locals of type t.
func local(n uint32, t byte) []byte { return cat(uleb(n), t) }

// fbody is a function body: its size, the local declarations, the code and the final
// end (which fbody adds).
func fbody(locals [][]byte, code ...any) []byte {
	b := cat(vec(locals...), cat(code...), opEnd)
	return cat(uleb(uint32(len(b))), b)
}

// Instruction helpers.
func i32c(v int32) []byte   { return cat(opI32Const, sleb(int64(v))) }
func i64c(v int64) []byte   { return cat(opI64Const, sleb(v)) }
func lget(i uint32) []byte  { return cat(opLocalGet, uleb(i)) }
func lset(i uint32) []byte  { return cat(opLocalSet, uleb(i)) }
func ltee(i uint32) []byte  { return cat(opLocalTee, uleb(i)) }
func gget(i uint32) []byte  { return cat(opGlobalGet, uleb(i)) }
func gset(i uint32) []byte  { return cat(opGlobalSet, uleb(i)) }
func call(f uint32) []byte  { return cat(opCall, uleb(f)) }
func rfunc(f uint32) []byte { return cat(opRefFunc, uleb(f)) }
func br(l uint32) []byte    { return cat(opBr, uleb(l)) }
func brIf(l uint32) []byte  { return cat(opBrIf, uleb(l)) }

// callInd calls through table 0 with type typ.
func callInd(typ uint32) []byte { return cat(opCallIndirect, uleb(typ), 0) }

// mem is a memarg.
func mem(align, offset uint32) []byte { return cat(uleb(align), uleb(offset)) }

func miscOp(sub uint32, imm ...any) []byte { return cat(opMiscPrefix, uleb(sub), cat(imm...)) }
func simdOp(sub uint32, imm ...any) []byte {
	return cat(opSIMDPrefix, uleb(sub), cat(imm...))
}

// constExpr is a constant expression with its end.
func constExpr(code ...any) []byte { return cat(cat(code...), opEnd) }
