package meter

import (
	"github.com/onexhost/onex-host/host/internal/leb128"
)
import "math"

// Subsections of the "name" custom section keyed by function index.
const (
	nameFunctions = 1 // function names: a name map
	nameLocals    = 2 // local names: an indirect name map, outer key a function
	nameLabels    = 3 // label names (extended name section): the same shape
)

// custom keeps a custom section as it is, except "name", whose function indices are
// renumbered. A "name" section that cannot be decoded is dropped: it is debug
// information only, and keeping it would label every function with its neighbour's name.
func (m *module) custom(r *reader, o output) (output, bool, error) {
	name, err := r.name()
	if err != nil {
		return o, false, err
	}
	if string(name) != "name" {
		return o, true, nil
	}
	payload, ok := m.names(r)
	if !ok {
		m.namesDropped = true
		return o, false, nil
	}
	return output{id: secCustom, payload: payload}, true, nil
}

// names returns the payload of the renumbered name section, or false when the section
// is malformed. r is positioned after the section's own name.
func (m *module) names(r *reader) ([]byte, bool) {
	out := append([]byte(nil), r.b[:r.off]...)
	for r.len() > 0 {
		start := r.off
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil || uint64(size) > uint64(r.len()) {
			return nil, false
		}
		sub := &reader{b: r.b[r.off : r.off+int(size)], abs: r.abs + r.off}
		r.off += int(size)
		if id != nameFunctions && id != nameLocals && id != nameLabels {
			out = append(out, r.b[start:r.off]...)
			continue
		}
		edits, ok := m.nameMap(sub, id != nameFunctions)
		if !ok || sub.len() != 0 {
			return nil, false
		}
		content := apply(nil, sub.b, edits, &m.gen)
		out = append(out, id)
		out = leb128.AppendU32(out, uint32(len(content)))
		out = append(out, content...)
	}
	return out, true
}

// nameMap reads a name map, or an indirect name map when indirect is set, and returns
// the edits that renumber its function indices (the outer ones, for an indirect map).
func (m *module) nameMap(r *reader, indirect bool) ([]edit, bool) {
	n, err := r.count(2)
	if err != nil {
		return nil, false
	}
	var edits []edit
	for range n {
		at := r.off
		idx, err := r.u32()
		if err != nil || idx == math.MaxUint32 {
			return nil, false
		}
		if idx >= m.nImportFuncs {
			edits = append(edits, edit{at: at, skip: r.off - at, kind: editU32, val: int64(idx) + 1})
		}
		if indirect {
			k, err := r.count(2)
			if err != nil {
				return nil, false
			}
			for range k {
				if _, err := r.u32(); err != nil {
					return nil, false
				}
				if _, err := r.name(); err != nil {
					return nil, false
				}
			}
		} else if _, err := r.name(); err != nil {
			return nil, false
		}
	}
	return edits, true
}
