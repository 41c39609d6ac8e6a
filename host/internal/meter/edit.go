package meter

import "github.com/onexhost/onex-host/host/internal/leb128"

// An edit replaces src[at:at+skip] of a section payload with new bytes. Edits of one
// payload are kept in ascending order of at and never overlap; a zero skip inserts, and
// inserts at the same offset are written in the order they were recorded.
type edit struct {
	at    int
	skip  int
	val   int64 // editU32: the number; the fuel edits: the cost (a segment while scanning)
	local uint32
	kind  editKind
	data  []byte // editBytes only
}

type editKind uint8

const (
	editU32    editKind = iota // write val as an unsigned LEB128 (a renumbered index, a new size)
	editBytes                  // write data
	editCharge                 // charge val to the fuel local (nothing when val is 0)
	editCheck                  // charge val, then refill if the local went negative (a loop's start)
	editEntry                  // load the counter into the fuel local, charge val and check
	editLoad                   // load the counter into the fuel local and charge val, no check
	editSpill                  // store the fuel local into the counter (before a call or an exit)
	editReload                 // load the counter into the fuel local (after a call)
)

// gen writes the fuel code of one module: the counter global G and the refill function
// R are the module's, the fuel local L is each function's own (edit.local).
//
//	charge:  local.get L; i64.const c; i64.sub; local.set L
//	check:   local.get L; i64.const c; i64.sub; local.tee L; i64.const 0; i64.lt_s
//	         if; local.get L; global.set G; call R; global.get G; local.set L; end
//	entry:   global.get G; i64.const c; i64.sub; local.tee L; ... (as check)
//	load:    global.get G; i64.const c; i64.sub; local.set L
//	spill:   local.get L; global.set G
//	reload:  global.get G; local.set L
type gen struct {
	global, refill uint32
	scratch        []byte
}

func (g *gen) size(e *edit) int {
	switch e.kind {
	case editU32:
		return leb128.LenU32(uint32(e.val))
	case editBytes:
		return len(e.data)
	}
	g.scratch = g.append(g.scratch[:0], e) // a few dozen bytes: simpler than counting
	return len(g.scratch)
}

func (g *gen) append(dst []byte, e *edit) []byte {
	local := func(op byte) { dst = leb128.AppendU32(append(dst, op), e.local) }
	global := func(op byte) { dst = leb128.AppendU32(append(dst, op), g.global) }
	sub := func() { dst = append(leb128.AppendS64(append(dst, opI64Const), e.val), opI64Sub) }
	check := func() {
		local(opLocalTee)
		dst = append(dst, opI64Const, 0, opI64LtS, opIf, blockEmpty)
		local(opLocalGet)
		global(opGlobalSet)
		dst = leb128.AppendU32(append(dst, opCall), g.refill)
		global(opGlobalGet)
		local(opLocalSet)
		dst = append(dst, opEnd)
	}
	switch e.kind {
	case editU32:
		return leb128.AppendU32(dst, uint32(e.val))
	case editBytes:
		return append(dst, e.data...)
	case editCharge:
		if e.val != 0 {
			local(opLocalGet)
			sub()
			local(opLocalSet)
		}
	case editCheck:
		local(opLocalGet)
		sub()
		check()
	case editEntry:
		global(opGlobalGet)
		sub()
		check()
	case editLoad:
		global(opGlobalGet)
		sub()
		local(opLocalSet)
	case editSpill:
		local(opLocalGet)
		global(opGlobalSet)
	case editReload:
		global(opGlobalGet)
		local(opLocalSet)
	}
	return dst
}

// delta returns how much edits change the length of the payload they apply to.
func delta(edits []edit, g *gen) int {
	d := 0
	for i := range edits {
		d += g.size(&edits[i]) - edits[i].skip
	}
	return d
}

// apply appends src with edits applied to dst.
func apply(dst, src []byte, edits []edit, g *gen) []byte {
	last := 0
	for i := range edits {
		e := &edits[i]
		dst = append(dst, src[last:e.at]...)
		dst = g.append(dst, e)
		last = e.at + e.skip
	}
	return append(dst, src[last:]...)
}
