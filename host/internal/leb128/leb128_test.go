package leb128

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLEB128: the unsigned form is Go's uvarint (the same encoding), and LenU32 its
// length; the signed form matches the WebAssembly spec's examples and round-trips.
func TestLEB128(t *testing.T) {
	for _, v := range []uint32{0, 1, 127, 128, 300, 1 << 21, math.MaxUint32} {
		got := AppendU32(nil, v)
		assert.Equal(t, binary.AppendUvarint(nil, uint64(v)), got, "%d", v)
		assert.Equal(t, len(got), LenU32(v), "%d", v)
	}
	assert.Equal(t, []byte{0x7f}, AppendS64(nil, -1))
	assert.Equal(t, []byte{0x80, 0x7f}, AppendS64(nil, -128))
	assert.Equal(t, []byte{0xc0, 0x00}, AppendS64(nil, 64))
	assert.Equal(t, []byte{0x3f}, AppendS64(nil, 63))
	for _, v := range []int64{0, 1, -1, 63, -64, 64, -65, math.MaxInt64, math.MinInt64} {
		b := AppendS64(nil, v)
		var got int64
		var shift uint
		for i, c := range b {
			got |= int64(c&0x7f) << shift
			shift += 7
			if c&0x80 == 0 {
				if shift < 64 && c&0x40 != 0 {
					got |= -1 << shift
				}
				assert.Equal(t, len(b)-1, i, "%d: one terminating byte", v)
			}
		}
		assert.Equal(t, v, got, "%d round-trips", v)
	}
}
