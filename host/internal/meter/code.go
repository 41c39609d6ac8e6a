package meter

// Opcodes the scanner names or emits.
const (
	opUnreachable  = 0x00
	opBlock        = 0x02
	opLoop         = 0x03
	opIf           = 0x04
	opElse         = 0x05
	opEnd          = 0x0b
	opBr           = 0x0c
	opBrIf         = 0x0d
	opBrTable      = 0x0e
	opReturn       = 0x0f
	opCall         = 0x10
	opCallIndirect = 0x11
	opDrop         = 0x1a
	opSelect       = 0x1b
	opSelectT      = 0x1c
	opLocalGet     = 0x20
	opLocalSet     = 0x21
	opLocalTee     = 0x22
	opGlobalGet    = 0x23
	opGlobalSet    = 0x24
	opTableGet     = 0x25
	opTableSet     = 0x26
	opI32Load      = 0x28
	opI64Store32   = 0x3e
	opMemorySize   = 0x3f
	opMemoryGrow   = 0x40
	opI32Const     = 0x41
	opI64Const     = 0x42
	opF32Const     = 0x43
	opF64Const     = 0x44
	opI32Eqz       = 0x45
	opI64LtS       = 0x53
	opI64Sub       = 0x7d
	opI64Extend32S = 0xc4
	opRefNull      = 0xd0
	opRefIsNull    = 0xd1
	opRefFunc      = 0xd2
	opMiscPrefix   = 0xfc
	opSIMDPrefix   = 0xfd
	opThreadPrefix = 0xfe

	blockEmpty = 0x40
)

// unsupportedOps names the opcodes of proposals the rewriter refuses.
var unsupportedOps = map[byte]string{
	0x06: "try (exception handling)", 0x07: "catch (exception handling)",
	0x08: "throw (exception handling)", 0x09: "rethrow (exception handling)",
	0x0a: "throw_ref (exception handling)", 0x12: "return_call (tail calls)",
	0x13: "return_call_indirect (tail calls)", 0x14: "call_ref (function references)",
	0x15: "return_call_ref (tail calls)", 0x18: "delegate (exception handling)",
	0x19: "catch_all (exception handling)", 0x1f: "try_table (exception handling)",
	0xd3: "ref.as_non_null (function references)", 0xd4: "br_on_null (function references)",
	0xd5: "ref.eq (GC)", 0xd6: "br_on_non_null (function references)",
	0xfb: "GC prefix", 0xfe: "threads prefix",
}

// simdGaps are the opcode numbers below 256 that the fixed-width SIMD proposal leaves
// unassigned (they were used by drafts and removed before it was finalised).
var simdGaps = [256]bool{
	154: true, 162: true, 165: true, 166: true, 175: true, 176: true, 178: true, 179: true,
	180: true, 187: true, 194: true, 197: true, 198: true, 207: true, 208: true, 210: true,
	211: true, 212: true, 226: true, 238: true,
}

// frameKind is the kind of an open structured instruction.
type frameKind uint8

const (
	frameBlock frameKind = iota // block, and the function body itself
	frameIf
	frameLoop
)

type frame struct {
	kind frameKind
	// targeted: a branch names this frame's label; unreached: the frame opened in code
	// no execution can reach, so all of it is unreachable, its end included.
	targeted, unreached bool
}

// scanner decodes instructions and records the edits metering needs. It is reused
// across function bodies to keep its slices.
type scanner struct {
	m      *module
	edits  []edit  // edits of the current section payload, ascending
	costs  []int64 // the static cost of each segment of the current function
	frames []frame
	loops  int // loops given a check
	// folded counts the functions whose entry check was left to their leading loop's.
	folded int
	// charges counts the charges inserted, checks included.
	charges int
	// locals is the current function's number of locals, parameters included: the
	// index of its fuel local. inBody is set while a function body is scanned.
	locals uint32
	inBody bool
	// exact makes every instruction a segment of its own (see rewrite).
	exact bool
	// lead reports that the current function's body reaches a loop through
	// straight-line code only (see straight).
	lead bool
}

// straight marks the instructions that may come before a function's first loop without
// costing it its entry check: they cannot branch, call or end a block, so control falls
// through them into that loop, whose check then runs at every entry of the function.
var straight = func() (t [256]bool) {
	for _, op := range []byte{0x01, opBlock, opDrop, opSelect, opLocalGet, opLocalSet, opLocalTee,
		opGlobalGet, opGlobalSet, opI32Const, opI64Const, opF32Const, opF64Const} {
		t[op] = true
	}
	for op := opI32Load; op <= opI64Store32; op++ { // a load or store can trap, never branch
		t[op] = true
	}
	for op := opI32Eqz; op <= opI64Extend32S; op++ {
		t[op] = true
	}
	return t
}()

// Instruction classes: how the scanner treats each one-byte opcode.
const (
	cUnknown  = iota // refused
	cNone            // no immediate
	cBlock           // block, if: a block type
	cLoop            // a block type, then a check
	cElse            // else
	cEnd             // end
	cU32             // one u32: br, br_if, local.*, global.*, table.get, table.set
	cBrTable         // a label vector and a default label
	cFunc            // call, ref.func: a function index to renumber
	cCallInd         // a type index and a table index
	cSelectT         // a value type vector
	cMemarg          // loads and stores
	cMemIndex        // memory.size, memory.grow: a zero byte
	cS32             // i32.const
	cS64             // i64.const
	cF32             // f32.const
	cF64             // f64.const
	cRefNull         // a heap type
	cMisc            // the 0xfc prefix
	cSIMD            // the 0xfd prefix
)

var opClass = func() (t [256]uint8) {
	for _, op := range []byte{opUnreachable, 0x01, opReturn, opDrop, opSelect, opRefIsNull} {
		t[op] = cNone
	}
	for op := opI32Eqz; op <= opI64Extend32S; op++ { // numeric and sign extension
		t[op] = cNone
	}
	for op := opI32Load; op <= opI64Store32; op++ {
		t[op] = cMemarg
	}
	for op := opLocalGet; op <= opTableSet; op++ {
		t[op] = cU32
	}
	t[opBr], t[opBrIf] = cU32, cU32
	t[opBlock], t[opIf], t[opLoop], t[opElse], t[opEnd] = cBlock, cBlock, cLoop, cElse, cEnd
	t[opBrTable], t[opCall], t[opRefFunc], t[opCallIndirect] = cBrTable, cFunc, cFunc, cCallInd
	t[opSelectT], t[opMemorySize], t[opMemoryGrow] = cSelectT, cMemIndex, cMemIndex
	t[opI32Const], t[opI64Const], t[opF32Const], t[opF64Const] = cS32, cS64, cF32, cF64
	t[opRefNull], t[opMiscPrefix], t[opSIMDPrefix] = cRefNull, cMisc, cSIMD
	return t
}()

// expr scans one expression starting at r.off up to and including its final end. With
// meter set it is a function body whose entry segment (0) the caller has opened: the
// body is cut into segments of straight-line code, each charged in full where it starts
// (see the package documentation), loops get a check, and calls and exits a spill of
// the fuel local. Whether metering or not, call and ref.func get their function index
// renumbered, and the indices of every space the rewriting extends are checked.
func (s *scanner) expr(r *reader, meter bool) error {
	s.frames = append(s.frames[:0], frame{kind: frameBlock})
	s.inBody = meter
	cur := 0 // the current segment; -1 in unreachable code
	s.lead = false
	leading := meter // no instruction so far could branch, call or end a block
	var err error
	for err == nil {
		at := r.off
		if meter && s.exact {
			cur = s.segment(at, editCharge)
		}
		if meter && cur >= 0 {
			s.costs[cur]++
		}
		if r.off >= len(r.b) {
			return r.malformed("unexpected end of code")
		}
		op := r.b[at]
		r.off++
		if leading && !straight[op] {
			leading = false
			s.lead = op == opLoop
		}
		switch opClass[op] {
		case cNone:
			if meter && (op == opReturn || op == opUnreachable) {
				if op == opReturn && cur >= 0 {
					s.fuelEdit(at, editSpill)
				}
				cur = -1
			}
		case cU32:
			var idx uint32
			if idx, err = s.index(r, op); err != nil || !meter || (op != opBr && op != opBrIf) {
				break
			}
			if err = s.branch(r, at, idx, cur >= 0); err != nil {
				break
			}
			if op == opBr || cur < 0 {
				cur = -1
			} else { // br_if: the code after it runs only when it does not branch
				cur = s.segment(r.off, editCharge)
			}
		case cMemarg:
			err = memarg(r)
		case cS32:
			err = r.sleb(5)
		case cS64:
			err = r.sleb(10)
		case cFunc, cCallInd:
			// A call spills the fuel local before it (the callee, or a host function it
			// reaches, charges the counter itself) and reloads it after. The spill goes
			// first: edits are kept in order of offset.
			call := meter && op != opRefFunc && cur >= 0
			if call {
				s.fuelEdit(at, editSpill)
			}
			if op == opCallIndirect {
				if _, err = s.m.typeIndex(r); err == nil {
					_, err = r.u32() // table index
				}
			} else {
				var idx uint32
				if idx, err = s.funcIndex(r); err == nil && meter && op == opCall && idx < s.m.nImportFuncs && cur >= 0 {
					s.costs[cur] += ImportCallFuel
				}
			}
			if call {
				s.fuelEdit(r.off, editReload)
			}
		case cBlock:
			err = s.blockType(r)
			f := frame{kind: frameBlock, unreached: cur < 0}
			if op == opIf {
				f.kind = frameIf
				if meter && cur >= 0 {
					cur = s.segment(r.off, editCharge)
				}
			}
			s.frames = append(s.frames, f)
		case cLoop:
			err = s.blockType(r)
			s.frames = append(s.frames, frame{kind: frameLoop, unreached: cur < 0})
			if meter && cur >= 0 {
				cur = s.segment(r.off, editCheck)
				s.loops++
			}
		case cElse:
			f := s.frames[len(s.frames)-1]
			if f.kind != frameIf {
				return malformedAt(r, at, "else outside if")
			}
			cur = -1
			if meter && !f.unreached {
				cur = s.segment(r.off, editCharge)
			}
		case cEnd:
			f := s.frames[len(s.frames)-1]
			s.frames = s.frames[:len(s.frames)-1]
			if len(s.frames) == 0 {
				if meter && cur >= 0 {
					s.fuelEdit(at, editSpill)
				}
				return nil
			}
			if !meter {
				break
			}
			switch {
			case f.unreached:
				cur = -1
			case f.kind == frameIf || (f.kind == frameBlock && f.targeted):
				// A join: reached from the end of the block and from branches to it.
				cur = s.segment(r.off, editCharge)
			}
			// Otherwise only the code before the end falls through to what follows (no
			// branch can reach a loop's end), so its segment goes on.
		case cBrTable:
			err = s.brTable(r, at, meter, cur >= 0)
			cur = -1
		case cSelectT:
			var n int
			if n, err = r.count(1); err != nil {
				return err
			}
			for i := 0; i < n && err == nil; i++ {
				err = valType(r)
			}
		case cMemIndex:
			err = memIndex(r)
		case cF32:
			err = r.skip(4)
		case cF64:
			err = r.skip(8)
		case cRefNull:
			err = refType(r)
		case cMisc:
			err = misc(r)
		case cSIMD:
			err = simd(r)
		default:
			if name, ok := unsupportedOps[op]; ok {
				return unsupportedAt(r, at, "opcode 0x%02x: %s", op, name)
			}
			return unsupportedAt(r, at, "unknown opcode 0x%02x", op)
		}
	}
	return err
}

// segment opens a segment at offset at, charged there by an edit of kind, and returns it.
func (s *scanner) segment(at int, kind editKind) int {
	id := len(s.costs)
	s.costs = append(s.costs, 0)
	s.edits = append(s.edits, edit{at: at, kind: kind, val: int64(id), local: s.locals})
	s.charges++
	return id
}

// fuelEdit records a spill or reload of the fuel local at offset at.
func (s *scanner) fuelEdit(at int, kind editKind) {
	s.edits = append(s.edits, edit{at: at, kind: kind, local: s.locals})
}

// branch records a branch at offset at to label depth: the frame it names is targeted,
// and a branch to the function's own label returns, so the fuel local is spilled first
// when the branch is reachable.
func (s *scanner) branch(r *reader, at int, depth uint32, reachable bool) error {
	if uint64(depth) >= uint64(len(s.frames)) {
		return invalidAt(r, at, "branch depth %d out of range (%d labels)", depth, len(s.frames))
	}
	i := len(s.frames) - 1 - int(depth)
	s.frames[i].targeted = true
	if i == 0 && reachable {
		s.fuelEdit(at, editSpill)
	}
	return nil
}

// brTable reads the labels of br_table (a vector, then the default) at offset at, and
// with meter set records them as branch does, spilling at most once.
func (s *scanner) brTable(r *reader, at int, meter, reachable bool) error {
	n, err := r.count(1)
	if err != nil {
		return err
	}
	returns := false
	for i := 0; i <= n; i++ { // n labels, then the default
		lat := r.off
		depth, err := r.u32()
		if err != nil {
			return err
		}
		if !meter {
			continue
		}
		if uint64(depth) >= uint64(len(s.frames)) {
			return invalidAt(r, lat, "branch depth %d out of range (%d labels)", depth, len(s.frames))
		}
		j := len(s.frames) - 1 - int(depth)
		s.frames[j].targeted = true
		returns = returns || j == 0
	}
	if returns && reachable {
		s.fuelEdit(at, editSpill)
	}
	return nil
}

// index reads the immediate of br, br_if, local.*, global.* or table.get/set, and
// checks the indices whose space the rewriting extends: a global index must name one of
// the input's globals (the counter is appended after them) and a local index one of the
// function's own locals (its fuel local is appended after them). Without this check an
// index the input could not use would name what the rewriter added, and the output
// would validate where the input did not (global.set of the counter refills the fuel).
func (s *scanner) index(r *reader, op byte) (uint32, error) {
	at := r.off
	idx, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch op {
	case opGlobalGet, opGlobalSet:
		if n := s.m.nGlobals(); idx >= n {
			return 0, invalidAt(r, at, "global index %d out of range (%d globals)", idx, n)
		}
	case opLocalGet, opLocalSet, opLocalTee:
		if s.inBody && idx >= s.locals {
			return 0, invalidAt(r, at, "local index %d out of range (%d locals)", idx, s.locals)
		}
	}
	return idx, nil
}

// funcIndex reads the function index of call or ref.func, records its renumbering and
// returns it (the input's).
func (s *scanner) funcIndex(r *reader) (uint32, error) {
	at := r.off
	idx, err := r.u32()
	if err != nil {
		return 0, err
	}
	if idx >= s.m.nFuncs {
		return 0, invalidAt(r, at, "function index %d out of range (%d functions)", idx, s.m.nFuncs)
	}
	if idx >= s.m.nImportFuncs {
		s.edits = append(s.edits, edit{at: at, skip: r.off - at, kind: editU32, val: int64(idx) + 1})
	}
	return idx, nil
}

// blockType reads the block type of block, loop or if: empty, one value type, or a
// type index (multi-value) as a non-negative s33.
func (s *scanner) blockType(r *reader) error {
	if r.len() == 0 {
		return r.malformed("truncated block type")
	}
	c := r.b[r.off]
	if c == blockEmpty {
		r.off++
		return nil
	}
	if c&0xc0 == 0x40 { // a one-byte negative s33: a value type
		return valType(r)
	}
	at := r.off
	var v uint64
	for i := 0; ; i++ {
		if i == 5 {
			return malformedAt(r, at, "block type longer than 5 bytes")
		}
		c, err := r.byte()
		if err != nil {
			return err
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c&0x40 != 0 {
				return malformedAt(r, at, "negative block type index")
			}
			if v >= uint64(s.m.nTypes) {
				return invalidAt(r, at, "block type index %d out of range (%d types)", v, s.m.nTypes)
			}
			return nil
		}
	}
}

// valType reads a value type of the supported proposals.
func valType(r *reader) error {
	at := r.off
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
		return nil
	}
	return unsupportedAt(r, at, "value type 0x%02x", c)
}

// refType reads a reference type (funcref or externref), also the heap type of ref.null.
func refType(r *reader) error {
	at := r.off
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c != 0x70 && c != 0x6f {
		return unsupportedAt(r, at, "reference type 0x%02x", c)
	}
	return nil
}

// memarg reads an alignment and a 32-bit offset. Bit 6 of the alignment announces a
// memory index (multi-memory), which is refused.
func memarg(r *reader) error {
	at := r.off
	align, err := r.u32()
	if err != nil {
		return err
	}
	if align&0x40 != 0 {
		return unsupportedAt(r, at, "memory index in memarg (multi-memory)")
	}
	_, err = r.u32()
	return err
}

// memIndex reads the memory index byte of memory.size, memory.grow and the bulk memory
// instructions, which must be 0 (one memory).
func memIndex(r *reader) error {
	at := r.off
	c, err := r.byte()
	if err != nil {
		return err
	}
	if c != 0 {
		return unsupportedAt(r, at, "memory index byte 0x%02x (multi-memory)", c)
	}
	return nil
}

// misc reads an instruction of the 0xfc prefix: saturating truncation (0-7), bulk
// memory (8-11) and table instructions (12-17).
func misc(r *reader) error {
	at := r.off
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 7:
		return nil
	case sub == 8: // memory.init data memory
		if _, err := r.u32(); err != nil {
			return err
		}
		return memIndex(r)
	case sub == 9 || sub == 13 || sub == 15 || sub == 16 || sub == 17: // data.drop elem.drop table.grow/size/fill
		_, err := r.u32()
		return err
	case sub == 10: // memory.copy dst src
		if err := memIndex(r); err != nil {
			return err
		}
		return memIndex(r)
	case sub == 11: // memory.fill
		return memIndex(r)
	case sub == 12 || sub == 14: // table.init elem table, table.copy dst src
		if _, err := r.u32(); err != nil {
			return err
		}
		_, err := r.u32()
		return err
	}
	return unsupportedAt(r, at, "opcode 0xfc %d", sub)
}

// simd reads an instruction of the 0xfd prefix (fixed-width SIMD, opcodes 0-255).
// Relaxed SIMD (256 and up) is refused.
func simd(r *reader) error {
	at := r.off
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // loads, splat loads, store, zero loads
		return memarg(r)
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		return r.skip(16)
	case sub >= 21 && sub <= 34: // extract_lane, replace_lane
		return r.skip(1)
	case sub >= 84 && sub <= 91: // load_lane, store_lane
		if err := memarg(r); err != nil {
			return err
		}
		return r.skip(1)
	case sub < 256 && !simdGaps[sub]:
		return nil
	}
	return unsupportedAt(r, at, "opcode 0xfd %d", sub)
}
