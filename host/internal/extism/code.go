package extism

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"

	sdk "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/guest"
	"github.com/onexhost/onex-host/host/internal/meter"
)

// HostModule is the import module every Extism PDK plugin uses: a module importing it is
// an Extism plugin.
const HostModule = "extism:host/env"

// Compile returns the Extism compiled plugin for wasm — its own wazero runtime, sharing
// cache, the host's compilation cache — with a memory limit of pages and the plugin
// variable and HTTP response limits of the manifest (each instance sets its own). The
// caller shares and closes it (the host keys it by digest, limit and mode).
//
// Metered, it compiles the rewritten module with onex.fuel, in a runtime without
// close-on-context-done; errors then wrap ErrNotMeterable for a module that must run
// guarded instead (compile it again unmetered). Guarded, it compiles wasm as it is, with
// close-on-context-done.
func Compile(ctx context.Context, cache wazero.CompilationCache, wasm []byte, pages uint32, metered bool, maxVarBytes, maxHTTPResponseBytes int64) (*sdk.CompiledPlugin, error) {
	var funcs []sdk.HostFunction
	if metered {
		code, err := instrument(wasm)
		if err != nil {
			return nil, err
		}
		wasm, funcs = code, []sdk.HostFunction{fuelFunction()}
	}
	return sdk.NewCompiledPlugin(ctx, sdk.Manifest{
		Wasm: []sdk.Wasm{sdk.WasmData{Data: wasm, Name: "main"}},
		Memory: &sdk.ManifestMemory{
			MaxPages:             pages,
			MaxVarBytes:          maxVarBytes,
			MaxHttpResponseBytes: maxHTTPResponseBytes,
		},
	}, sdk.PluginConfig{
		// Guarded, close-on-context-done whatever the manifest says: Extism enables it
		// only for manifests with a timeout (we never give one), and without it a
		// runaway unmetered guest cannot be stopped. Metered, the guest stops itself
		// at its next refill: no goroutine per call, no exit to Go at every loop.
		RuntimeConfig: wazero.NewRuntimeConfig().
			WithCompilationCache(cache).
			WithMemoryLimitPages(pages).
			WithCloseOnContextDone(!metered),
		EnableWasi: true,
	}, funcs)
}

// CheckImports refuses imports neither Extism's kernel nor WASI (whose function names
// are wasiNames) provides, such as extism:host/user functions an embedding application
// would have to supply.
func CheckImports(mod wazero.CompiledModule, wasiNames map[string]bool) error {
	var unknown []string
	for _, d := range mod.ImportedFunctions() {
		module, name, _ := d.Import()
		switch {
		case module == HostModule:
		case module == abi.WASIModule && wasiNames[name]:
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

// Code is a compiled Extism plugin with what its instances need. Its fields are set once,
// before the first NewInstance; it is then safe for concurrent use by multiple goroutines.
type Code struct {
	Plugin   guest.Plugin
	Compiled *sdk.CompiledPlugin // from Compile
	Metered  bool                // Compiled is the metered compilation
	// Config is the plugin's Extism config (read-only once set), AllowedHosts the host
	// names its http_request may reach, and the two limits the plugin's variables and
	// HTTP responses (0: none).
	Config               map[string]string
	AllowedHosts         []string
	MaxVarBytes          int64
	MaxHTTPResponseBytes int64
	// ModConfig is the guests' module configuration (NewModConfig, plus the granted
	// directories); each instance adds its own stdout, stderr and nanosleep.
	ModConfig wazero.ModuleConfig
}

// NewInstance instantiates the plugin through Extism. No guest code runs here: Extism
// initialises the guest's runtime (_initialize, hs_init, constructors) at the first call,
// under that call's deadline. Errors are *guest.Failure values.
func (c *Code) NewInstance(ctx context.Context) (*Instance, error) {
	p := c.Plugin
	xi := &Instance{plugin: p}
	xi.watch = p.Watch(nil)
	xi.stdout = guest.NewLineWriter(p, "stdout", slog.LevelInfo)
	xi.stderr = guest.NewLineWriter(p, "stderr", slog.LevelWarn)
	xi.sleep = guest.Sleeper{Ctx: context.Background()}
	inst, err := c.Compiled.Instance(ctx, sdk.PluginInstanceConfig{
		ModuleConfig: c.ModConfig.WithStdout(xi.stdout).WithStderr(xi.stderr).WithNanosleep(xi.sleep.Nanosleep),
	})
	if err != nil {
		return nil, &guest.Failure{Op: "instantiate", Kind: guest.KindInvalidModule, Cause: err, Message: guest.FirstLine(err.Error())}
	}
	inst.Config = c.Config
	inst.AllowedHosts = c.AllowedHosts
	inst.MaxVarBytes = c.MaxVarBytes
	inst.MaxHttpResponseBytes = c.MaxHTTPResponseBytes
	inst.SetLogger(func(level sdk.LogLevel, msg string) {
		ctx := xi.logCtx
		if ctx == nil {
			ctx = context.Background()
		}
		p.Logger().Log(ctx, slogLevel(level), msg, "source", "extism")
	})
	xi.x = inst
	if c.Metered {
		g, ok := guestModule(inst).ExportedGlobal(meter.DefaultGlobal).(api.MutableGlobal)
		if !ok {
			_ = inst.Close(context.Background())
			return nil, guest.Failf("instantiate", guest.KindInvalidModule,
				"the metered module has no mutable %s global", meter.DefaultGlobal)
		}
		xi.Counter = g
	}
	return xi, nil
}

// NewModConfig is the module configuration of Extism guests: no files unless granted, no
// environment or arguments; real clocks and randomness. Extism sets the module name and
// start functions itself; each instance adds its own nanosleep, which ends with the call
// (see guest.Sleeper).
func NewModConfig() wazero.ModuleConfig {
	return wazero.NewModuleConfig().
		WithSysWalltime().
		WithSysNanotime().
		WithRandSource(rand.Reader)
}
