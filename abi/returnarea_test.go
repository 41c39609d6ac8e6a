package abi_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/onexhost/onex-host/abi"
)

func TestReturnArea(t *testing.T) {
	tests := []struct {
		name      string
		ptr, size uint32
		want      []byte
	}{
		{name: "zero", ptr: 0, size: 0, want: []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		{name: "small", ptr: 1024, size: 3, want: []byte{0x00, 0x04, 0, 0, 0x03, 0, 0, 0}},
		{name: "mixed bytes", ptr: 0x12345678, size: 0x9abcdef0, want: []byte{0x78, 0x56, 0x34, 0x12, 0xf0, 0xde, 0xbc, 0x9a}},
		{name: "max pointer", ptr: math.MaxUint32, size: 0, want: []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}},
		{name: "max length", ptr: 0, size: math.MaxUint32, want: []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}},
		{name: "max both", ptr: math.MaxUint32, size: math.MaxUint32, want: bytes.Repeat([]byte{0xff}, 8)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A larger buffer shows that PutReturnArea writes the first 8 bytes only.
			buf := bytes.Repeat([]byte{0xaa}, abi.ReturnAreaSize+4)
			abi.PutReturnArea(buf, tt.ptr, tt.size)
			assert.Equal(t, tt.want, buf[:abi.ReturnAreaSize])
			assert.Equal(t, []byte{0xaa, 0xaa, 0xaa, 0xaa}, buf[abi.ReturnAreaSize:])

			ptr, size := abi.ReturnArea(binary.LittleEndian.Uint64(buf))
			assert.Equal(t, tt.ptr, ptr)
			assert.Equal(t, tt.size, size)
		})
	}
}

func TestPutReturnArea_short(t *testing.T) {
	// A return area shorter than ReturnAreaSize is a documented programmer error.
	tests := []struct {
		name string
		size int
	}{
		{name: "empty", size: 0},
		{name: "seven bytes", size: abi.ReturnAreaSize - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Panics(t, func() { abi.PutReturnArea(make([]byte, tt.size), 1, 2) })
		})
	}
}
