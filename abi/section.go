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

// ImportModules returns the distinct module names of a module's imports, in first-seen
// order, by reading its import section only (no validation, no compilation): enough to
// tell an Extism plugin (it imports extism:host/env) from a native one before choosing how
// to compile it.
func ImportModules(module []byte) ([]string, error) {
	if !IsWasm(module) {
		return nil, ErrNotWasm
	}
	rest := module[len(Magic):]
	for len(rest) > 0 {
		id := rest[0]
		size, n, err := uleb32(rest[1:])
		if err != nil || uint64(size) > uint64(len(rest)-1-n) {
			return nil, fmt.Errorf("%w: section at offset %d", ErrMalformedModule, len(module)-len(rest))
		}
		payload := rest[1+n : 1+n+int(size)]
		rest = rest[1+n+int(size):]
		if id == 2 {
			return importModules(payload)
		}
	}
	return nil, nil
}

// importModules reads an import section's entries up to each import's kind byte.
func importModules(p []byte) ([]string, error) {
	bad := fmt.Errorf("%w: import section", ErrMalformedModule)
	count, n, err := uleb32(p)
	if err != nil {
		return nil, bad
	}
	p = p[n:]
	var out []string
	seen := map[string]bool{}
	name := func() (string, bool) {
		l, n, err := uleb32(p)
		if err != nil || uint64(l) > uint64(len(p)-n) {
			return "", false
		}
		s := string(p[n : n+int(l)])
		p = p[n+int(l):]
		return s, true
	}
	for range count {
		mod, ok := name()
		if !ok {
			return nil, bad
		}
		if _, ok := name(); !ok || len(p) == 0 {
			return nil, bad
		}
		if !seen[mod] {
			seen[mod] = true
			out = append(out, mod)
		}
		// Skip the import's description: kind byte, then a type index (func), a table
		// type, a memory type or a global type.
		kind := p[0]
		p = p[1:]
		switch kind {
		case 0: // func: type index
			_, n, err := uleb32(p)
			if err != nil {
				return nil, bad
			}
			p = p[n:]
		case 1: // table: reftype, limits
			if len(p) < 1 {
				return nil, bad
			}
			p = p[1:]
			if p, err = skipLimits(p); err != nil {
				return nil, bad
			}
		case 2: // memory: limits
			if p, err = skipLimits(p); err != nil {
				return nil, bad
			}
		case 3: // global: valtype, mutability
			if len(p) < 2 {
				return nil, bad
			}
			p = p[2:]
		default:
			return nil, fmt.Errorf("%w: import kind %#x", ErrMalformedModule, kind)
		}
	}
	return out, nil
}

// skipLimits skips a limits encoding: a flag byte, a minimum and, with bit 0, a maximum.
func skipLimits(p []byte) ([]byte, error) {
	if len(p) < 1 {
		return nil, ErrMalformedModule
	}
	flags := p[0]
	p = p[1:]
	for range 1 + int(flags&1) {
		_, n, err := uleb32(p)
		if err != nil {
			return nil, err
		}
		p = p[n:]
	}
	return p, nil
}
