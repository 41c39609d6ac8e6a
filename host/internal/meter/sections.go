package meter

// section decides what one input section becomes. keep is false when it is dropped.
func (m *module) section(s section) (o output, keep bool, err error) {
	r := &reader{b: m.wasm[s.body:s.end], abs: s.body}
	o = output{id: s.id, raw: m.wasm[s.start:s.end]}
	var edits []edit
	var tail []byte
	switch s.id {
	case secCustom:
		return m.custom(r, o)
	case secType:
		edits, tail, err = m.types(r)
	case secImport:
		edits, tail, err = m.imports(r)
	case secFunction:
		err = m.functions(r)
	case secTable:
		err = tables(r)
	case secMemory:
		err = memories(r)
	case secGlobal:
		edits, tail, err = m.globals(r)
	case secExport:
		edits, tail, err = m.exports(r)
	case secStart:
		m.hasStart = true
		m.scan.edits = m.scan.edits[:0]
		if _, err = m.scan.funcIndex(r); err == nil {
			edits = cloneEdits(m.scan.edits)
		}
	case secElement:
		edits, err = m.elements(r)
	case secDataCount:
		_, err = r.u32()
	case secCode:
		edits, err = m.code(r)
	case secData:
		err = m.data(r)
	}
	if err != nil {
		return o, false, err
	}
	if r.len() != 0 {
		return o, false, r.malformed("%d bytes left at the end of section %d", r.len(), s.id)
	}
	if len(edits) > 0 || len(tail) > 0 {
		o = output{id: s.id, payload: r.b, edits: edits, tail: tail}
	}
	return o, true, nil
}

func cloneEdits(e []edit) []edit { return append([]edit(nil), e...) }

// countEdit rewrites the vector length at the start of a payload to n+1.
func countEdit(r *reader, n int) edit {
	return edit{at: 0, skip: r.off, kind: editU32, val: int64(n) + 1}
}

// types reads the type section, looks for a () -> () type and appends one if none.
func (m *module) types(r *reader) ([]edit, []byte, error) {
	n, err := r.count(1)
	if err != nil {
		return nil, nil, err
	}
	count := countEdit(r, n)
	for i := 0; i < n; i++ {
		at := r.off
		form, err := r.byte()
		if err != nil {
			return nil, nil, err
		}
		switch form {
		case 0x60:
		case 0x4e, 0x4f, 0x50, 0x5e, 0x5f:
			return nil, nil, unsupportedAt(r, at, "type form 0x%02x (GC)", form)
		default:
			return nil, nil, malformedAt(r, at, "type form 0x%02x", form)
		}
		var empty = true
		var params uint32
		for j := range 2 { // parameters, then results
			k, err := r.count(1)
			if err != nil {
				return nil, nil, err
			}
			if j == 0 {
				params = uint32(k)
			}
			empty = empty && k == 0
			for range k {
				if err := valType(r); err != nil {
					return nil, nil, err
				}
			}
		}
		if empty && m.voidType < 0 {
			m.voidType = int64(i)
		}
		m.params = append(m.params, params)
	}
	m.nTypes = uint32(n)
	if m.voidType >= 0 {
		return nil, nil, nil
	}
	return []edit{count}, []byte{0x60, 0, 0}, nil
}

// imports reads the import section and appends the refill function after the last
// import, so that imported functions keep their indices and defined ones shift by one.
func (m *module) imports(r *reader) ([]edit, []byte, error) {
	n, err := r.count(4)
	if err != nil {
		return nil, nil, err
	}
	count := countEdit(r, n)
	for range n {
		mod, err := r.name()
		if err != nil {
			return nil, nil, err
		}
		name, err := r.name()
		if err != nil {
			return nil, nil, err
		}
		if string(mod) == m.opts.ImportModule && string(name) == m.opts.ImportName {
			return nil, nil, r.conflict("the module already imports %s.%s", mod, name)
		}
		at := r.off
		kind, err := r.byte()
		if err != nil {
			return nil, nil, err
		}
		switch kind {
		case 0x00:
			if _, err := m.typeIndex(r); err != nil {
				return nil, nil, err
			}
			m.nImportFuncs++
		case 0x01:
			err = table(r)
		case 0x02:
			err = limits(r, true)
		case 0x03:
			err = globalType(r)
			m.nImportGlobals++
		case 0x04:
			return nil, nil, unsupportedAt(r, at, "tag import (exception handling)")
		default:
			return nil, nil, malformedAt(r, at, "import kind 0x%02x", kind)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	m.nFuncs = m.nImportFuncs
	return []edit{count}, m.refillImport(), nil
}

func (m *module) functions(r *reader) error {
	n, err := r.count(1)
	if err != nil {
		return err
	}
	m.funcTypes = make([]uint32, 0, n)
	for range n {
		idx, err := m.typeIndex(r)
		if err != nil {
			return err
		}
		m.funcTypes = append(m.funcTypes, idx)
	}
	m.nFuncs = m.nImportFuncs + uint32(n)
	if m.nFuncs < m.nImportFuncs {
		return r.malformed("too many functions")
	}
	return nil
}

func tables(r *reader) error {
	n, err := r.count(3)
	if err != nil {
		return err
	}
	for range n {
		if err := table(r); err != nil {
			return err
		}
	}
	return nil
}

// table reads a table type. Tables with an initialiser expression (0x40 0x00, function
// references) are refused.
func table(r *reader) error {
	if r.len() > 0 && r.b[r.off] == 0x40 {
		return r.unsupported("table with an initialiser expression (function references)")
	}
	if err := refType(r); err != nil {
		return err
	}
	return limits(r, false)
}

func memories(r *reader) error {
	n, err := r.count(2)
	if err != nil {
		return err
	}
	for range n {
		if err := limits(r, true); err != nil {
			return err
		}
	}
	return nil
}

// limits reads the limits of a memory or table type: flags 0 (minimum) or 1 (minimum
// and maximum). Shared memories (threads), 64-bit indices (memory64) and custom page
// sizes are refused.
func limits(r *reader, memory bool) error {
	at := r.off
	flags, err := r.byte()
	if err != nil {
		return err
	}
	switch {
	case flags <= 1:
	case memory && (flags == 2 || flags == 3):
		return unsupportedAt(r, at, "shared memory (threads)")
	case flags&0x04 != 0:
		return unsupportedAt(r, at, "64-bit limits (memory64)")
	case memory && flags&0x08 != 0:
		return unsupportedAt(r, at, "custom page size")
	default:
		return malformedAt(r, at, "limits flags 0x%02x", flags)
	}
	if _, err := r.u32(); err != nil {
		return err
	}
	if flags == 1 {
		_, err = r.u32()
	}
	return err
}

func globalType(r *reader) error {
	if err := valType(r); err != nil {
		return err
	}
	at := r.off
	mut, err := r.byte()
	if err != nil {
		return err
	}
	if mut > 1 {
		return malformedAt(r, at, "global mutability 0x%02x", mut)
	}
	return nil
}

// globals reads the global section, renumbers ref.func in initialisers and appends the
// counter as the last global, so that no existing global index changes.
func (m *module) globals(r *reader) ([]edit, []byte, error) {
	n, err := r.count(3)
	if err != nil {
		return nil, nil, err
	}
	m.scan.edits = append(m.scan.edits[:0], countEdit(r, n))
	for i := range n {
		// An initialiser may name only the globals before its own (wazero checks which).
		m.nDefGlobals = uint32(i)
		if err := globalType(r); err != nil {
			return nil, nil, err
		}
		if err := m.scan.expr(r, false); err != nil {
			return nil, nil, err
		}
	}
	m.nDefGlobals = uint32(n)
	return cloneEdits(m.scan.edits), fuelGlobal, nil
}

// exports reads the export section, renumbers function exports and appends the
// counter's export.
func (m *module) exports(r *reader) ([]edit, []byte, error) {
	n, err := r.count(3)
	if err != nil {
		return nil, nil, err
	}
	m.scan.edits = append(m.scan.edits[:0], countEdit(r, n))
	for range n {
		name, err := r.name()
		if err != nil {
			return nil, nil, err
		}
		if string(name) == m.opts.Global {
			return nil, nil, r.conflict("the module already exports %q", name)
		}
		at := r.off
		kind, err := r.byte()
		if err != nil {
			return nil, nil, err
		}
		switch kind {
		case 0x00:
			_, err = m.scan.funcIndex(r)
		case 0x01, 0x02:
			_, err = r.u32()
		case 0x03:
			at := r.off
			var idx uint32
			if idx, err = r.u32(); err == nil && idx >= m.nGlobals() {
				err = invalidAt(r, at, "exported global index %d out of range (%d globals)", idx, m.nGlobals())
			}
		case 0x04:
			return nil, nil, unsupportedAt(r, at, "tag export (exception handling)")
		default:
			return nil, nil, malformedAt(r, at, "export kind 0x%02x", kind)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return cloneEdits(m.scan.edits), m.fuelExport(), nil
}

// elements reads the element section and renumbers the function indices of all eight
// segment encodings: flags bit 0 = passive or declarative, bit 1 = explicit table index
// (active) or declarative (not active), bit 2 = expressions instead of indices.
func (m *module) elements(r *reader) ([]edit, error) {
	n, err := r.count(1)
	if err != nil {
		return nil, err
	}
	s := &m.scan
	s.edits = s.edits[:0]
	for range n {
		at := r.off
		flags, err := r.u32()
		if err != nil {
			return nil, err
		}
		if flags > 7 {
			return nil, malformedAt(r, at, "element segment flags %d", flags)
		}
		active := flags&1 == 0
		if active && flags&2 != 0 { // explicit table index
			if _, err := r.u32(); err != nil {
				return nil, err
			}
		}
		if active { // offset
			if err := s.expr(r, false); err != nil {
				return nil, err
			}
		}
		if flags&3 != 0 { // element kind or reference type
			if flags&4 == 0 {
				at := r.off
				kind, err := r.byte()
				if err != nil {
					return nil, err
				}
				if kind != 0 {
					return nil, malformedAt(r, at, "element kind 0x%02x", kind)
				}
			} else if err := refType(r); err != nil {
				return nil, err
			}
		}
		k, err := r.count(1)
		if err != nil {
			return nil, err
		}
		for range k {
			if flags&4 == 0 {
				_, err = s.funcIndex(r)
			} else {
				err = s.expr(r, false)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return cloneEdits(s.edits), nil
}

// data reads the data section, whose offset expressions may name globals: flags 0 (an
// active segment of memory 0: offset, bytes), 1 (passive: bytes), 2 (active with a
// memory index, refused unless 0: index, offset, bytes).
func (m *module) data(r *reader) error {
	n, err := r.count(2)
	if err != nil {
		return err
	}
	for range n {
		at := r.off
		flags, err := r.u32()
		if err != nil {
			return err
		}
		switch flags {
		case 0:
			err = m.scan.expr(r, false)
		case 1:
		case 2:
			var mem uint32
			if mem, err = r.u32(); err == nil && mem != 0 { // a LEB128 u32 here, not a byte
				err = unsupportedAt(r, at, "data segment of memory %d (multi-memory)", mem)
			}
			if err == nil {
				err = m.scan.expr(r, false)
			}
		default:
			return malformedAt(r, at, "data segment flags %d", flags)
		}
		if err != nil {
			return err
		}
		size, err := r.count(1)
		if err != nil {
			return err
		}
		r.off += size
	}
	return nil
}

// code reads the code section: each body gets its size rewritten, a fuel local, its
// charges and checks, and its calls and ref.func renumbered.
func (m *module) code(r *reader) ([]edit, error) {
	m.gen = gen{global: m.nGlobals(), refill: m.nImportFuncs}
	n, err := r.count(2)
	if err != nil {
		return nil, err
	}
	if n != len(m.funcTypes) {
		return nil, r.malformed("%d function declarations but %d bodies", len(m.funcTypes), n)
	}
	m.nBodies = uint32(n)
	s := &m.scan
	s.edits = s.edits[:0]
	for i := range n {
		sizeAt := r.off
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		if uint64(size) > uint64(r.len()) {
			return nil, malformedAt(r, sizeAt, "function body of %d bytes, %d remain", size, r.len())
		}
		first := len(s.edits)
		s.edits = append(s.edits, edit{at: sizeAt, skip: r.off - sizeAt, kind: editU32})
		body := &reader{b: r.b[:r.off+int(size)], off: r.off, abs: r.abs}
		if err := m.body(body, m.params[m.funcTypes[i]]); err != nil {
			return nil, err
		}
		if body.len() != 0 {
			return nil, body.malformed("%d bytes after the end of the function body", body.len())
		}
		for j := first + 1; j < len(s.edits); j++ {
			switch e := &s.edits[j]; e.kind {
			case editEntry, editLoad:
				if s.lead {
					// The body reaches a loop through straight-line code only: that loop's
					// check runs at every entry, so the entry just loads and charges.
					e.kind = editLoad
					s.folded++
				}
				fallthrough
			case editCharge, editCheck:
				e.val = s.costs[e.val]
				m.maxCost = max(m.maxCost, e.val)
			}
		}
		s.edits[first].val = int64(size) + int64(delta(s.edits[first+1:], &m.gen))
		if s.edits[first].val > 0xffffffff {
			return nil, malformedAt(r, sizeAt, "function body grows past 4 GiB")
		}
		r.off += int(size)
	}
	edits := s.edits // the code section's edits are the largest: hand them over
	s.edits = nil
	return edits, nil
}

// maxLocals bounds the locals of one function, as browsers do (V8 allows 50,000). The
// binary format allows 2^32-1, and wazero allocates a byte per declared local before it
// validates anything: a 20-byte function body could make the host allocate 4 GiB.
const maxLocals = 50000

// fuelLocal is the local declaration added to every function: one i64.
var fuelLocal = []byte{1, 0x7e}

// body reads the locals of one function body with params parameters, appends its fuel
// local, opens its entry segment and scans it.
func (m *module) body(r *reader, params uint32) error {
	countAt := r.off
	n, err := r.count(2)
	if err != nil {
		return err
	}
	countEnd := r.off
	total := uint64(params)
	for range n {
		at := r.off
		k, err := r.u32()
		if err != nil {
			return err
		}
		if total += uint64(k); total > maxLocals {
			return unsupportedAt(r, at, "more than %d locals in one function", maxLocals)
		}
		if err := valType(r); err != nil {
			return err
		}
	}
	s := &m.scan
	s.locals = uint32(total)
	s.edits = append(s.edits,
		edit{at: countAt, skip: countEnd - countAt, kind: editU32, val: int64(n) + 1},
		edit{at: r.off, kind: editBytes, data: fuelLocal})
	s.costs = s.costs[:0]
	s.segment(r.off, editEntry)
	return s.expr(r, true)
}
