// Package leb128 writes the LEB128 integers of the WebAssembly binary format (unsigned
// and signed), for the packages that rewrite modules: host/internal/meter and
// host/internal/snapshot. Each parses with its own reader, whose errors say what its
// rewrite needs.
package leb128

// AppendU32 appends v as unsigned LEB128.
func AppendU32(dst []byte, v uint32) []byte {
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// AppendS64 appends v as signed LEB128 (the encoding of i32.const and i64.const).
func AppendS64(dst []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

// LenU32 is the length of AppendU32's encoding of v.
func LenU32(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
