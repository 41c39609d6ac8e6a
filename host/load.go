package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"

	"github.com/onexhost/onex-host/abi"
	xflavour "github.com/onexhost/onex-host/host/internal/extism"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
	"github.com/onexhost/onex-host/host/internal/native"
	"github.com/onexhost/onex-host/host/internal/pool"
)

// LoadFile reads a plugin from path and loads it; see Load. For an Extism plugin without
// PluginConfig.Extism.Node, the sidecar SidecarPath(path) is read when it exists. A file
// that cannot be read fails with the file system's error wrapped (a *fs.PathError;
// fs.ErrNotExist when it is missing), not a *PluginError.
func (h *Host) LoadFile(ctx context.Context, path string, cfg PluginConfig) (*Plugin, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		// A file that cannot be read is no module at all: the error is the file
		// system's (errors.Is(err, fs.ErrNotExist) for a missing file).
		return nil, fmt.Errorf("host: load %s: %w", path, err)
	}
	return h.load(ctx, filepath.Base(path), path, wasm, cfg)
}

// Load compiles wasm (once per digest per Host, through the on-disk compilation cache),
// decides its flavour (see Flavour), checks it against that ABI, reads and validates its
// manifest, and pre-warms its instance pool. Everything that can be checked is checked
// here, not at the first call: the failures are *PluginError values matching
// ErrInvalidModule, ErrMemoryLimit (the module's declared memory minimum is over the
// memory limit), ErrCommandModule, ErrABIVersion, ErrUnknownImport,
// ErrInvalidManifest, ErrCapabilityDenied, ErrUnsupported, or ErrTrap/ErrTimeout when the
// guest's initialisation fails. The wasm slice is not retained.
func (h *Host) Load(ctx context.Context, wasm []byte, cfg PluginConfig) (*Plugin, error) {
	sum := sha256.Sum256(wasm)
	return h.load(ctx, "sha256:"+hex.EncodeToString(sum[:6]), "", wasm, cfg)
}

// load is Load; path, when not empty, is where the module came from (for its sidecar).
func (h *Host) load(ctx context.Context, label, path string, wasm []byte, pc PluginConfig) (*Plugin, error) {
	fail := func(kind error, cause error, format string, args ...any) error {
		return &PluginError{Plugin: label, Op: "load", Kind: kind, Message: fmt.Sprintf(format, args...), Cause: cause}
	}
	if !abi.IsWasm(wasm) {
		return nil, fail(ErrInvalidModule, nil, "not a WebAssembly binary module (%d bytes; expected the \\0asm magic and version 1)", len(wasm))
	}
	sum := sha256.Sum256(wasm)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	// Compile a module's functions on every core: a standard-Go plugin's first load in a
	// process without a cached compilation is mostly this (BENCHMARKS.md, issue 23).
	ctx = experimental.WithCompilationWorkers(ctx, runtime.GOMAXPROCS(0))
	grants, err := pc.Grants.normalize()
	if err != nil {
		return nil, fail(ErrInvalidModule, err, "%v", err)
	}

	// The memory limit decides the runtime, so resolve it before the manifest is known;
	// the timeout is resolved again once it is.
	lim, err := h.cfg.resolve(pc, 0)
	if err != nil {
		return nil, fail(ErrInvalidModule, err, "%v", err)
	}
	// The flavour comes first, from the import section alone: Extism plugins run through
	// Extism's runtime (loadExtism decides how); native ones metered (metered.go) unless
	// the plugin asks to run guarded or the rewriter cannot instrument them.
	flavour := pc.Flavour
	if flavour == "" {
		mods, err := abi.ImportModules(wasm)
		if err != nil {
			return nil, fail(ErrInvalidModule, err, "%v", err)
		}
		flavour = FlavourNative
		if slices.Contains(mods, xflavour.HostModule) {
			flavour = FlavourExtism
		}
	}
	metered := flavour == FlavourNative && lim.execution == ExecutionMetered
	var (
		eng      *engine
		key      compiledKey
		compiled wazero.CompiledModule
	)
	if metered {
		if eng, err = h.engineFor(ctx, lim.memoryPages, true); err != nil {
			return nil, fail(ErrClosed, err, "%v", err)
		}
		key = compiledKey{digest: digest, pages: lim.memoryPages, metered: true}
		compiled, err = h.compileMetered(ctx, eng, key, wasm)
		switch {
		case errors.Is(err, meter.ErrUnsupported), errors.Is(err, meter.ErrConflict):
			h.cfg.Logger.Info("plugin runs guarded: it cannot be metered", "plugin", label, "reason", err)
			metered = false
		case err != nil:
			kind, msg := compileError(err)
			return nil, fail(kind, err, "%s", msg)
		}
	}
	if !metered {
		if eng, err = h.engineFor(ctx, lim.memoryPages, false); err != nil {
			return nil, fail(ErrClosed, err, "%v", err)
		}
		// An Extism plugin compiles here, unmetered, to show its imports and exports, then
		// again in Extism's runtime (loadExtism): a hit in the shared compilation cache
		// when it runs guarded, a compilation of the rewritten module when metered.
		key = compiledKey{digest: digest, pages: lim.memoryPages}
		if compiled, err = h.compile(ctx, eng, key, wasm); err != nil {
			kind, msg := compileError(err)
			return nil, fail(kind, err, "%s", msg)
		}
	}
	p := &Plugin{host: h, name: label, digest: digest, size: len(wasm), eng: eng, key: key, compiled: compiled,
		metered: metered, grants: grants, limits: lim, done: make(chan struct{}), release: func() { h.release(key) }}
	p.logger = h.cfg.Logger.With("plugin", label)
	p.exports = slices.Sorted(maps.Keys(compiled.ExportedFunctions()))
	for _, d := range compiled.ImportedFunctions() {
		m, n, _ := d.Import()
		if metered && m == meter.DefaultImportModule && n == meter.DefaultImportName {
			continue // the meter's own import, not the plugin's
		}
		p.imports = append(p.imports, m+"."+n)
	}
	p.flavour = flavour
	ok := false
	defer func() {
		if !ok {
			p.lazySnap.stop()
			p.closeCapabilities()
			p.release()
		}
	}()
	switch p.flavour {
	case FlavourNative:
		err = p.loadNative(ctx, wasm, pc)
	case FlavourExtism:
		err = p.loadExtism(ctx, path, wasm, pc)
	default:
		err = fail(ErrUnsupported, nil, "flavour %q is not %q or %q", p.flavour, FlavourNative, FlavourExtism)
	}
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		p.pool.Close()
		return nil, fail(ErrClosed, nil, "the host is closed")
	}
	h.loads++
	p.seq = h.loads
	p.refs.Store(1) // the owner's
	h.plugins[p] = struct{}{}
	h.mu.Unlock()
	ok = true
	p.logger.Debug("plugin loaded", "flavour", p.flavour, "digest", digest, "version", p.manifest.Version, "bytes", len(wasm))
	return p, nil
}

// loadNative checks the module against the native ABI, reads its manifest (from the
// custom section, else from the first instance) and fills the pool.
func (p *Plugin) loadNative(ctx context.Context, wasm []byte, pc PluginConfig) error {
	fail := func(kind error, cause error, format string, args ...any) error {
		return &PluginError{Plugin: p.name, Op: "load", Kind: kind, Message: fmt.Sprintf(format, args...), Cause: cause}
	}
	var manifest *abi.Manifest
	sections, err := abi.CustomSections(wasm, abi.ManifestSection)
	if err != nil {
		return fail(ErrInvalidModule, err, "%v", err)
	}
	switch len(sections) {
	case 0:
	case 1:
		m, err := abi.DecodeManifest(sections[0])
		if err != nil {
			return fail(ErrInvalidManifest, err, "%s section: %v", abi.ManifestSection, err)
		}
		manifest = &m
		// Known before any guest code runs: the guest may read its config while it
		// initialises (a Go plugin's init functions).
		if err := p.setConfig(manifest, pc, false); err != nil {
			return err
		}
	default:
		// Which one would a reader take? Refusing is the only answer every tool agrees on.
		return fail(ErrInvalidManifest, nil, "the module has %d %s sections; it may have at most one", len(sections), abi.ManifestSection)
	}
	imports, err := abi.Imports(wasm)
	if err != nil {
		return fail(ErrInvalidModule, err, "%v", err)
	}
	if err := native.Check(p.compiled, p.eng.wasiNames, p.eng.provided, imports); err != nil {
		return p.pluginError(err)
	}
	code := &native.Code{Plugin: (*guestPlugin)(p), Runtime: p.eng.rt, Compiled: p.compiled,
		ModConfig: p.host.modConfig, Metered: p.metered}
	p.code = code
	var created atomic.Int64
	switch {
	case p.limits.snapshot:
		if err := p.snapshot(ctx, code, wasm); err != nil {
			return err
		}
	case p.limits.snapshotLater:
		p.lazySnap.wasm = wasm
	}
	return p.startPool(ctx, func(ctx context.Context) (guest.Instance, error) {
		if created.Add(1) == 2 && p.limits.snapshotLater && len(p.manifest.Config) == 0 {
			// The pool grows or replaces: instances will be made again. Not for a plugin
			// with config keys: a snapshot's initialization cannot see their values, and
			// its instances would then initialise unlike the ones before.
			p.snapshotLater(code)
		}
		inst, err := code.NewInstance(ctx)
		if err != nil {
			return nil, err
		}
		return inst, nil
	}, func(first guest.Instance) (bool, error) {
		// The first instance provides the manifest when the module carries no section.
		// It initialised without config values then, so it is dropped when the node
		// declares config keys: every instance's init sees its values.
		reuse := true
		if manifest == nil {
			m, err := first.(*native.Instance).ReadManifest(ctx)
			if err != nil {
				return false, p.pluginError(err)
			}
			manifest = &m
			reuse = len(m.Config) == 0
		}
		p.manifest = *manifest
		return reuse, p.adopt(pc)
	})
}

// startPool creates the plugin's pool of newGuest instances and makes one instance now,
// whatever Prewarm says: it proves the module links and initialises. check, when not nil,
// inspects that first instance before the pool is pre-warmed, and says whether to keep it
// (else it is discarded). On error the pool is closed.
func (p *Plugin) startPool(ctx context.Context, newGuest func(context.Context) (guest.Instance, error), check func(first guest.Instance) (reuse bool, err error)) error {
	var err error
	p.pool, err = pool.New(pool.Config[guest.Instance]{
		Max:     p.limits.maxInstances,
		MinIdle: p.limits.prewarm,
		New:     newGuest,
		Close:   guest.Instance.Close,
	})
	if err != nil {
		return &PluginError{Plugin: p.name, Op: "load", Kind: ErrInvalidModule, Message: err.Error(), Cause: err}
	}
	first, err := p.pool.Acquire(ctx)
	reuse := true
	if err == nil && check != nil {
		reuse, err = check(first)
	}
	switch {
	case first != nil && !reuse:
		p.pool.Discard(first)
	case first != nil:
		p.put(first)
	}
	if err == nil {
		err = p.pool.Prewarm(native.Ahead(ctx), p.limits.prewarm)
	}
	if err != nil {
		p.pool.Close()
		return p.loadError(err)
	}
	return nil
}

// adopt takes the manifest's identity and limits, and refuses what this host cannot run.
func (p *Plugin) adopt(pc PluginConfig) error {
	m := &p.manifest
	fail := func(kind error, format string, args ...any) error {
		return &PluginError{Plugin: p.name, Op: "load", Kind: kind, Message: fmt.Sprintf(format, args...)}
	}
	p.name = m.Name
	p.logger = p.host.cfg.Logger.With("plugin", m.Name)
	p.offers = make(map[string]string, len(m.Offers()))
	for _, c := range m.Offers() {
		p.offers[c.Name] = c.Name
	}
	lim, err := p.host.cfg.resolve(pc, m.Timeout())
	if err != nil {
		return fail(ErrInvalidModule, "%v", err)
	}
	p.limits = lim
	inputs, err := compileInputSchemas(m)
	if err != nil {
		return &PluginError{Plugin: p.name, Op: "load", Kind: ErrInvalidManifest, Message: err.Error(), Cause: err}
	}
	if !pc.SkipInputValidation {
		p.inputs = inputs
	}
	if err := p.setConfig(m, pc, false); err != nil {
		return err
	}
	for _, g := range p.grants.Paths {
		if g.Guest != "" {
			return fail(ErrUnsupported, "path grant %s: mapping a directory to another guest path is for Extism plugins; "+
				"a native plugin names files by their host path (grant %s)", g, g.Dir)
		}
	}
	exports := p.compiled.ExportedFunctions()
	switch m.Kind {
	case abi.KindCompute:
		if len(m.Capabilities) > 0 {
			return fail(ErrCapabilityDenied, "manifest requests %v: compute nodes get no capabilities (only effect nodes do I/O)", m.Capabilities)
		}
		if _, ok := exports[abi.ExportCompute]; !ok {
			return fail(ErrInvalidModule, "a compute node must export %s", abi.ExportCompute)
		}
	case abi.KindReducer:
		// abi.Manifest.Validate already refused capabilities: a reducer does no I/O. An
		// Extism reducer (kind: reducer in its ExtismNode) names an export per reduction.
		if p.flavour == FlavourExtism {
			break
		}
		if _, ok := exports[abi.ExportReduce]; !ok {
			return fail(ErrInvalidModule, "a reducer node must export %s", abi.ExportReduce)
		}
	case abi.KindOrchestrator:
		// abi.Manifest.Validate already refused capabilities: an orchestrator only decides.
		// An Extism orchestrator (kind: orchestrator in its ExtismNode) names an export per
		// workflow.
		if p.flavour == FlavourExtism {
			break
		}
		if _, ok := exports[abi.ExportOrchestrate]; !ok {
			return fail(ErrInvalidModule, "an orchestrator node must export %s", abi.ExportOrchestrate)
		}
	case abi.KindEffect:
		if _, ok := exports[abi.ExportEffect]; !ok {
			return fail(ErrInvalidModule, "an effect node must export %s", abi.ExportEffect)
		}
		if pc.Inspect {
			break
		}
		if err := p.grants.allow(m.Capabilities); err != nil {
			return fail(ErrCapabilityDenied, "%v", err)
		}
		if err := p.openCapabilities(); err != nil {
			return err
		}
	}
	return nil
}
