package host

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	extism "github.com/extism/go-sdk"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/cache"
	"github.com/onexhost/onex-host/host/internal/compcache"
	xflavour "github.com/onexhost/onex-host/host/internal/extism"
	"github.com/onexhost/onex-host/host/internal/native"
	"github.com/onexhost/onex-host/host/internal/watch"
)

// Host loads plugins and runs them. It owns the wazero runtimes, the compilation cache,
// the deadline watchdog and the idle-instance janitor. A Host is safe for concurrent use
// by multiple goroutines; create one per process and Close it when done.
type Host struct {
	cfg       Config
	compCache wazero.CompilationCache
	disk      *compcache.Dir // CacheDir's size limit; nil without a disk cache
	cache     *cache.Cache   // compute results
	watch     *watch.Watchdog
	modConfig wazero.ModuleConfig
	// extismModConfig is the base module configuration of Extism guests.
	extismModConfig wazero.ModuleConfig

	services

	stopJanitor context.CancelFunc
	janitorDone chan struct{}
	teardown    sync.Once
	// background counts goroutines that outlive a call, such as pooled plugins'
	// snapshots (snapshot.go); Close waits for them before closing the runtimes.
	background sync.WaitGroup

	// compiled and extisms share compiled code between the Plugins loaded from the same
	// bytes: native modules (wazero) and Extism plugins (each with its own runtime).
	compiled *shared[wazero.CompiledModule]
	extisms  *shared[*extism.CompiledPlugin]

	// stuck records the calls that did not end Config.StuckGrace after their deadline.
	stuck stuckCalls

	// mu guards engines, plugins, loads and closed.
	mu      sync.Mutex
	engines map[engineKey]*engine
	plugins map[*Plugin]struct{}
	loads   uint64 // plugins ever loaded: the next one's seq
	closed  bool
}

// engine is one wazero runtime with WASI and the onex host module instantiated. There is
// one per distinct memory limit, because wazero sets the page limit per runtime.
type engine struct {
	rt        wazero.Runtime
	metered   bool
	wasiNames map[string]bool
	// provided holds the type of every function the runtime provides for import, keyed
	// "module.name" (WASI's and abi.ImportModule's), for the import check at load.
	provided map[string]api.FunctionDefinition
}

// New creates a Host. The only error is an invalid Config or an unusable CacheDir.
func New(ctx context.Context, cfg Config) (*Host, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	results, err := cache.New(cache.Config{MaxEntries: cfg.CacheEntries, MaxBytes: cfg.CacheBytes, TTL: cfg.CacheTTL})
	if err != nil {
		return nil, fmt.Errorf("host: compute cache: %w", err)
	}
	compCache := wazero.NewCompilationCache()
	var disk *compcache.Dir
	if cfg.CacheDir != "" {
		if compCache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			results.Close()
			return nil, fmt.Errorf("host: compilation cache %s: %w", cfg.CacheDir, err)
		}
		if disk, err = compcache.Open(cfg.CacheDir, cfg.CacheDirMaxBytes); err != nil {
			results.Close()
			return nil, fmt.Errorf("host: %w", err)
		}
	}
	h := &Host{
		cfg:       cfg,
		compCache: compCache,
		disk:      disk,
		cache:     results,
		watch:     watch.New(cfg.StuckGrace), // negative: no overdue stage
		// No preopened directories, environment or arguments; real clocks and randomness,
		// which a standard-Go guest runtime expects. Each instance adds its own nanosleep,
		// which ends with the call (see guest.Sleeper): wazero's WithSysNanosleep cannot be
		// interrupted.
		modConfig: wazero.NewModuleConfig().
			WithName("").
			WithStartFunctions("_initialize").
			WithSysWalltime().
			WithSysNanotime().
			WithRandSource(rand.Reader),
		extismModConfig: xflavour.NewModConfig(),
		engines:         map[engineKey]*engine{},
		compiled:        newShared(closeCtx[wazero.CompiledModule]),
		extisms:         newShared(closeCtx[*extism.CompiledPlugin]),
		plugins:         map[*Plugin]struct{}{},
		janitorDone:     make(chan struct{}),
	}
	if err := h.newServices(cfg); err != nil {
		results.Close()
		_ = compCache.Close(ctx)
		return nil, err
	}
	jctx, cancel := context.WithCancel(context.Background())
	h.stopJanitor = cancel
	go h.janitor(jctx)
	return h, nil
}

// Config returns the host's configuration with defaults filled in.
func (h *Host) Config() Config { return h.cfg }

// CacheStats are the compute cache's statistics with ONEX's field names, plus
// shared_hits and joined. Counters are exact: TotalRequests == Hits + SharedHits + Joined +
// Misses, each request counted once under its ComputeOutput.CacheOutcome.
type CacheStats = cache.Stats

// CacheStats returns the compute cache's statistics.
func (h *Host) CacheStats() CacheStats { return h.cache.Stats() }

// ClearCache removes every cached result from both cache levels: the shared one
// (Config.SharedCache) first, then this host's, so that a lookup after it returns finds
// neither. Computations running now do not store theirs locally (a shared level may still
// get theirs). The local level is cleared even when the shared one fails; the error is the
// shared level's. Counters are kept.
func (h *Host) ClearCache(ctx context.Context) error {
	var err error
	if shared := h.cfg.SharedCache; shared != nil {
		if err = shared.Clear(ctx); err != nil {
			err = fmt.Errorf("host: clear the shared cache: %w", err)
		}
	}
	h.cache.Clear()
	return err
}

// engineKey selects a runtime: wazero sets the page limit per runtime, and metered
// guests run without close-on-context-done.
type engineKey struct {
	pages   uint32
	metered bool
}

// engineFor returns the runtime for a memory limit and an execution mode, creating it
// on first use.
func (h *Host) engineFor(ctx context.Context, pages uint32, metered bool) (*engine, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	key := engineKey{pages: pages, metered: metered}
	if e := h.engines[key]; e != nil {
		return e, nil
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(h.compCache).
		WithMemoryLimitPages(pages).
		// A guarded guest can only be stopped by closing its module when the context
		// ends: without this a runaway guest would stall the whole process at its next GC.
		// A metered guest stops itself at its next fuel check (guest.Fuel.Refill), so
		// it runs without the goroutine per call and the exit to Go at every loop.
		WithCloseOnContextDone(!metered))
	_, err := wasi_snapshot_preview1.Instantiate(ctx, rt)
	if err == nil {
		err = native.DefineHostModule(ctx, rt)
	}
	if err != nil {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("host: create runtime: %w", err)
	}
	e := &engine{rt: rt, metered: metered, wasiNames: map[string]bool{}, provided: map[string]api.FunctionDefinition{}}
	for name, def := range rt.Module(abi.WASIModule).ExportedFunctionDefinitions() {
		e.wasiNames[name] = true
		e.provided[abi.WASIModule+"."+name] = def
	}
	for name, def := range rt.Module(abi.ImportModule).ExportedFunctionDefinitions() {
		e.provided[abi.ImportModule+"."+name] = def
	}
	h.engines[key] = e
	return e, nil
}

// compile returns the compiled module for wasm, compiling it at most once per digest and
// memory limit while any Plugin uses it; release each with release.
func (h *Host) compile(ctx context.Context, e *engine, key compiledKey, wasm []byte) (wazero.CompiledModule, error) {
	return h.compiled.acquire(key, func() (m wazero.CompiledModule, err error) {
		err = h.tracked(key, "native", func() error { m, err = e.rt.CompileModule(ctx, wasm); return err })
		return m, err
	})
}

// release drops one reference to a compiled module and closes it with the last.
func (h *Host) release(key compiledKey) { h.compiled.release(key) }

// janitor trims idle instances above each plugin's Prewarm count.
func (h *Host) janitor(ctx context.Context) {
	defer close(h.janitorDone)
	t := time.NewTicker(max(h.cfg.IdleTimeout/2, time.Second))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, p := range h.livePlugins() {
				p.pool.TrimIdle(h.cfg.IdleTimeout)
			}
		}
	}
}

func (h *Host) livePlugins() []*Plugin {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := make([]*Plugin, 0, len(h.plugins))
	for p := range h.plugins {
		ps = append(ps, p)
	}
	return ps
}

// Close closes every plugin (waiting for calls in flight, see Plugin.Close), then the
// runtimes and the compilation cache. Effects still running when ctx ends are canceled —
// their guests stop at once, asleep or waiting in a host function too — and rolled
// back; other calls are waited for, each at most until its own deadline. If ctx ends
// first, Close returns its error and leaves the runtimes open for the calls still
// running; calling Close again finishes the job. Calls after Close fail with ErrClosed.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	var errs []error
	// Effects first: they finish (or are canceled and rolled back) while their plugins
	// still run, since a rollback may call a plugin's onex_compensate.
	errs = append(errs, h.closeServices(ctx))
	for _, p := range h.livePlugins() {
		errs = append(errs, p.Close(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	h.teardown.Do(func() {
		h.stopJanitor()
		<-h.janitorDone
		h.background.Wait() // each plugin's teardown has ended its background snapshot
		h.mu.Lock()
		engines := h.engines
		h.engines = map[engineKey]*engine{}
		h.mu.Unlock()
		for _, e := range engines {
			errs = append(errs, e.rt.Close(ctx))
		}
		h.watch.Close()
		h.cache.Close()
		errs = append(errs, h.compCache.Close(ctx))
	})
	return errors.Join(errs...)
}
