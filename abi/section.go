package abi

import (
	"errors"
	"fmt"
)

// Magic is the first eight bytes of every Wasm binary module: "\0asm" then version 1.
const Magic = "\x00asm\x01\x00\x00\x00"

// ErrNotWasm is returned by CustomSection for bytes that do not start with Magic.
var ErrNotWasm = errors.New("abi: not a WebAssembly binary module (bad magic or version)")

// ErrMalformedModule is returned (wrapped) by CustomSection when a section header runs
// past the end of the module or holds a malformed number or name.
var ErrMalformedModule = errors.New("abi: malformed WebAssembly module")

// IsWasm reports whether b starts with the Wasm binary magic and version 1.
func IsWasm(b []byte) bool { return string(b[:min(len(b), len(Magic))]) == Magic }

// CustomSection returns the payload of the first custom section called name, or nil when
// the module has none. The result is a view into module, not a copy. It reads section
// headers only (about a microsecond for a 3 MB module) and does not validate the module.
func CustomSection(module []byte, name string) ([]byte, error) {
	if !IsWasm(module) {
		return nil, ErrNotWasm
	}
	rest := module[len(Magic):]
	for len(rest) > 0 {
		id := rest[0]
		size, n, err := uleb32(rest[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: section size at offset %d: %v", ErrMalformedModule, len(module)-len(rest), err)
		}
		body := rest[1+n:]
		if uint64(size) > uint64(len(body)) {
			return nil, fmt.Errorf("%w: section at offset %d claims %d bytes, %d remain", ErrMalformedModule, len(module)-len(rest), size, len(body))
		}
		payload := body[:size]
		rest = body[size:]
		if id != 0 {
			continue
		}
		nameLen, n, err := uleb32(payload)
		if err != nil || uint64(nameLen) > uint64(len(payload)-n) {
			return nil, fmt.Errorf("%w: custom section name", ErrMalformedModule)
		}
		if string(payload[n:n+int(nameLen)]) == name {
			return payload[n+int(nameLen):], nil
		}
	}
	return nil, nil
}

// AppendCustomSection appends a custom section called name holding payload to module (a
// complete binary module) and returns the extended slice.
func AppendCustomSection(module []byte, name string, payload []byte) []byte {
	inner := appendUleb32(nil, uint32(len(name)))
	inner = append(inner, name...)
	module = append(module, 0)
	module = appendUleb32(module, uint32(len(inner)+len(payload)))
	module = append(module, inner...)
	return append(module, payload...)
}

// uleb32 decodes an unsigned LEB128 number of at most 32 bits and returns it with the
// number of bytes read.
func uleb32(b []byte) (uint32, int, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		if i >= len(b) {
			return 0, 0, errors.New("truncated LEB128")
		}
		c := b[i]
		if i == 4 && c > 0x0f {
			return 0, 0, errors.New("LEB128 overflows 32 bits")
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1, nil
		}
	}
	panic("unreachable: the fifth byte either ends the number or overflows")
}

func appendUleb32(dst []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			dst = append(dst, c|0x80)
			continue
		}
		return append(dst, c)
	}
}
