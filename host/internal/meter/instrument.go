package meter

import (
	"errors"
	"fmt"
	"github.com/onexhost/onex-host/host/internal/leb128"
	"math"
	"unicode/utf8"
)

var (
	// ErrMalformed is returned (wrapped, with the offset) when the input is not a
	// well-formed binary module: bad magic or version, a section or body that runs past
	// its end, a malformed number, sections out of order.
	ErrMalformed = errors.New("meter: malformed Wasm module")

	// ErrInvalid is returned (wrapped, with the offset) when the input is well-formed but
	// names a function, global, local, type or label that it does not have. The rewriting
	// appends to these index spaces, so such an index would name what it added (the fuel
	// counter, its local, the refill) and the output would validate where the input does
	// not. The host treats it like any invalid module; it is not a reason to run guarded.
	ErrInvalid = errors.New("meter: invalid Wasm module")

	// ErrUnsupported is returned (wrapped, naming the feature or opcode and its offset)
	// when the module uses a proposal the rewriter does not know: threads, tail calls,
	// exception handling, function references, GC, memory64, multi-memory, relaxed SIMD,
	// or any unknown opcode or section. Such a module must run guarded instead.
	ErrUnsupported = errors.New("meter: unsupported Wasm feature")

	// ErrConflict is returned when the module already imports the refill function or
	// already exports a name equal to Options.Global, for example because it was
	// instrumented before.
	ErrConflict = errors.New("meter: module already uses the metering names")

	// ErrInvalidOptions is returned when a name in Options is not valid UTF-8.
	ErrInvalidOptions = errors.New("meter: invalid options")
)

// Version identifies the rewriting: it changes whenever Instrument's output for the
// same input and Options changes. Put it in every cache key of instrumented code.
const Version = 3

// ImportCallFuel is what a call to an imported function costs on top of its own
// instruction: the function runs outside the module's meter (a host function, or code of
// another module such as Extism's kernel), and a guest that calls it in a loop must still
// reach its refill at a rate that tracks the time it takes. call_indirect pays 1 whatever
// it reaches.
const ImportCallFuel = 100

// Defaults of Options.
const (
	DefaultGlobal       = "onex_fuel"
	DefaultImportModule = "onex"
	DefaultImportName   = "fuel"
)

// Options names what Instrument adds. The zero value uses the defaults. It is a plain
// value, safe to copy and to share between goroutines.
type Options struct {
	// Global is the export name of the fuel counter, a mutable i64 global. Default
	// DefaultGlobal ("onex_fuel").
	Global string
	// ImportModule and ImportName name the imported refill function, of type () -> (),
	// called when the counter goes negative. Defaults DefaultImportModule ("onex") and
	// DefaultImportName ("fuel").
	ImportModule string
	ImportName   string
}

// Info describes what Instrument did. It is a plain value, safe to copy and to share
// between goroutines.
type Info struct {
	// Functions is the number of defined functions. Each gets a check at its entry,
	// except those whose body starts with a loop (see the package documentation).
	Functions int
	// Loops is the number of loop instructions, each given a check at its start.
	Loops int
	// Checks is the number of checks inserted: Loops plus the functions' entry checks.
	Checks int
	// Charges is the number of places that charge fuel, checks included: one per
	// segment of straight-line code (see the package documentation).
	Charges int
	// RefillFunc is the function index of the added import. Every defined function's
	// index grew by one.
	RefillFunc uint32
	// FuelGlobal is the global index of the added counter. No other global index
	// changed.
	FuelGlobal uint32
	// MaxCost is the largest amount a single check charges. A refill smaller than this
	// needs more than one import call to get past that check.
	MaxCost int64
	// Start reports that the module has a start function, which runs its checks (and so
	// may call the import) while it is instantiated, before any export is called.
	Start bool
	// NamesDropped reports that the module's "name" section could not be decoded, so it
	// was dropped instead of renumbered. Function names are debug information only.
	NamesDropped bool
}

// Instrument returns a copy of wasm, a binary module, that meters itself: it adds a
// mutable i64 global exported as opts.Global (initially 0), imports a function
// opts.ImportModule.opts.ImportName of type () -> (), and puts a check at the entry of
// every defined function and at the start of every loop body that subtracts the static
// cost of the code it guards from the global and calls the import when the global goes
// negative. See the package documentation for the cost model and what is renumbered.
//
// Sections it does not need to change are copied byte for byte, custom sections
// included and in place. The result is a new slice; wasm is not modified or retained.
// The errors returned wrap ErrMalformed, ErrUnsupported, ErrConflict or
// ErrInvalidOptions. It never panics, and is safe for concurrent use.
func Instrument(wasm []byte, opts Options) ([]byte, Info, error) {
	return rewrite(wasm, opts, false)
}

// rewrite is Instrument; with exact set every instruction is a segment of its own,
// charged 1 right before it runs, which makes the fuel charged the exact number of
// instructions executed: the yardstick the tests hold the cost model to. It is slow.
func rewrite(wasm []byte, opts Options, exact bool) ([]byte, Info, error) {
	opts = opts.withDefaults()
	for _, s := range []string{opts.Global, opts.ImportModule, opts.ImportName} {
		if !utf8.ValidString(s) {
			return nil, Info{}, fmt.Errorf("%w: name %q is not valid UTF-8", ErrInvalidOptions, s)
		}
	}
	m := &module{wasm: wasm, opts: opts, voidType: -1}
	m.scan.m = m
	m.scan.exact = exact
	if err := m.split(); err != nil {
		return nil, Info{}, err
	}
	outs, err := m.plan()
	if err != nil {
		return nil, Info{}, err
	}
	out, err := m.emit(outs)
	if err != nil {
		return nil, Info{}, err
	}
	info := Info{
		Functions:    int(m.nFuncs - m.nImportFuncs),
		Loops:        m.scan.loops,
		RefillFunc:   m.nImportFuncs,
		FuelGlobal:   m.nImportGlobals + m.nDefGlobals,
		MaxCost:      m.maxCost,
		NamesDropped: m.namesDropped,
		Start:        m.hasStart,
	}
	info.Checks = info.Functions - m.scan.folded + info.Loops
	info.Charges = m.scan.charges
	return out, info, nil
}

func (o Options) withDefaults() Options {
	if o.Global == "" {
		o.Global = DefaultGlobal
	}
	if o.ImportModule == "" {
		o.ImportModule = DefaultImportModule
	}
	if o.ImportName == "" {
		o.ImportName = DefaultImportName
	}
	return o
}

const magic = "\x00asm\x01\x00\x00\x00"

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// rank orders the known sections: the data count section comes before code, and the
// tag section (refused) between memory and global.
var rank = [...]int{secType: 1, secImport: 2, secFunction: 3, secTable: 4, secMemory: 5,
	secTag: 6, secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, secDataCount: 11,
	secCode: 12, secData: 13}

// section locates one section of the input.
type section struct {
	id    byte
	start int // the id byte
	body  int // the payload
	end   int
}

// module holds what the rewriter learns about the input as it walks the sections.
type module struct {
	wasm     []byte
	opts     Options
	sections []section

	nTypes         uint32
	voidType       int64  // index of a () -> () type, or -1
	nImportFuncs   uint32 // functions imported by the input
	nFuncs         uint32 // imported and defined functions of the input
	nImportGlobals uint32
	nDefGlobals    uint32
	nBodies        uint32
	params         []uint32 // the number of parameters of each type
	funcTypes      []uint32 // the type of each defined function
	maxCost        int64
	namesDropped   bool
	hasStart       bool

	gen  gen
	scan scanner
}

// split locates the sections and checks their order.
func (m *module) split() error {
	if len(m.wasm) < len(magic) || string(m.wasm[:len(magic)]) != magic {
		return fmt.Errorf("%w: not a Wasm binary module (bad magic or version)", ErrMalformed)
	}
	r := &reader{b: m.wasm, off: len(magic)}
	last := 0
	for r.len() > 0 {
		start := r.off
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return err
		}
		if uint64(size) > uint64(r.len()) {
			return malformedAt(r, start, "section %d claims %d bytes, %d remain", id, size, r.len())
		}
		s := section{id: id, start: start, body: r.off, end: r.off + int(size)}
		r.off = s.end
		if id != secCustom {
			if int(id) >= len(rank) {
				return unsupportedAt(r, start, "unknown section id %d", id)
			}
			if id == secTag {
				return unsupportedAt(r, start, "tag section (exception handling)")
			}
			if rank[id] <= last {
				return malformedAt(r, start, "section %d out of order or repeated", id)
			}
			last = rank[id]
		}
		m.sections = append(m.sections, s)
	}
	return nil
}

// output is one section of the result: either raw bytes copied as they are (header
// included), or a payload with edits applied and tail appended after it.
type output struct {
	id      byte
	raw     []byte
	payload []byte
	edits   []edit
	tail    []byte
}

func (o *output) size(g *gen) int {
	if o.raw != nil {
		return len(o.raw)
	}
	n := len(o.payload) + delta(o.edits, g) + len(o.tail)
	return 1 + leb128.LenU32(uint32(n)) + n
}

// plan walks the sections in order and decides what each becomes, then places the
// sections the input lacks (type, import, global, export) where they belong.
func (m *module) plan() ([]output, error) {
	// Known sections first: custom sections (the name section) need the final counts,
	// and may come before the sections that give them.
	all := make([]output, len(m.sections))
	keep := make([]bool, len(m.sections))
	have := map[byte]bool{}
	for pass := range 2 {
		for i, s := range m.sections {
			if (s.id == secCustom) != (pass == 1) {
				continue
			}
			have[s.id] = true
			var err error
			if all[i], keep[i], err = m.section(s); err != nil {
				return nil, err
			}
		}
	}
	var outs []output
	for i := range all {
		if keep[i] {
			outs = append(outs, all[i])
		}
	}
	if m.nBodies != m.nFuncs-m.nImportFuncs {
		return nil, fmt.Errorf("%w: %d function declarations but %d bodies", ErrMalformed, m.nFuncs-m.nImportFuncs, m.nBodies)
	}

	// Sections to create, in order.
	var missing []output
	if !have[secType] {
		missing = append(missing, output{id: secType, tail: []byte{1, 0x60, 0, 0}})
	}
	if !have[secImport] {
		missing = append(missing, output{id: secImport, tail: append([]byte{1}, m.refillImport()...)})
	}
	if !have[secGlobal] {
		missing = append(missing, output{id: secGlobal, tail: append([]byte{1}, fuelGlobal...)})
	}
	if !have[secExport] {
		missing = append(missing, output{id: secExport, tail: append([]byte{1}, m.fuelExport()...)})
	}
	if len(missing) == 0 {
		return outs, nil
	}
	merged := make([]output, 0, len(outs)+len(missing))
	for _, o := range outs {
		for len(missing) > 0 && o.id != secCustom && rank[missing[0].id] < rank[o.id] {
			merged = append(merged, missing[0])
			missing = missing[1:]
		}
		merged = append(merged, o)
	}
	return append(merged, missing...), nil
}

// fuelGlobal is the added global: mutable i64 initialised to 0.
var fuelGlobal = []byte{0x7e, 0x01, opI64Const, 0, opEnd}

// nGlobals is the number of globals of the input: the counter's index in the output.
func (m *module) nGlobals() uint32 { return m.nImportGlobals + m.nDefGlobals }

// typeIndex reads a type index (call_indirect, a function's type) and checks it names
// one of the input's types: the rewriter may append one.
func (m *module) typeIndex(r *reader) (uint32, error) {
	at := r.off
	idx, err := r.u32()
	if err != nil {
		return 0, err
	}
	if idx >= m.nTypes {
		return 0, invalidAt(r, at, "type index %d out of range (%d types)", idx, m.nTypes)
	}
	return idx, nil
}

// refillType is the index of the () -> () type the import uses: an existing one, or the
// one appended to the type section.
func (m *module) refillType() uint32 {
	if m.voidType >= 0 {
		return uint32(m.voidType)
	}
	return m.nTypes
}

func (m *module) refillImport() []byte {
	b := appendName(nil, m.opts.ImportModule)
	b = appendName(b, m.opts.ImportName)
	b = append(b, 0x00) // a function
	return leb128.AppendU32(b, m.refillType())
}

func (m *module) fuelExport() []byte {
	b := appendName(nil, m.opts.Global)
	b = append(b, 0x03) // a global
	return leb128.AppendU32(b, m.nImportGlobals+m.nDefGlobals)
}

func appendName(dst []byte, s string) []byte {
	dst = leb128.AppendU32(dst, uint32(len(s)))
	return append(dst, s...)
}

// emit writes the result.
func (m *module) emit(outs []output) ([]byte, error) {
	size := len(magic)
	for i := range outs {
		n := outs[i].size(&m.gen)
		if n > math.MaxUint32 {
			return nil, fmt.Errorf("%w: section %d grows past 4 GiB", ErrUnsupported, outs[i].id)
		}
		size += n
	}
	out := make([]byte, 0, size)
	out = append(out, magic...)
	for i := range outs {
		o := &outs[i]
		if o.raw != nil {
			out = append(out, o.raw...)
			continue
		}
		n := len(o.payload) + delta(o.edits, &m.gen) + len(o.tail)
		out = append(out, o.id)
		out = leb128.AppendU32(out, uint32(n))
		out = apply(out, o.payload, o.edits, &m.gen)
		out = append(out, o.tail...)
	}
	return out, nil
}
