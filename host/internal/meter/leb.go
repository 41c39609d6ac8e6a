package meter

import "fmt"

// reader walks one region of the module. Every read checks its bounds and returns an
// error instead of panicking: Instrument runs on untrusted bytes.
type reader struct {
	b   []byte // the region being read
	off int    // the next byte to read, as an index into b
	abs int    // the offset of b[0] in the whole module, for error messages
}

// pos is the absolute module offset of the next byte, for error messages.
func (r *reader) pos() int { return r.abs + r.off }

func (r *reader) len() int { return len(r.b) - r.off }

func (r *reader) malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, fmt.Sprintf(format, args...), r.pos())
}

func (r *reader) unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrUnsupported, fmt.Sprintf(format, args...), r.pos())
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, r.malformed("unexpected end")
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) skip(n int) error {
	if n < 0 || n > r.len() {
		return r.malformed("%d bytes needed, %d remain", n, r.len())
	}
	r.off += n
	return nil
}

// u32 reads an unsigned LEB128 number of at most 32 bits (at most 5 bytes).
func (r *reader) u32() (uint32, error) {
	if r.off < len(r.b) && r.b[r.off] < 0x80 { // the common one-byte case
		r.off++
		return uint32(r.b[r.off-1]), nil
	}
	var v uint32
	for i := 0; i < 5; i++ {
		if r.off >= len(r.b) {
			return 0, r.malformed("truncated LEB128")
		}
		c := r.b[r.off]
		r.off++
		if i == 4 && c > 0x0f {
			return 0, r.malformed("LEB128 overflows 32 bits")
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	panic("unreachable: the fifth byte either ends the number or overflows")
}

// count reads a vector length and checks that at least min bytes per element remain, so
// that a forged count can never make a loop run billions of times.
func (r *reader) count(minBytes int) (int, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if uint64(n)*uint64(minBytes) > uint64(r.len()) {
		return 0, r.malformed("vector of %d elements does not fit in %d bytes", n, r.len())
	}
	return int(n), nil
}

// sleb skips a signed LEB128 number of at most maxBytes bytes (5 for s32 and s33, 10 for
// s64). The value is never needed: only its length, and that it is well formed. The
// unused high bits of the last byte are left for the validator to check.
func (r *reader) sleb(maxBytes int) error {
	for i := 0; i < maxBytes; i++ {
		if r.off >= len(r.b) {
			return r.malformed("truncated LEB128")
		}
		c := r.b[r.off]
		r.off++
		if c&0x80 == 0 {
			return nil
		}
	}
	return r.malformed("LEB128 longer than %d bytes", maxBytes)
}

// name reads a length-prefixed byte string and returns a view of it.
func (r *reader) name() ([]byte, error) {
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(r.len()) {
		return nil, r.malformed("name of %d bytes, %d remain", n, r.len())
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// malformedAt, invalidAt and unsupportedAt report an error at the offset at within r.b.
func malformedAt(r *reader, at int, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrMalformed, fmt.Sprintf(format, args...), r.abs+at)
}

func invalidAt(r *reader, at int, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrInvalid, fmt.Sprintf(format, args...), r.abs+at)
}

func unsupportedAt(r *reader, at int, format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", ErrUnsupported, fmt.Sprintf(format, args...), r.abs+at)
}

func (r *reader) conflict(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrConflict, fmt.Sprintf(format, args...))
}
