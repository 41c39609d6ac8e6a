package snapshot

import (
	"errors"
	"fmt"
	"github.com/onexhost/onex-host/host/internal/leb128"
)

// Section ids (WebAssembly core spec 5.5.2).
const (
	secCustom    = 0
	secImport    = 2
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// rank orders the known sections as the binary format requires; custom sections have none.
var rank = map[byte]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

// section is one section of a module: its id and payload (a view into the module).
type section struct {
	id      byte
	payload []byte
}

var errMalformed = errors.New("snapshot: malformed module")

// reader decodes a payload.
type reader struct {
	b   []byte
	off int
}

func (r *reader) done() bool { return r.off >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errMalformed
	}
	r.off++
	return r.b[r.off-1], nil
}

func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.off {
		return nil, errMalformed
	}
	r.off += n
	return r.b[r.off-n : r.off], nil
}

// uleb reads an unsigned LEB128 of at most 64 bits.
func (r *reader) uleb() (uint64, error) {
	var v uint64
	for shift := 0; shift < 70; shift += 7 {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, errMalformed
}

func (r *reader) u32() (uint32, error) {
	v, err := r.uleb()
	if v > 1<<32-1 {
		return 0, errMalformed
	}
	return uint32(v), err
}

// name reads a length-prefixed byte string.
func (r *reader) name() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	return r.bytes(int(n))
}

// constExpr skips a constant expression up to and including its end opcode.
func (r *reader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41, 0x42, 0x23, 0xd2, 0x24: // i32.const, i64.const, global.get, ref.func
			_, err = r.uleb()
		case 0x43: // f32.const
			_, err = r.bytes(4)
		case 0x44: // f64.const
			_, err = r.bytes(8)
		case 0xd0: // ref.null t
			_, err = r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		case 0xfd: // v128.const
			var sub uint32
			if sub, err = r.u32(); err == nil && sub == 12 {
				_, err = r.bytes(16)
			} else if err == nil {
				err = fmt.Errorf("%w: opcode 0xfd %d in a constant expression", ErrUnsupported, sub)
			}
		default:
			return fmt.Errorf("%w: opcode %#x in a constant expression", ErrUnsupported, op)
		}
		if err != nil {
			return err
		}
	}
}

// limits reads memory or table limits and returns the flags and minimum.
func (r *reader) limits() (flags byte, min uint64, err error) {
	if flags, err = r.byte(); err != nil {
		return 0, 0, err
	}
	if min, err = r.uleb(); err != nil {
		return 0, 0, err
	}
	if flags&1 != 0 {
		_, err = r.uleb()
	}
	return flags, min, err
}

// split returns the sections of wasm.
func split(wasm []byte) ([]section, error) {
	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" || string(wasm[4:8]) != "\x01\x00\x00\x00" {
		return nil, fmt.Errorf("%w: not a core Wasm module", errMalformed)
	}
	r := &reader{b: wasm, off: 8}
	var secs []section
	for !r.done() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		p, err := r.bytes(int(n))
		if err != nil {
			return nil, err
		}
		secs = append(secs, section{id, p})
	}
	return secs, nil
}

// join encodes sections into a module.
func join(secs []section) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range secs {
		out = append(out, s.id)
		out = leb128.AppendU32(out, uint32(len(s.payload)))
		out = append(out, s.payload...)
	}
	return out
}

// put replaces the section with id, or inserts it where the binary format orders it.
func put(secs []section, s section) []section {
	for i := range secs {
		if secs[i].id == s.id {
			secs[i] = s
			return secs
		}
	}
	for i := range secs {
		if secs[i].id != secCustom && rank[secs[i].id] > rank[s.id] {
			return append(secs[:i], append([]section{s}, secs[i:]...)...)
		}
	}
	return append(secs, s)
}

// drop removes the section with id, if any.
func drop(secs []section, id byte) []section {
	out := secs[:0]
	for _, s := range secs {
		if s.id != id {
			out = append(out, s)
		}
	}
	return out
}

func find(secs []section, id byte) []byte {
	for _, s := range secs {
		if s.id == id {
			return s.payload
		}
	}
	return nil
}

func appendName(dst []byte, s string) []byte {
	return append(leb128.AppendU32(dst, uint32(len(s))), s...)
}
