package abi

import "encoding/binary"

// PutReturnArea writes an output location into a ReturnAreaSize-byte return area: the
// pointer, then the length, each a little-endian u32. It panics if ret is shorter than
// ReturnAreaSize.
func PutReturnArea(ret []byte, ptr, length uint32) {
	binary.LittleEndian.PutUint32(ret[0:4], ptr)
	binary.LittleEndian.PutUint32(ret[4:8], length)
}

// ReturnArea decodes what PutReturnArea wrote, given the area as one little-endian u64
// (as wazero's Memory.ReadUint64Le returns it).
func ReturnArea(v uint64) (ptr, length uint32) {
	return uint32(v), uint32(v >> 32)
}
