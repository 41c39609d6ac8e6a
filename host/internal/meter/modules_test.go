package meter

import (
	"encoding/binary"
	"math"
)

// sumModule exports sum(n) = 1 + ... + n, computed in a loop that calls add(a, b).
func sumModule() []byte {
	return wasmModule(
		sec(secType, vec(funcType([]byte{tI32}, []byte{tI32}), funcType([]byte{tI32, tI32}, []byte{tI32}))),
		sec(secFunction, vec(uleb(0), uleb(1))),
		sec(secExport, vec(exportOf("sum", 0, 0))),
		sec(secCode, vec(
			fbody([][]byte{local(2, tI32)},
				opBlock, blockEmpty,
				opLoop, blockEmpty,
				lget(1), lget(0), opI32GeU, brIf(1),
				lget(1), i32c(1), opI32Add, ltee(1),
				lget(2), call(1), lset(2),
				br(0),
				opEnd,
				opEnd,
				lget(2),
			),
			fbody(nil, lget(0), lget(1), opI32Add),
		)),
	)
}

func v128i32(a, b, c, d uint32) []byte {
	v := make([]byte, 16)
	for i, x := range []uint32{a, b, c, d} {
		binary.LittleEndian.PutUint32(v[4*i:], x)
	}
	return v
}

func f64c(f float64) []byte {
	return binary.LittleEndian.AppendUint64([]byte{opF64Const}, math.Float64bits(f))
}

// featuresModule exports run(x) -> i32, which uses at least one instruction of each
// supported proposal: sign extension, saturating truncation, bulk memory, reference
// types (tables, ref.func, typed select), multi-value block types, and SIMD with every
// kind of immediate. Its result depends on x.
func featuresModule() []byte {
	const acc, tmp, v = 1, 2, 3 // locals after the parameter x (0)
	add := func(code ...any) []byte { return cat(cat(code...), lget(acc), opI32Add, lset(acc)) }
	lane := func(code ...any) []byte { return add(cat(code...), simdOp(27, 0)) } // i32x4.extract_lane 0
	shuffle := []byte{4, 5, 6, 7, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15}
	code := cat(
		add(i32c(0xff), opI32Ext8S),                                   // sign extension: -1
		add(f64c(1e20), miscOp(2)),                                    // i32.trunc_sat_f64_s: MaxInt32
		i32c(16), lget(0), i32c(1), opI32Add, i32c(16), miscOp(11, 0), // memory.fill
		i32c(64), i32c(16), i32c(16), miscOp(10, 0, 0), // memory.copy
		i32c(128), i32c(0), i32c(4), miscOp(8, uleb(0), 0), // memory.init data 0
		add(i32c(64), opI32Load8U, mem(0, 0)),
		add(i32c(0), opI32Load8U, mem(0, 130)),
		add(miscOp(16, uleb(0))),                               // table.size: 2
		add(opRefNull, tFuncref, i32c(3), miscOp(15, uleb(0))), // table.grow: 2
		i32c(0), rfunc(1), i32c(5), miscOp(17, uleb(0)), // table.fill with seven
		add(i32c(4), callInd(3)),                 // 7
		add(i32c(1), opTableGet, 0, opRefIsNull), // 0
		i32c(0), opRefNull, tFuncref, opTableSet, 0,
		add(i32c(0), opTableGet, 0, opRefIsNull),                                          // 1
		add(i32c(10), i32c(20), lget(0), opSelectT, vec([]byte{tI32})),                    // x ? 10 : 20
		add(opBlock, uleb(2), i32c(3), i32c(4), opEnd, opBlock, uleb(1), opI32Add, opEnd), // 7
		add(i32c(0), opLoop, uleb(0), i32c(1), opI32Add, ltee(tmp), lget(tmp), i32c(10), opI32LtS, brIf(0), opEnd),
		opBlock, blockEmpty, opBlock, blockEmpty, opBlock, blockEmpty,
		lget(0), opBrTable, vec(uleb(0), uleb(1)), uleb(2),
		opEnd, add(i32c(1000)),
		opEnd, add(i32c(2000)),
		opEnd,
		// SIMD: v = (1,2,3,4) + (10,20,30,40)
		simdOp(12, v128i32(1, 2, 3, 4)), simdOp(12, v128i32(10, 20, 30, 40)), simdOp(174), lset(v),
		add(lget(v), simdOp(27, 2)),                 // extract_lane 2: 33
		lane(lget(v), lget(v), simdOp(13, shuffle)), // 22
		i32c(256), lget(v), simdOp(11, mem(4, 0)), // v128.store
		lane(i32c(256), simdOp(92, mem(2, 0))),              // v128.load32_zero: 11
		lane(i32c(256), lget(v), simdOp(84, mem(0, 4), 0)),  // v128.load8_lane: 22
		add(lget(v), i32c(5), simdOp(28, 1), simdOp(27, 1)), // replace_lane 1, extract: 5
		add(lget(v), simdOp(83)),                            // v128.any_true: 1
		add(lget(v), simdOp(22, 4)),                         // i8x16.extract_lane_u 4: 22
		add(i32c(0), simdOp(0, mem(4, 0)), simdOp(27, 3)),   // v128.load
		add(i32c(256), simdOp(7, mem(0, 0)), simdOp(27, 0)), // v128.load8_splat
		lget(0), i32c(1), opI32GtS,
		opIf, blockEmpty, add(i32c(1)), opElse, add(i32c(2)), opEnd,
		lget(acc),
	)
	return wasmModule(
		sec(secType, vec(
			funcType([]byte{tI32}, []byte{tI32}),
			funcType([]byte{tI32, tI32}, []byte{tI32}),
			funcType(nil, []byte{tI32, tI32}),
			funcType(nil, []byte{tI32}),
		)),
		sec(secFunction, vec(uleb(0), uleb(3), uleb(3))),
		sec(secTable, vec(cat(tFuncref, 0, uleb(2)))),
		sec(secMemory, vec(cat(0, uleb(1)))),
		sec(secExport, vec(exportOf("run", 0, 0), exportOf("drop", 0, 2))),
		sec(secElement, vec(cat(uleb(3), 0, vec(uleb(1))))),
		sec(secDataCount, uleb(1)),
		sec(secCode, vec(
			fbody([][]byte{local(2, tI32), local(1, tV128)}, code),
			fbody(nil, i32c(7)),
			fbody(nil, miscOp(9, uleb(0)), i32c(0)), // data.drop 0
		)),
		sec(secData, vec(cat(1, str("abcd")))),
	)
}
