package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/capability/httpcap"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
)

// compileExtism returns the Extism compiled plugin for wasm — its own wazero runtime,
// sharing the host's compilation cache — compiling it at most once per key (digest,
// memory limit, metered) while any Plugin uses it; release each with releaseExtism. Grants
// and config are per Plugin: they are set on each instance. The host's compilation cache
// outlives the compiled plugins: Host.Close closes the plugins first.
//
// A metered key compiles the rewritten module (instrumentExtism, whose errors it returns)
// with onex.fuel, in a runtime without close-on-context-done; a guarded key compiles wasm
// as it is, with close-on-context-done.
func (h *Host) compileExtism(ctx context.Context, key compiledKey, wasm []byte) (*extism.CompiledPlugin, error) {
	return h.extisms.acquire(key, func() (*extism.CompiledPlugin, error) {
		var funcs []extism.HostFunction
		if key.metered {
			code, err := instrumentExtism(wasm)
			if err != nil {
				return nil, err
			}
			wasm, funcs = code, []extism.HostFunction{extismFuelFunction()}
		}
		return extism.NewCompiledPlugin(ctx, extism.Manifest{
			Wasm: []extism.Wasm{extism.WasmData{Data: wasm, Name: "main"}},
			Memory: &extism.ManifestMemory{
				MaxPages:             key.pages,
				MaxVarBytes:          DefaultExtismMaxVarBytes,
				MaxHttpResponseBytes: DefaultExtismMaxHTTPResponseBytes,
			},
		}, extism.PluginConfig{
			// Guarded, close-on-context-done whatever the manifest says: Extism enables it
			// only for manifests with a timeout (we never give one), and without it a
			// runaway unmetered guest cannot be stopped. Metered, the guest stops itself
			// at its next refill: no goroutine per call, no exit to Go at every loop.
			RuntimeConfig: wazero.NewRuntimeConfig().
				WithCompilationCache(h.compCache).
				WithMemoryLimitPages(key.pages).
				WithCloseOnContextDone(!key.metered),
			EnableWasi: true,
		}, funcs)
	})
}

// releaseExtism drops one reference and closes the compiled plugin with the last.
func (h *Host) releaseExtism(key compiledKey) { h.extisms.release(key) }

// extismPlugin is what an Extism Plugin's instances share.
type extismPlugin struct {
	config               map[string]string // read-only once loaded
	maxVarBytes          int64
	maxHTTPResponseBytes int64
	modConfig            wazero.ModuleConfig
}

// loadExtism builds the node manifest from the sidecar or the exports, checks imports and
// grants, compiles through Extism and fills the pool.
func (p *Plugin) loadExtism(ctx context.Context, path string, wasm []byte, pc PluginConfig) error {
	fail := func(kind error, cause error, format string, args ...any) error {
		return &PluginError{Plugin: p.name, Op: "load", Kind: kind, Message: fmt.Sprintf(format, args...), Cause: cause}
	}
	node := pc.Extism.Node
	if node == nil && path != "" {
		n, err := ReadExtismNode(SidecarPath(path))
		if err != nil {
			return fail(ErrInvalidManifest, err, "sidecar %s", strings.Replace(err.Error(), ErrInvalidManifest.Error()+": ", "", 1))
		}
		node = n
	}
	if node == nil {
		node = &ExtismNode{}
	}
	if err := checkExtismImports(p.compiled, p.eng); err != nil {
		return fail(ErrUnknownImport, nil, "%s", err)
	}
	callable := extismEntryPoints(p.compiled.ExportedFunctions())
	if len(callable) == 0 {
		return fail(ErrInvalidModule, nil, "the Extism module exports no function Extism can call (no parameters, no or one i32 result)")
	}
	m, table, err := node.manifest(p.name, p.digest, callable)
	if err != nil {
		err.(*PluginError).Plugin = p.name
		return err
	}
	p.manifest = m
	p.name = m.Name
	p.logger = p.host.cfg.Logger.With("plugin", m.Name)
	for _, c := range m.Capabilities {
		switch {
		case c == abi.CapabilityFS && len(p.grants.Paths) == 0:
			return fail(ErrCapabilityDenied, nil, "the node needs fs, and no path is granted (--allow-path DIR[:ro])")
		case c == abi.CapabilityHTTP && len(p.grants.Hosts) == 0:
			return fail(ErrCapabilityDenied, nil, "the node needs http, and no host is granted (--allow-host PATTERN)")
		}
	}
	// Extism's allowed_hosts matches host names only: a host:port grant would match
	// nothing there, or every port if the port were dropped. Refuse it.
	for _, h := range p.grants.Hosts {
		if _, port, _ := httpcap.ParsePattern(h); port != "" {
			return fail(ErrInvalidModule, nil, "host grant %q: Extism plugins take host names without a port (Extism's allowed_hosts has no ports)", h)
		}
	}
	if p.limits, err = p.host.cfg.resolve(pc, m.Timeout()); err != nil {
		return fail(ErrInvalidModule, err, "%v", err)
	}
	p.offers = make(map[string]string, len(table))
	p.entries = table
	for name, e := range table {
		p.offers[name] = e.Export
	}
	x := &extismPlugin{
		config:               maps.Clone(node.Config),
		maxVarBytes:          extismLimit(pc.Extism.MaxVarBytes, DefaultExtismMaxVarBytes),
		maxHTTPResponseBytes: extismLimit(pc.Extism.MaxHTTPResponseBytes, DefaultExtismMaxHTTPResponseBytes),
	}
	if x.config == nil {
		x.config = map[string]string{}
	}
	maps.Copy(x.config, pc.Extism.Config)
	x.modConfig = p.host.extismModConfig
	if len(p.grants.Paths) > 0 {
		fs := wazero.NewFSConfig()
		for _, g := range p.grants.Paths {
			if g.ReadOnly {
				fs = fs.WithReadOnlyDirMount(g.Dir, g.Dir)
			} else {
				fs = fs.WithDirMount(g.Dir, g.Dir)
			}
		}
		x.modConfig = x.modConfig.WithFSConfig(fs)
	}

	// The native compilation only served detection: drop it, compile through Extism,
	// metered unless the plugin asks to run guarded or its module cannot be metered.
	p.release()
	p.compiled, p.release = nil, func() {}
	key := compiledKey{digest: p.digest, pages: p.key.pages, metered: p.limits.execution == ExecutionMetered}
	xc, err := p.host.compileExtism(ctx, key, wasm)
	if key.metered && errors.Is(err, errExtismNotMeterable) {
		p.logger.Info("plugin runs guarded: it cannot be metered", "reason", err)
		key.metered = false
		xc, err = p.host.compileExtism(ctx, key, wasm)
	}
	if err != nil {
		return fail(ErrInvalidModule, err, "extism: %v", err)
	}
	p.key, p.metered = key, key.metered
	p.extism, p.release = xc, func() { p.host.releaseExtism(key) }
	setExtismLogLevel(p.host.cfg.Logger)

	return p.startPool(ctx, func(ctx context.Context) (guest.Instance, error) {
		xi, err := p.newExtismInstance(ctx, x)
		if err != nil {
			return nil, err
		}
		return xi, nil
	}, nil)
}

// extismLimit resolves a byte limit: 0 → def, negative → 0 (disabled).
func extismLimit(v, def int64) int64 {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	default:
		return v
	}
}

// checkExtismImports refuses imports neither Extism's kernel nor WASI provides, such as
// extism:host/user functions an embedding application would have to supply.
func checkExtismImports(mod wazero.CompiledModule, eng *engine) error {
	var unknown []string
	for _, d := range mod.ImportedFunctions() {
		module, name, _ := d.Import()
		switch {
		case module == extismHostModule:
		case module == abi.WASIModule && eng.wasiNames[name]:
		default:
			unknown = append(unknown, module+"."+name)
		}
	}
	if len(mod.ImportedMemories()) > 0 {
		unknown = append(unknown, "a memory")
	}
	if len(unknown) > 0 {
		return fmt.Errorf("the host does not provide %s (onex-host gives Extism plugins Extism's kernel and WASI, no application host functions)",
			strings.Join(unknown, ", "))
	}
	return nil
}

// newExtismInstance instantiates the plugin through Extism. No guest code runs here:
// Extism initialises the guest's runtime (_initialize, hs_init, constructors) at the
// first call, under that call's deadline.
func (p *Plugin) newExtismInstance(ctx context.Context, x *extismPlugin) (*extismInstance, error) {
	xi := &extismInstance{plugin: p}
	xi.watch = (*guestPlugin)(p).Watch(nil)
	xi.stdout = guest.NewLineWriter((*guestPlugin)(p), "stdout", slog.LevelInfo)
	xi.stderr = guest.NewLineWriter((*guestPlugin)(p), "stderr", slog.LevelWarn)
	xi.sleep = guest.Sleeper{Ctx: context.Background()}
	inst, err := p.extism.Instance(ctx, extism.PluginInstanceConfig{
		ModuleConfig: x.modConfig.WithStdout(xi.stdout).WithStderr(xi.stderr).WithNanosleep(xi.sleep.Nanosleep),
	})
	if err != nil {
		return nil, &PluginError{Plugin: p.name, Op: "instantiate", Kind: ErrInvalidModule, Cause: err, Message: guest.FirstLine(err.Error())}
	}
	inst.Config = x.config
	inst.AllowedHosts = p.grants.Hosts
	inst.MaxVarBytes = x.maxVarBytes
	inst.MaxHttpResponseBytes = x.maxHTTPResponseBytes
	logger := p.logger
	inst.SetLogger(func(level extism.LogLevel, msg string) {
		logger.Log(context.Background(), extismSlogLevel(level), msg, "source", "extism")
	})
	xi.x = inst
	if p.metered {
		g, ok := extismGuest(inst).ExportedGlobal(meter.DefaultGlobal).(api.MutableGlobal)
		if !ok {
			_ = inst.Close(context.Background())
			return nil, &PluginError{Plugin: p.name, Op: "instantiate", Kind: ErrInvalidModule,
				Message: "the metered module has no mutable " + meter.DefaultGlobal + " global"}
		}
		xi.Counter = g
	}
	return xi, nil
}

// extismLogLevel is the level this package last gave Extism (0: none yet).
var extismLogLevel struct {
	sync.Mutex
	level extism.LogLevel
}

// setExtismLogLevel opens Extism's process-wide log level (off by default) far enough for
// logger: info, or debug when logger has debug enabled. It only ever lowers the level, so
// every host in the process gets what its logger asks for; the plugins' slog loggers then
// filter by level. Trace stays off, and so does debug unless asked for: at those levels
// Extism also logs its own set-up of every instance through the standard log package,
// before a logger can be attached, and formats a message on every call.
func setExtismLogLevel(logger *slog.Logger) {
	want := extism.LogLevelInfo
	if logger.Enabled(context.Background(), slog.LevelDebug) {
		want = extism.LogLevelDebug
	}
	extismLogLevel.Lock()
	defer extismLogLevel.Unlock()
	if cur := extismLogLevel.level; cur == 0 || want < cur {
		extismLogLevel.level = want
		extism.SetLogLevel(want)
	}
}

// extismSlogLevel maps Extism's log levels onto slog's (trace is below debug).
func extismSlogLevel(l extism.LogLevel) slog.Level {
	switch l {
	case extism.LogLevelTrace:
		return slog.LevelDebug - 4
	case extism.LogLevelDebug:
		return slog.LevelDebug
	case extism.LogLevelInfo:
		return slog.LevelInfo
	case extism.LogLevelWarn:
		return slog.LevelWarn
	default:
		return slog.LevelError
	}
}

// newExtismModConfig is the module configuration of Extism guests: no files unless
// granted, no environment or arguments; real clocks and randomness. Extism sets the
// module name and start functions itself; each instance adds its own nanosleep, which
// ends with the call (see sleeper).
func newExtismModConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
}
