package meter

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/onexhost/onex-host/plugins/plugintest"
)

// errSpecStopped is what a spec world's refill panics with when its tiny budget is
// spent; wazero returns it (wrapped) from the call.
var errSpecStopped = errors.New("test: tiny budget spent")

// generousFuel is what a spec world's refill adds when no budget is set: no spec test
// runs that long, so the refill is called about once per instance.
const generousFuel = int64(1) << 40

// specCompiled compiles each distinct module once for all the scripts, plain and
// metered: wazero's compilation cache drops a module when the last runtime that
// compiled it closes, so a runtime of its own keeps every module compiled. It is safe
// for concurrent use by multiple goroutines.
type specCompiled struct {
	cache  wazero.CompilationCache
	keeper wazero.Runtime
	// mu guards seen.
	mu   sync.Mutex
	seen map[[sha256.Size]byte]bool
}

// newSpecCompiled's cache is also on disk, in the tests' shared compilation cache (plugintest.CacheDir):
// the suite's modules, plain and instrumented, are the same from run to run until the
// rewriter changes, and wazero keys each entry by the module's bytes, so a later run
// (another package's test binary, `make test` again) loads instead of compiling them
// under the race detector.
func newSpecCompiled(tb testing.TB) *specCompiled {
	tb.Helper()
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(plugintest.CacheDir())
	require.NoError(tb, err)
	c := &specCompiled{cache: cache, seen: map[[sha256.Size]byte]bool{}}
	c.keeper = wazero.NewRuntimeWithConfig(ctx, c.config(api.CoreFeaturesV2))
	tb.Cleanup(func() {
		_ = c.keeper.Close(ctx)
		_ = c.cache.Close(ctx)
	})
	return c
}

// config is the compiler with features and the shared cache. (The compiler itself
// ignores the features; wazero checks them when it decodes and validates.)
func (c *specCompiled) config(features api.CoreFeatures) wazero.RuntimeConfig {
	return wazero.NewRuntimeConfigCompiler().WithCoreFeatures(features).WithCompilationCache(c.cache)
}

// keep compiles wasm in the keeper unless it already has. An error is ignored: the
// runtime that needs the module reports it.
func (c *specCompiled) keep(wasm []byte) {
	h := sha256.Sum256(wasm)
	c.mu.Lock()
	seen := c.seen[h]
	c.seen[h] = true
	c.mu.Unlock()
	if !seen {
		_, _ = c.keeper.CompileModule(context.Background(), wasm)
	}
}

// specLoader reads one script's modules, each once, and instruments each once. It is
// not safe for concurrent use: each script has its own.
type specLoader struct {
	dir      string // the script's testdata directory
	features api.CoreFeatures
	compiled *specCompiled
	plain    map[string][]byte
	metered  map[string][]byte
	exact    map[string][]byte // instrumented in exact mode (see rewrite)
}

func newSpecLoader(dir string, features api.CoreFeatures, compiled *specCompiled) *specLoader {
	return &specLoader{dir: dir, features: features, compiled: compiled, plain: map[string][]byte{}, metered: map[string][]byte{}, exact: map[string][]byte{}}
}

// spectestFile names the "spectest" module relative to a script's directory.
const spectestFile = "../../testdata/spectest.wasm"

// load returns the module in file, instrumented if metered. Every module a script
// instantiates is valid, so Instrument must accept it.
func (l *specLoader) load(tb testing.TB, file string, metered bool) []byte {
	tb.Helper()
	b, ok := l.plain[file]
	if !ok {
		b = readFile(tb, filepath.Join(l.dir, file))
		l.plain[file] = b
	}
	if !metered {
		return b
	}
	out, ok := l.metered[file]
	if !ok {
		var err error
		out, _, err = Instrument(b, Options{})
		require.NoError(tb, err, "instrument %s", file)
		l.metered[file] = out
	}
	return out
}

// loadFor returns the module in file as world w runs it: plain, metered or exact.
func (l *specLoader) loadFor(tb testing.TB, file string, w *specWorld) []byte {
	tb.Helper()
	if !w.exact {
		return l.load(tb, file, w.metered)
	}
	out, ok := l.exact[file]
	if !ok {
		var err error
		out, _, err = rewrite(l.load(tb, file, false), Options{}, true)
		require.NoError(tb, err, "instrument %s exactly", file)
		l.exact[file] = out
	}
	return out
}

// specWorld is one wazero runtime (see newSpecWorld for which engine) running a script: plain, with the
// modules as they are, or metered, with every module instrumented (spectest's too)
// and a host module "onex" whose fuel refills the calling module's counter. It is
// not safe for concurrent use.
type specWorld struct {
	l                    *specLoader
	metered, interpreter bool
	exact                bool  // metered in exact mode: its fuel counts instructions one by one
	granted              int64 // fuel the refill has handed out
	r                    wazero.Runtime
	named                map[string]api.Module // by $name
	last                 api.Module
	mods                 []api.Module // every instance, spectest included
	funcs                map[specFunc]api.Function
	// stateful reports that some instance has a memory, table or global of its own or
	// imported (before instrumenting): a call stopped halfway may have changed it.
	stateful bool
	// budget, during a tiny-budget call, limits the refill. Without it the refill
	// adds generousFuel.
	budget *tinyBudget
}

// tinyBudget lets the refill add chunk, grants times; the next refill stops the call.
type tinyBudget struct {
	chunk  int64
	grants int
}

// newSpecWorld returns a world with the spectest module, and onex if metered. It runs
// the compiler, as the host does, or the interpreter, for assert_exhaustion: the
// compiler's stack grows (copied each time it doubles) to 50 MB before it overflows,
// which costs seconds under the race detector; the interpreter stops at 2,000 frames.
func newSpecWorld(tb testing.TB, l *specLoader, metered, interpreter bool) *specWorld {
	tb.Helper()
	return newWorld(tb, l, metered, false, interpreter)
}

// newExactWorld returns a metered world whose modules are instrumented in exact mode,
// on the compiler: the yardstick of the metered world's fuel.
func newExactWorld(tb testing.TB, l *specLoader) *specWorld {
	tb.Helper()
	return newWorld(tb, l, true, true, false)
}

func newWorld(tb testing.TB, l *specLoader, metered, exact, interpreter bool) *specWorld {
	tb.Helper()
	ctx := context.Background()
	cfg := l.compiled.config(l.features)
	if interpreter {
		cfg = wazero.NewRuntimeConfigInterpreter().WithCoreFeatures(l.features)
	}
	w := &specWorld{l: l, metered: metered, exact: exact, interpreter: interpreter, r: wazero.NewRuntimeWithConfig(ctx, cfg),
		named: map[string]api.Module{}, funcs: map[specFunc]api.Function{}}
	tb.Cleanup(w.close)
	if metered {
		_, err := w.r.NewHostModuleBuilder(DefaultImportModule).NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(w.refill), nil, nil).Export(DefaultImportName).
			Instantiate(ctx)
		require.NoError(tb, err)
	}
	m, err := w.instantiate(l.loadFor(tb, spectestFile, w), "spectest")
	require.NoError(tb, err)
	w.mods = append(w.mods, m)
	return w
}

func (w *specWorld) close() { _ = w.r.Close(context.Background()) }

func (w *specWorld) refill(_ context.Context, mod api.Module, _ []uint64) {
	g, ok := mod.ExportedGlobal(DefaultGlobal).(api.MutableGlobal)
	if !ok {
		panic(fmt.Errorf("test: refill called by %q, which has no fuel counter", mod.Name()))
	}
	add := generousFuel
	if w.budget != nil {
		if w.budget.grants == 0 {
			panic(errSpecStopped)
		}
		w.budget.grants--
		add = w.budget.chunk
	}
	g.Set(uint64(int64(g.Get()) + add))
	w.granted += add
}

// fuel returns the fuel the world's instances have used so far: what the refills
// granted, less what their counters hold.
func (w *specWorld) fuel() int64 {
	used := w.granted
	for _, m := range w.mods {
		if g := m.ExportedGlobal(DefaultGlobal); g != nil {
			used -= int64(g.Get())
		}
	}
	return used
}

func (w *specWorld) instantiate(wasm []byte, name string) (api.Module, error) {
	ctx := experimental.WithMemoryAllocator(context.Background(), specMemory())
	if !w.interpreter {
		w.l.compiled.keep(wasm)
	}
	c, err := w.r.CompileModule(ctx, wasm)
	if err != nil {
		return nil, err
	}
	return w.r.InstantiateModule(ctx, c, wazero.NewModuleConfig().WithName(name))
}

// specFunc names an exported function of an instance.
type specFunc struct {
	m    api.Module
	name string
}

// specOutcome is what one command did in one world.
type specOutcome struct {
	results []uint64
	types   []api.ValueType
	err     error
}

// do runs command i of s: instantiates a module or calls an export. Commands that
// only compile a module (assert_invalid, assert_malformed) or name one (register)
// do nothing here.
func (w *specWorld) do(tb testing.TB, s specScript, i int) specOutcome {
	tb.Helper()
	c := s.Commands[i]
	switch c.Type {
	case "module", "assert_unlinkable", "assert_uninstantiable":
		own, imported := moduleState(w.l.load(tb, c.Filename, false))
		name := ""
		if c.Type == "module" {
			name = s.registeredAs(i)
		}
		m, err := w.instantiate(w.l.loadFor(tb, c.Filename, w), name)
		if m != nil {
			w.mods = append(w.mods, m)
			w.stateful = w.stateful || own || imported
		}
		if err == nil && c.Type == "module" {
			w.last = m
			if c.Name != "" {
				w.named[c.Name] = m
			}
		}
		return specOutcome{err: err}
	case "action", "assert_return", "assert_trap", "assert_exhaustion":
		return w.act(c.Action)
	}
	return specOutcome{}
}

func (w *specWorld) act(a specAction) specOutcome {
	m := w.last
	if a.Module != "" {
		m = w.named[a.Module]
	}
	if m == nil {
		return specOutcome{err: fmt.Errorf("test: no module %q", a.Module)}
	}
	switch a.Type {
	case "get":
		g := m.ExportedGlobal(a.Field)
		if g == nil {
			return specOutcome{err: fmt.Errorf("test: no global %q", a.Field)}
		}
		return specOutcome{results: []uint64{g.Get()}, types: []api.ValueType{g.Type()}}
	case "invoke":
		f := w.funcs[specFunc{m, a.Field}] // each api.Function allocates a stack: reuse them
		if f == nil {
			if f = m.ExportedFunction(a.Field); f == nil {
				return specOutcome{err: fmt.Errorf("test: no function %q", a.Field)}
			}
			w.funcs[specFunc{m, a.Field}] = f
		}
		var args []uint64
		for _, v := range a.Args {
			w, err := v.words()
			if err != nil {
				return specOutcome{err: fmt.Errorf("test: argument: %w", err)}
			}
			args = append(args, w...)
		}
		res, err := f.Call(context.Background(), args...)
		return specOutcome{results: res, types: f.Definition().ResultTypes(), err: err}
	}
	return specOutcome{err: fmt.Errorf("test: action %q", a.Type)}
}

// resetFuel empties every instance's fuel counter, so that the next call gets only
// what the refill hands out.
func (w *specWorld) resetFuel(tb testing.TB) {
	tb.Helper()
	for _, m := range w.mods {
		g, ok := m.ExportedGlobal(DefaultGlobal).(api.MutableGlobal)
		require.True(tb, ok, "%q has no fuel counter", m.Name())
		g.Set(0)
	}
}

// moduleState reports whether a valid module defines (own) or imports a table, a
// memory or a global: the state a call can change. Any global counts, mutable or not.
func moduleState(wasm []byte) (own, imported bool) {
	u32 := func(b []byte, off *int) uint32 {
		var x uint32
		for shift := 0; *off < len(b); shift += 7 {
			c := b[*off]
			*off++
			x |= uint32(c&0x7f) << shift
			if c < 0x80 {
				break
			}
		}
		return x
	}
	off := 8 // magic and version
	for off < len(wasm) {
		id := wasm[off]
		off++
		size := int(u32(wasm, &off))
		body, end := off, off+size
		off = end
		switch id {
		case secTable, secMemory, secGlobal:
			own = own || u32(wasm, &body) > 0
		case secImport:
			for n := u32(wasm, &body); n > 0 && !imported; n-- {
				for range 2 { // module and field names
					l := u32(wasm, &body)
					body += int(l)
				}
				kind := wasm[body]
				body++
				u32(wasm, &body) // a function's type index; for the others, no longer read
				imported = kind != 0
			}
		}
	}
	return own, imported
}
