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
	var first []byte
	err := customSections(module, name, func(payload []byte) bool {
		first = payload
		return false
	})
	return first, err
}

// CustomSections returns the payloads of every custom section called name, in module
// order, or nil when the module has none: the host refuses a module with two manifest
// sections rather than pick one. Each payload is a view into module, not a copy. Like
// CustomSection it reads section headers only.
func CustomSections(module []byte, name string) ([][]byte, error) {
	var all [][]byte
	err := customSections(module, name, func(payload []byte) bool {
		all = append(all, payload)
		return true
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// customSections calls found with the payload of each custom section called name, in
// module order, until found returns false.
func customSections(module []byte, name string, found func(payload []byte) bool) error {
	if !IsWasm(module) {
		return ErrNotWasm
	}
	rest := module[len(Magic):]
	for len(rest) > 0 {
		id := rest[0]
		size, n, err := uleb32(rest[1:])
		if err != nil {
			return fmt.Errorf("%w: section size at offset %d: %v", ErrMalformedModule, len(module)-len(rest), err)
		}
		body := rest[1+n:]
		if uint64(size) > uint64(len(body)) {
			return fmt.Errorf("%w: section at offset %d claims %d bytes, %d remain", ErrMalformedModule, len(module)-len(rest), size, len(body))
		}
		payload := body[:size]
		rest = body[size:]
		if id != 0 {
			continue
		}
		nameLen, n, err := uleb32(payload)
		if err != nil || uint64(nameLen) > uint64(len(payload)-n) {
			return fmt.Errorf("%w: custom section name", ErrMalformedModule)
		}
		if string(payload[n:n+int(nameLen)]) == name && !found(payload[n+int(nameLen):]) {
			return nil
		}
	}
	return nil
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

// ImportKind is what an import brings in: a function, a table, a memory or a global
// (the import description's kind byte in the binary format).
type ImportKind byte

// Import kinds, numbered as in the binary format.
const (
	ImportFunc   ImportKind = 0
	ImportTable  ImportKind = 1
	ImportMemory ImportKind = 2
	ImportGlobal ImportKind = 3
)

// String returns "function", "table", "memory" or "global".
func (k ImportKind) String() string {
	switch k {
	case ImportFunc:
		return "function"
	case ImportTable:
		return "table"
	case ImportMemory:
		return "memory"
	case ImportGlobal:
		return "global"
	}
	return fmt.Sprintf("import kind %#x", byte(k))
}

// Import is one entry of a module's import section.
type Import struct {
	Module, Name string
	Kind         ImportKind
}

// Imports returns a module's imports in order, by reading its import section only (no
// validation, no compilation): enough to refuse, before instantiation, an import of a
// kind the ABI does not allow (abi/SPEC.md section 1: functions only). It returns nil for
// a module without imports, and errors wrapping ErrNotWasm or ErrMalformedModule.
func Imports(module []byte) ([]Import, error) {
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
			return imports(payload)
		}
	}
	return nil, nil
}

// ImportModules returns the distinct module names of a module's imports, in first-seen
// order, by reading its import section only (no validation, no compilation): enough to
// tell an Extism plugin (it imports extism:host/env) from a native one before choosing how
// to compile it.
func ImportModules(module []byte) ([]string, error) {
	all, err := Imports(module)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, im := range all {
		if !seen[im.Module] {
			seen[im.Module] = true
			out = append(out, im.Module)
		}
	}
	return out, nil
}

// imports reads an import section's entries.
func imports(p []byte) ([]Import, error) {
	bad := fmt.Errorf("%w: import section", ErrMalformedModule)
	count, n, err := uleb32(p)
	if err != nil {
		return nil, bad
	}
	p = p[n:]
	var out []Import
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
		field, ok := name()
		if !ok || len(p) == 0 {
			return nil, bad
		}
		// Skip the import's description: kind byte, then a type index (func), a table
		// type, a memory type or a global type.
		kind := ImportKind(p[0])
		p = p[1:]
		switch kind {
		case ImportFunc: // type index
			_, n, err := uleb32(p)
			if err != nil {
				return nil, bad
			}
			p = p[n:]
		case ImportTable: // reftype, limits
			if len(p) < 1 {
				return nil, bad
			}
			p = p[1:]
			if p, err = skipLimits(p); err != nil {
				return nil, bad
			}
		case ImportMemory: // limits
			if p, err = skipLimits(p); err != nil {
				return nil, bad
			}
		case ImportGlobal: // valtype, mutability
			if len(p) < 2 {
				return nil, bad
			}
			p = p[2:]
		default:
			return nil, fmt.Errorf("%w: import kind %#x", ErrMalformedModule, byte(kind))
		}
		out = append(out, Import{Module: mod, Name: field, Kind: kind})
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
