package snapshot

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/onexhost/onex-host/host/internal/leb128"
)

// ErrUnsupported is returned by Take for a module it cannot snapshot faithfully (see the
// package comment); the caller then instantiates the original module as before.
var ErrUnsupported = errors.New("snapshot: module not supported")

// global is one global the module defines.
type global struct {
	valType byte
	mutable bool
	init    []byte // its constant expression, end opcode included
}

// layout is what Take needs to know of a module.
type layout struct {
	secs          []section
	importGlobals uint32
	globals       []global
	hasMemory     bool
	memFlags      byte
	memMin        uint64
	memMax        []byte // the encoded maximum, if any
	dataSegments  uint32
}

const exportPrefix = "onex.snapshot.g"

// pageSize is the granule of the image scan: a run of zero pages ends a data segment.
const pageSize = 4096

// Take instantiates wasm once in rt (which must provide its imports) with cfg, whose
// start functions run, and returns the pre-initialized module (see the package comment).
// The module is compiled once more, with its globals exported, for this one instance.
// Errors: ErrUnsupported (wrapped) for a module Take refuses; an instantiation error of
// the module as is.
func Take(ctx context.Context, rt wazero.Runtime, wasm []byte, cfg wazero.ModuleConfig) ([]byte, error) {
	module, _, err := take(ctx, rt, wasm, cfg, Options{})
	return module, err
}

// Options are TakeWith's.
type Options struct {
	// Image asks for the module without data segments and, apart, the memory image every
	// instance's memory must start as, for a host that provides memories itself
	// (host/internal/cowmem). Instantiating that module with any other memory is wrong:
	// it would start zeroed. A module without memory has no image (nil).
	Image bool
	// InitTimeout bounds the initialization: the instantiation that runs the start
	// functions, not the compilations before it. 0: no bound.
	InitTimeout time.Duration
	// Volatile names exported mutable globals whose value at the end of the
	// initialization is not kept: they start at their declared initial value, as in the
	// original module. For state the host resets before every call anyway — the meter's
	// fuel counter (meter.DefaultGlobal), whose count after _initialize varies from one
	// process to the next with the Go runtime's randomised map iteration — so that the
	// snapshot of one module is the same bytes in every process, and its compilation is
	// found in the on-disk cache. A name no global is exported under is ignored.
	Volatile []string
}

// ErrInitTimeout is returned (wrapped) by TakeWith when the initialization did not end
// within Options.InitTimeout.
var ErrInitTimeout = errors.New("snapshot: the initialization did not finish in time")

// TakeWith is Take with options; image is nil unless opt.Image.
func TakeWith(ctx context.Context, rt wazero.Runtime, wasm []byte, cfg wazero.ModuleConfig, opt Options) (module, image []byte, err error) {
	return take(ctx, rt, wasm, cfg, opt)
}

func take(ctx context.Context, rt wazero.Runtime, wasm []byte, cfg wazero.ModuleConfig, opt Options) ([]byte, []byte, error) {
	l, err := parse(wasm)
	if err != nil {
		return nil, nil, err
	}
	probe, err := l.probe()
	if err != nil {
		return nil, nil, err
	}
	compiled, err := rt.CompileModule(ctx, probe)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot: compile: %w", err)
	}
	defer compiled.Close(ctx)
	ictx := ctx
	if opt.InitTimeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ctx, opt.InitTimeout)
		defer cancel()
	}
	mod, err := rt.InstantiateModule(ictx, compiled, cfg)
	if err != nil {
		if ictx.Err() != nil && ctx.Err() == nil {
			return nil, nil, fmt.Errorf("%w (%v): %w", ErrInitTimeout, opt.InitTimeout, err)
		}
		return nil, nil, fmt.Errorf("snapshot: initialize: %w", err)
	}
	defer mod.Close(ctx)
	values := make([]uint64, len(l.globals))
	for i, g := range l.globals {
		if g.mutable {
			values[i] = mod.ExportedGlobal(fmt.Sprint(exportPrefix, i)).Get()
		}
	}
	initial := make([]bool, len(l.globals)) // the Volatile ones
	for _, name := range opt.Volatile {
		idx, ok, err := l.exportedGlobal(name)
		if err != nil {
			return nil, nil, err
		}
		if ok && idx >= l.importGlobals && idx-l.importGlobals < uint32(len(l.globals)) {
			initial[idx-l.importGlobals] = true
		}
	}
	var image []byte
	if m := mod.Memory(); m != nil {
		image, _ = m.Read(0, m.Size())
		image = append([]byte(nil), image...) // a view of the memory closed below
	}
	module, err := l.emit(values, initial, image, !opt.Image)
	if err != nil || !opt.Image || image == nil {
		return module, nil, err
	}
	return module, image, nil
}

// parse reads the sections Take rewrites and refuses what it cannot snapshot.
func parse(wasm []byte) (*layout, error) {
	secs, err := split(wasm)
	if err != nil {
		return nil, err
	}
	l := &layout{secs: secs}
	if p := find(secs, secImport); p != nil {
		r := &reader{b: p}
		n, err := r.u32()
		for i := uint32(0); err == nil && i < n; i++ {
			var kind byte
			if _, err = r.name(); err != nil {
				break
			}
			if _, err = r.name(); err != nil {
				break
			}
			if kind, err = r.byte(); err != nil {
				break
			}
			switch kind {
			case 0: // func
				_, err = r.u32()
			case 1: // table
				if _, err = r.byte(); err == nil {
					_, _, err = r.limits()
				}
			case 2:
				return nil, fmt.Errorf("%w: an imported memory", ErrUnsupported)
			case 3:
				l.importGlobals++
				_, err = r.bytes(2)
			default:
				err = fmt.Errorf("%w: import kind %#x", ErrUnsupported, kind)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if p := find(secs, secMemory); p != nil {
		r := &reader{b: p}
		n, err := r.u32()
		if err != nil {
			return nil, err
		}
		if n > 1 {
			return nil, fmt.Errorf("%w: %d memories", ErrUnsupported, n)
		}
		if n == 1 {
			l.hasMemory = true
			if l.memFlags, err = r.byte(); err != nil {
				return nil, err
			}
			if l.memFlags&^1 != 0 {
				return nil, fmt.Errorf("%w: memory flags %#x (shared or 64-bit)", ErrUnsupported, l.memFlags)
			}
			if l.memMin, err = r.uleb(); err != nil {
				return nil, err
			}
			l.memMax = r.b[r.off:]
		}
	}
	if p := find(secs, secGlobal); p != nil {
		r := &reader{b: p}
		n, err := r.u32()
		for i := uint32(0); err == nil && i < n; i++ {
			var g global
			var mut byte
			if g.valType, err = r.byte(); err != nil {
				break
			}
			if mut, err = r.byte(); err != nil {
				break
			}
			g.mutable = mut == 1
			at := r.off
			if err = r.constExpr(); err != nil {
				break
			}
			g.init = r.b[at:r.off]
			if g.mutable && (g.valType < 0x7c || g.valType > 0x7f) {
				return nil, fmt.Errorf("%w: a mutable global of type %#x", ErrUnsupported, g.valType)
			}
			l.globals = append(l.globals, g)
		}
		if err != nil {
			return nil, err
		}
	}
	if p := find(secs, secData); p != nil {
		r := &reader{b: p}
		n, err := r.u32()
		for i := uint32(0); err == nil && i < n; i++ {
			var flag uint32
			if flag, err = r.u32(); err != nil {
				break
			}
			switch flag {
			case 0:
				err = r.constExpr()
			case 2:
				if _, err = r.u32(); err == nil {
					err = r.constExpr()
				}
			default:
				return nil, fmt.Errorf("%w: a passive data segment", ErrUnsupported)
			}
			if err == nil {
				_, err = r.name()
			}
		}
		if err != nil {
			return nil, err
		}
		l.dataSegments = n
	}
	return l, nil
}

// exportedGlobal returns the index (in the global index space, imports first) of the
// global exported as name, if any.
func (l *layout) exportedGlobal(name string) (uint32, bool, error) {
	p := find(l.secs, secExport)
	if p == nil {
		return 0, false, nil
	}
	r := &reader{b: p}
	n, err := r.u32()
	for i := uint32(0); err == nil && i < n; i++ {
		var got []byte
		var kind byte
		var idx uint32
		if got, err = r.name(); err != nil {
			break
		}
		if kind, err = r.byte(); err != nil {
			break
		}
		if idx, err = r.u32(); err != nil {
			break
		}
		if kind == 3 && string(got) == name { // 3: a global export
			return idx, true, nil
		}
	}
	return 0, false, err
}

// exports returns the export section's entries, minus any named skip, re-encoded, and
// their count.
func (l *layout) exports(skip string) ([]byte, uint32, error) {
	p := find(l.secs, secExport)
	if p == nil {
		return nil, 0, nil
	}
	r := &reader{b: p}
	n, err := r.u32()
	var out []byte
	var kept uint32
	for i := uint32(0); err == nil && i < n; i++ {
		at := r.off
		var name []byte
		if name, err = r.name(); err != nil {
			break
		}
		if _, err = r.byte(); err != nil {
			break
		}
		if _, err = r.u32(); err != nil {
			break
		}
		if string(name) != skip {
			out = append(out, r.b[at:r.off]...)
			kept++
		}
	}
	return out, kept, err
}

// probe returns the module with every defined mutable global exported.
func (l *layout) probe() ([]byte, error) {
	entries, n, err := l.exports("")
	if err != nil {
		return nil, err
	}
	for i, g := range l.globals {
		if g.mutable {
			entries = appendName(entries, fmt.Sprint(exportPrefix, i))
			entries = append(entries, 3)
			entries = leb128.AppendU32(entries, l.importGlobals+uint32(i))
			n++
		}
	}
	secs := put(append([]section(nil), l.secs...), section{secExport, append(leb128.AppendU32(nil, n), entries...)})
	return join(secs), nil
}

// emit returns the module rewritten to start from values (per defined global; the ones
// marked initial keep their declaration's initial value) and image:
// with withData, the image is in its data segments; without, it has none and its memory
// must be provided (Options.Image).
func (l *layout) emit(values []uint64, initial []bool, image []byte, withData bool) ([]byte, error) {
	secs := append([]section(nil), l.secs...)
	secs = drop(secs, secStart)
	entries, n, err := l.exports("_initialize")
	if err != nil {
		return nil, err
	}
	if find(secs, secExport) != nil {
		secs = put(secs, section{secExport, append(leb128.AppendU32(nil, n), entries...)})
	}
	if len(l.globals) > 0 {
		p := leb128.AppendU32(nil, uint32(len(l.globals)))
		for i, g := range l.globals {
			p = append(p, g.valType, 0)
			if g.mutable {
				p[len(p)-1] = 1
			}
			if !g.mutable || initial[i] {
				p = append(p, g.init...)
				continue
			}
			v := values[i]
			switch g.valType {
			case 0x7f:
				p = leb128.AppendS64(append(p, 0x41), int64(int32(uint32(v))))
			case 0x7e:
				p = leb128.AppendS64(append(p, 0x42), int64(v))
			case 0x7d:
				p = binary.LittleEndian.AppendUint32(append(p, 0x43), uint32(v))
			case 0x7c:
				p = binary.LittleEndian.AppendUint64(append(p, 0x44), v)
			}
			p = append(p, 0x0b)
		}
		secs = put(secs, section{secGlobal, p})
	}
	if !l.hasMemory {
		return join(secs), nil
	}
	pages := uint64(len(image)) / 65536
	mem := leb128.AppendU32(nil, 1)
	mem = append(mem, l.memFlags)
	mem = leb128.AppendU32(mem, uint32(max(pages, l.memMin)))
	mem = append(mem, l.memMax...)
	secs = put(secs, section{secMemory, mem})

	var data []byte
	var count uint32
	zero := make([]byte, pageSize)
	for at := 0; withData && at < len(image); {
		if bytes.Equal(image[at:min(at+pageSize, len(image))], zero[:min(pageSize, len(image)-at)]) {
			at += pageSize
			continue
		}
		end := at
		for end < len(image) && !bytes.Equal(image[end:min(end+pageSize, len(image))], zero[:min(pageSize, len(image)-end)]) {
			end = min(end+pageSize, len(image))
		}
		seg := image[at:end]
		lead := len(seg) - len(bytes.TrimLeft(seg, "\x00"))
		seg = bytes.TrimRight(seg[lead:], "\x00")
		data = append(data, 0, 0x41)
		data = leb128.AppendS64(data, int64(int32(uint32(at+lead))))
		data = append(data, 0x0b)
		data = leb128.AppendU32(data, uint32(len(seg)))
		data = append(data, seg...)
		count++
		at = end
	}
	if find(secs, secDataCount) != nil {
		// Only then may code name segments by index (memory.init, data.drop): keep at
		// least as many, the extra ones empty, as active segments are dropped at
		// instantiation anyway. Without it, each would cost every instantiation.
		for ; count < l.dataSegments; count++ {
			data = append(data, 0, 0x41, 0, 0x0b, 0)
		}
		secs = put(secs, section{secDataCount, leb128.AppendU32(nil, count)})
	}
	secs = put(secs, section{secData, append(leb128.AppendU32(nil, count), data...)})
	return join(secs), nil
}
