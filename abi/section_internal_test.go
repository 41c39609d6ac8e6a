package abi

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUleb32(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    uint32
		wantN   int
		wantErr bool
	}{
		{name: "zero", in: []byte{0x00}, want: 0, wantN: 1},
		{name: "one byte max", in: []byte{0x7f}, want: 127, wantN: 1},
		{name: "two bytes", in: []byte{0x80, 0x01}, want: 128, wantN: 2},
		{name: "spec example", in: []byte{0xe5, 0x8e, 0x26}, want: 624485, wantN: 3},
		{name: "stops at the last byte", in: []byte{0x05, 0xff, 0xff}, want: 5, wantN: 1},
		{name: "padded zero", in: []byte{0x80, 0x80, 0x80, 0x80, 0x00}, want: 0, wantN: 5},
		{name: "5-byte max", in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, want: math.MaxUint32, wantN: 5},
		{name: "1<<28", in: []byte{0x80, 0x80, 0x80, 0x80, 0x01}, want: 1 << 28, wantN: 5},
		{name: "empty", in: nil, wantErr: true},
		{name: "truncated", in: []byte{0x80}, wantErr: true},
		{name: "truncated at 4 bytes", in: []byte{0xff, 0xff, 0xff, 0xff}, wantErr: true},
		{name: "fifth byte overflows", in: []byte{0xff, 0xff, 0xff, 0xff, 0x10}, wantErr: true},
		{name: "fifth byte continues", in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, wantErr: true},
		{name: "fifth byte continues with low bits", in: []byte{0x80, 0x80, 0x80, 0x80, 0x8f, 0x00}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := uleb32(tt.in)
			if tt.wantErr {
				require.Error(t, err)
				assert.Zero(t, got)
				assert.Zero(t, n)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.wantN, n)
		})
	}
}

func TestAppendUleb32(t *testing.T) {
	tests := []struct {
		name string
		v    uint32
		want []byte
	}{
		{name: "zero", v: 0, want: []byte{0x00}},
		{name: "one byte max", v: 127, want: []byte{0x7f}},
		{name: "two bytes min", v: 128, want: []byte{0x80, 0x01}},
		{name: "two bytes max", v: 1<<14 - 1, want: []byte{0xff, 0x7f}},
		{name: "three bytes min", v: 1 << 14, want: []byte{0x80, 0x80, 0x01}},
		{name: "spec example", v: 624485, want: []byte{0xe5, 0x8e, 0x26}},
		{name: "four bytes max", v: 1<<28 - 1, want: []byte{0xff, 0xff, 0xff, 0x7f}},
		{name: "five bytes min", v: 1 << 28, want: []byte{0x80, 0x80, 0x80, 0x80, 0x01}},
		{name: "max", v: math.MaxUint32, want: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte{0xaa}
			got := appendUleb32(prefix, tt.v)
			require.Equal(t, append([]byte{0xaa}, tt.want...), got)

			back, n, err := uleb32(got[1:])
			require.NoError(t, err)
			assert.Equal(t, tt.v, back)
			assert.Equal(t, len(tt.want), n)
		})
	}
}

func FuzzUleb32(f *testing.F) {
	for _, v := range []uint32{0, 1, 127, 128, 624485, 1<<28 - 1, 1 << 28, math.MaxUint32} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v uint32) {
		b := appendUleb32(nil, v)
		require.LessOrEqual(t, len(b), 5)
		got, n, err := uleb32(b)
		require.NoError(t, err)
		require.Equal(t, v, got)
		require.Equal(t, len(b), n)
	})
}
