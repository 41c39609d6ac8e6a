package meter

// An edit replaces src[at:at+skip] of a section payload with new bytes. Edits of one
// payload are kept in ascending order of at and never overlap; a zero skip inserts.
type edit struct {
	at   int
	skip int
	val  int64 // editU32: the number; editCheck: the cost (a region index while scanning)
	kind editKind
	data []byte // editBytes only
}

type editKind uint8

const (
	editU32   editKind = iota // write val as an unsigned LEB128 (a renumbered index, a new size)
	editCheck                 // write the fuel check, charging val
	editBytes                 // write data
)

// checkCode is the fuel check for one module; only the charged cost varies.
//
//	global.get $fuel; i64.const <cost>; i64.sub; global.set $fuel
//	global.get $fuel; i64.const 0; i64.lt_s; if; call $refill; end
type checkCode struct {
	prefix []byte // global.get $fuel; i64.const
	suffix []byte // i64.sub ... end
}

func newCheckCode(fuel, refill uint32) checkCode {
	var c checkCode
	c.prefix = appendU32([]byte{opGlobalGet}, fuel)
	c.prefix = append(c.prefix, opI64Const)
	s := []byte{opI64Sub, opGlobalSet}
	s = appendU32(s, fuel)
	s = append(s, opGlobalGet)
	s = appendU32(s, fuel)
	s = append(s, opI64Const, 0, opI64LtS, opIf, blockEmpty, opCall)
	s = appendU32(s, refill)
	c.suffix = append(s, opEnd)
	return c
}

func (c *checkCode) len(cost int64) int { return len(c.prefix) + lenS64(cost) + len(c.suffix) }

func (c *checkCode) append(dst []byte, cost int64) []byte {
	dst = append(dst, c.prefix...)
	dst = appendS64(dst, cost)
	return append(dst, c.suffix...)
}

// size returns the length of one edit's replacement.
func (e *edit) size(c *checkCode) int {
	switch e.kind {
	case editU32:
		return lenU32(uint32(e.val))
	case editCheck:
		return c.len(e.val)
	default:
		return len(e.data)
	}
}

// delta returns how much edits change the length of the payload they apply to.
func delta(edits []edit, c *checkCode) int {
	d := 0
	for i := range edits {
		d += edits[i].size(c) - edits[i].skip
	}
	return d
}

// apply appends src with edits applied to dst.
func apply(dst, src []byte, edits []edit, c *checkCode) []byte {
	last := 0
	for i := range edits {
		e := &edits[i]
		dst = append(dst, src[last:e.at]...)
		switch e.kind {
		case editU32:
			dst = appendU32(dst, uint32(e.val))
		case editCheck:
			dst = c.append(dst, e.val)
		default:
			dst = append(dst, e.data...)
		}
		last = e.at + e.skip
	}
	return append(dst, src[last:]...)
}
