package host

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/onexhost/onex-host/host/internal/compcache"
)

// Defaults used by NewConfig, and for zero fields of Config and PluginConfig.
const (
	DefaultMemoryLimit    = 128 << 20        // bytes of linear memory per instance
	DefaultTimeout        = 30 * time.Second // per call (ONEX's timeout_ms default)
	DefaultMaxInputBytes  = 16 << 20
	DefaultMaxOutputBytes = 16 << 20
	DefaultPrewarm        = 1
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultCacheEntries   = 1000             // ONEX's max_size
	DefaultCacheBytes     = 64 << 20         // bytes of cached results
	DefaultCacheTTL       = 30 * time.Minute // ONEX's default TTL
	DefaultSlowThreshold  = 100 * time.Millisecond
	// DefaultStuckGrace is how long a call may run past its deadline before it counts as
	// stuck (Config.StuckGrace). A stopped call normally ends within a millisecond (a
	// metered guest at its next fuel check); ten seconds leave room for what a loaded
	// machine adds (collections, scheduling, swapping) so that no call that does stop is
	// reported, since a report quarantines the plugin.
	DefaultStuckGrace = 10 * time.Second
)

// DefaultMaxInstances is the default bound on live instances per plugin: two per CPU, at
// least 4. Guest calls are CPU-bound, so more rarely adds throughput; each standard-Go
// instance costs about 3 MiB.
func DefaultMaxInstances() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// DefaultCacheDirMaxBytes is the default Config.CacheDirMaxBytes: $ONEX_HOST_CACHE_MAX
// (bytes; negative: no limit) when set to an integer, else 512 MiB — room for about 25
// compiled standard-Go plugins (≈ 18 MB each) and thousands of small ones.
func DefaultCacheDirMaxBytes() int64 {
	if v, err := strconv.ParseInt(os.Getenv("ONEX_HOST_CACHE_MAX"), 10, 64); err == nil && v != 0 {
		return v
	}
	return compcache.DefaultMaxBytes
}

// DefaultCacheDir is the default on-disk compilation cache: $ONEX_HOST_CACHE_DIR when
// set, else onex-host/wazero under the user's cache directory, or "" (no disk cache)
// when the system has none.
func DefaultCacheDir() string {
	if dir := os.Getenv("ONEX_HOST_CACHE_DIR"); dir != "" {
		return dir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "onex-host", "wazero")
}

// DefaultDataDir is the default Config.DataDir: onex-host under $XDG_DATA_HOME, or
// ~/.local/share/onex-host; "" (in memory) when neither is known.
func DefaultDataDir() string {
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" {
		return filepath.Join(dir, "onex-host")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "share", "onex-host")
}

// Config is the host-wide configuration. Build it with NewConfig and the With methods;
// New validates it once. A zero numeric field means its default. Config is a value: safe
// to copy and to share.
type Config struct {
	// CacheDir is the on-disk compilation cache directory. Compiling a standard-Go plugin
	// takes ~0.5 s; a cache hit ~20 ms. "" disables the disk cache (compiled code then
	// lives only in memory, once per digest per process). NewConfig sets DefaultCacheDir.
	CacheDir string
	// CacheDirMaxBytes bounds CacheDir: after a compilation adds to it, the compiled
	// modules used least recently are deleted until it fits (see package
	// host/internal/compcache; `onex-host cache` lists and prunes it). Default
	// DefaultCacheDirMaxBytes() (512 MiB); negative: no limit.
	CacheDirMaxBytes int64
	// MemoryLimit bounds each instance's linear memory in bytes, rounded up to 64 KiB
	// pages; at most 4 GiB. Default DefaultMemoryLimit.
	MemoryLimit uint64
	// Timeout bounds every call: the guest is stopped from outside when it passes,
	// whether it runs, sleeps (WASI) or waits in a host function. Default
	// DefaultTimeout; negative means no host timeout (the caller's context and the
	// plugin's manifest still apply). It starts when the call has its instance: making
	// a new one (the guest's _initialize) is bounded by the caller's context and by the
	// larger of Timeout and DefaultTimeout, so that a short call budget does not fail
	// instance creation, and a runaway _initialize is still stopped.
	Timeout time.Duration
	// MaxInputBytes and MaxOutputBytes bound the data handed to and returned by a guest;
	// at most 1 GiB each. Default 16 MiB each.
	MaxInputBytes  int
	MaxOutputBytes int
	// MaxInstances bounds the live instances of each plugin; callers beyond it wait.
	// Default DefaultMaxInstances().
	MaxInstances int
	// Prewarm is how many instances each plugin creates at load and keeps when idle.
	// Default DefaultPrewarm; negative means none kept (one is still made at load, to
	// check the module links).
	Prewarm int
	// IdleTimeout is how long an idle instance above Prewarm is kept. Default
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	// CacheEntries and CacheBytes bound the host's compute cache, shared by every
	// plugin; CacheTTL is how long a result stays. Defaults DefaultCacheEntries,
	// DefaultCacheBytes, DefaultCacheTTL.
	CacheEntries int
	CacheBytes   int64
	CacheTTL     time.Duration
	// SlowThreshold is the processing time past which a compute operation is logged as
	// slow (a warning with the computation and operation id). The time spent getting an
	// instance (creating a cold one, or waiting for a free one) does not count. Default
	// DefaultSlowThreshold; negative disables the warning.
	SlowThreshold time.Duration
	// Logger receives host events and the plugins' logs and output. Default
	// slog.Default().
	Logger *slog.Logger
	// Execution is how plugins, native and Extism, are stopped: ExecutionMetered (the
	// default) rewrites each module at load so it checks its own fuel and deadline (for an
	// Extism plugin, its own module, not Extism's kernel); ExecutionGuarded runs it with
	// wazero's close-on-context-done. Modules that cannot be metered (the rewriter refuses
	// them, or an Extism module has a start function) run guarded whatever this says; the
	// load logs why.
	Execution Execution
	// DataDir holds what the host keeps on disk for effect nodes: the key-value store
	// (kv.db), opened the first time a node with the kv capability loads. NewConfig sets
	// DefaultDataDir; "" keeps the store in memory, gone when the host closes.
	DataDir string
	// KVPath overrides where the key-value store lives: a bbolt file, or ":memory:".
	// Default "": DataDir's kv.db.
	KVPath string
	// Breakers is the circuit-breaker policy of every service (ONEX's defaults when
	// zero); BreakerOverrides replaces it for a service ("http:api.example.com") or a
	// prefix ending in '*' ("http:*"): an exact name wins, then the longest prefix.
	Breakers         BreakerPolicy
	BreakerOverrides map[string]BreakerPolicy
	// SharedCache is a second compute-cache level shared with other hosts (see
	// SharedCache). Default nil: this host's cache only.
	SharedCache SharedCache
	// StuckGrace is how long a call may keep running after its deadline stopped it before
	// the host reports it stuck: a metered guest that never reaches a fuel check (a
	// rewriter bug) or a host function that blocks and ignores the call's context. The
	// host cannot end such a call; it logs it (once, at error level), records it
	// (Host.StuckCalls, which the server turns into metrics and an unready /readyz) and
	// quarantines its plugin (ErrQuarantined), so that a supervisor restarts the process.
	// Calls without a deadline (no timeout anywhere but the caller's context) are not
	// watched. Default DefaultStuckGrace; negative turns the check off.
	StuckGrace time.Duration
}

// NewConfig returns the default configuration.
func NewConfig() Config {
	return Config{
		CacheDir:         DefaultCacheDir(),
		CacheDirMaxBytes: DefaultCacheDirMaxBytes(),
		MemoryLimit:      DefaultMemoryLimit,
		Timeout:          DefaultTimeout,
		MaxInputBytes:    DefaultMaxInputBytes,
		MaxOutputBytes:   DefaultMaxOutputBytes,
		MaxInstances:     DefaultMaxInstances(),
		Prewarm:          DefaultPrewarm,
		IdleTimeout:      DefaultIdleTimeout,
		CacheEntries:     DefaultCacheEntries,
		CacheBytes:       DefaultCacheBytes,
		CacheTTL:         DefaultCacheTTL,
		SlowThreshold:    DefaultSlowThreshold,
		StuckGrace:       DefaultStuckGrace,
		DataDir:          DefaultDataDir(),
		Execution:        ExecutionMetered,
	}
}

// WithCacheDir returns a copy with CacheDir set ("" disables the disk cache).
func (c Config) WithCacheDir(dir string) Config { c.CacheDir = dir; return c }

// WithCacheDirMaxBytes returns a copy with CacheDirMaxBytes set (negative: no limit).
func (c Config) WithCacheDirMaxBytes(n int64) Config { c.CacheDirMaxBytes = n; return c }

// WithMemoryLimit returns a copy with MemoryLimit set, in bytes.
func (c Config) WithMemoryLimit(bytes uint64) Config { c.MemoryLimit = bytes; return c }

// WithTimeout returns a copy with Timeout set.
func (c Config) WithTimeout(d time.Duration) Config { c.Timeout = d; return c }

// WithMaxInputBytes returns a copy with MaxInputBytes set.
func (c Config) WithMaxInputBytes(n int) Config { c.MaxInputBytes = n; return c }

// WithMaxOutputBytes returns a copy with MaxOutputBytes set.
func (c Config) WithMaxOutputBytes(n int) Config { c.MaxOutputBytes = n; return c }

// WithMaxInstances returns a copy with MaxInstances set.
func (c Config) WithMaxInstances(n int) Config { c.MaxInstances = n; return c }

// WithPrewarm returns a copy with Prewarm set.
func (c Config) WithPrewarm(n int) Config { c.Prewarm = n; return c }

// WithIdleTimeout returns a copy with IdleTimeout set.
func (c Config) WithIdleTimeout(d time.Duration) Config { c.IdleTimeout = d; return c }

// WithCache returns a copy with the cache bounds and TTL set.
func (c Config) WithCache(entries int, bytes int64, ttl time.Duration) Config {
	c.CacheEntries, c.CacheBytes, c.CacheTTL = entries, bytes, ttl
	return c
}

// WithSlowThreshold returns a copy with SlowThreshold set.
func (c Config) WithSlowThreshold(d time.Duration) Config { c.SlowThreshold = d; return c }

// WithStuckGrace returns a copy with StuckGrace set (negative: no check).
func (c Config) WithStuckGrace(d time.Duration) Config { c.StuckGrace = d; return c }

// WithDataDir returns a copy with DataDir set ("" keeps the key-value store in memory).
func (c Config) WithDataDir(dir string) Config { c.DataDir = dir; return c }

// WithKVPath returns a copy with KVPath set.
func (c Config) WithKVPath(path string) Config { c.KVPath = path; return c }

// WithLogger returns a copy with Logger set.
func (c Config) WithLogger(l *slog.Logger) Config { c.Logger = l; return c }

// PluginConfig overrides the host's Config for one plugin. A zero field means the host's
// value; Timeout wins over the manifest's timeout_ms, which wins over Config.Timeout.
type PluginConfig struct {
	Timeout      time.Duration // negative: no timeout
	MemoryLimit  uint64
	MaxInstances int
	Prewarm      int // negative: none kept
	// CacheTTL is how long this plugin's results stay cached (the per-entry override of
	// Config.CacheTTL); negative: never cache this plugin's results.
	CacheTTL time.Duration
	// Flavour forces the plugin's ABI; empty (the default) detects it from the imports.
	Flavour Flavour
	// Grants is what the operator lets the plugin reach; the zero value grants nothing.
	Grants Grants
	// Config holds the operator's values for the config keys the manifest declares
	// (abi.ConfigKey), for every flavour; a key the manifest does not declare fails the
	// load with ErrInvalidConfig. An Extism plugin whose manifest declares no keys takes
	// any key (Extism's own config, merged over Extism.Config). See configvalues.go.
	Config map[string]string
	// Env looks up the environment variable abi.SecretEnvName(node, key) for each
	// declared secret key without a value in Config; nil: no lookup. The CLI sets
	// os.LookupEnv.
	Env func(name string) (string, bool)
	// Extism holds what only Extism plugins use.
	Extism ExtismConfig
	// Execution overrides Config.Execution for this plugin.
	Execution Execution
	// Fuel bounds each call of a metered plugin to about this many units of work (one
	// unit per Wasm instruction, counted per block; precise to within one refill of
	// FuelQuantum); a call that uses it up fails with ErrFuelExhausted. 0: no bound
	// beyond the deadline. Ignored for guarded plugins.
	Fuel uint64
	// Inspect loads an effect node only to describe it: its capabilities are neither
	// checked against Grants nor opened, so every capability call it makes is denied.
	Inspect bool
	// Isolation is how calls share instances: IsolationPooled (the default, "") reuses
	// an instance for call after call; IsolationFresh runs every call on a new instance,
	// dropped afterwards, so nothing a call leaves in guest memory reaches the next one.
	Isolation Isolation
	// Snapshot says whether a native plugin's instances start from a pre-initialized
	// snapshot of the module (host/internal/snapshot; PoolStats.FromSnapshot counts
	// them). SnapshotAuto (the default, "") takes one at load for IsolationFresh, where
	// every call creates an instance, and in the background for a pooled plugin that
	// declares no config keys once its pool makes a second instance (a prewarm past one,
	// growth under a burst, a replacement) — a snapshot's initialization cannot see config
	// values, so instances of a configured plugin would initialise unlike its first;
	// SnapshotOn takes one at load; SnapshotOff never does. Modules the
	// snapshot cannot capture faithfully run without one. An Extism plugin's module is
	// snapshotted at load only (IsolationFresh, SnapshotOn), when it is a WASI reactor
	// whose _initialize calls nothing of Extism's (host/internal/extism, PreInitialize).
	Snapshot Snapshot
	// SkipInputValidation turns off the check of each call's input against its
	// computation's input schema (the manifest's input_schema; for a reducer, of the
	// event data). Default false: an input the schema refuses fails with ErrInvalidInput
	// (Code CodeInvalidInput) before the guest runs. The schemas are compiled and
	// checked at load either way.
	SkipInputValidation bool
}

// Isolation is PluginConfig.Isolation.
type Isolation string

// The isolation modes.
const (
	IsolationPooled Isolation = "pooled"
	IsolationFresh  Isolation = "fresh"
)

// Snapshot is PluginConfig.Snapshot.
type Snapshot string

// The snapshot modes. A snapshot costs two more compilations of the module (hits in the
// compilation cache after the module's first load) and one run of its initialization,
// and makes every later instance creation several times cheaper (BENCHMARKS.md,
// "Snapshots and fresh isolation" and "Snapshots by default").
const (
	SnapshotAuto Snapshot = ""
	SnapshotOn   Snapshot = "on"
	SnapshotOff  Snapshot = "off"
)

// ExtismConfig configures an Extism plugin. The zero value is usable: the node comes from
// the sidecar (LoadFile) or DefaultExtismNode, and the size limits are Extism's defaults.
type ExtismConfig struct {
	// Node describes the plugin as an ONEX node; nil: the sidecar next to the file
	// (LoadFile only), else DefaultExtismNode.
	Node *ExtismNode
	// Config is the plugin's Extism configuration (what the PDKs' config_get reads); it
	// overrides the node's config defaults key by key.
	Config map[string]string
	// Output, when set, is the encoding of every computation's result (json, text or
	// base64), over the node's (sidecar's) choice: a JSON-returning function's result is
	// then JSON, not an escaped string, without a sidecar. A reducer's stays json.
	Output Encoding
	// MaxVarBytes bounds the plugin's Extism variables in total. Default 1 MiB; negative
	// disables variables.
	MaxVarBytes int64
	// MaxHTTPResponseBytes bounds each HTTP response body the plugin receives. Default 50
	// MiB; negative disables HTTP responses.
	MaxHTTPResponseBytes int64
}

// Extism's own defaults for its two byte limits. A ManifestMemory built in Go leaves them
// at 0, which Extism reads as "disabled", so the host always sets them.
const (
	DefaultExtismMaxVarBytes          = 1 << 20
	DefaultExtismMaxHTTPResponseBytes = 50 << 20
)

// limits is a plugin's resolved configuration.
type limits struct {
	timeout      time.Duration // 0: none
	memoryPages  uint32
	maxInput     int
	maxOutput    int
	maxInstances int
	prewarm      int
	cacheTTL     time.Duration // 0: the cache's default; negative: not cached
	execution    Execution
	fuel         uint64 // 0: no budget
	fresh        bool   // IsolationFresh
	snapshot     bool   // a native plugin's instances start from a snapshot taken at load
	// snapshotLater: a pooled native plugin's snapshot is taken in the background when
	// its pool makes a second instance (snapshot.go)
	snapshotLater bool
}

const pageSize = 64 << 10

// normalize fills zero fields with defaults and checks ranges; it is New's one
// validation.
func (c Config) normalize() (Config, error) {
	d := NewConfig()
	orDefault(&c.CacheDirMaxBytes, d.CacheDirMaxBytes)
	orDefault(&c.MemoryLimit, d.MemoryLimit)
	orDefault(&c.Timeout, d.Timeout)
	orDefault(&c.MaxInputBytes, d.MaxInputBytes)
	orDefault(&c.MaxOutputBytes, d.MaxOutputBytes)
	orDefault(&c.MaxInstances, d.MaxInstances)
	orDefault(&c.Prewarm, d.Prewarm)
	orDefault(&c.IdleTimeout, d.IdleTimeout)
	orDefault(&c.CacheEntries, d.CacheEntries)
	orDefault(&c.CacheBytes, d.CacheBytes)
	orDefault(&c.CacheTTL, d.CacheTTL)
	orDefault(&c.SlowThreshold, d.SlowThreshold)
	orDefault(&c.StuckGrace, d.StuckGrace)
	orDefault(&c.Execution, d.Execution)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	switch {
	case c.MemoryLimit > 1<<32:
		return c, fmt.Errorf("host: config: memory limit %d exceeds 4 GiB", c.MemoryLimit)
	case c.MaxInputBytes < 0 || c.MaxOutputBytes < 0 || c.MaxInputBytes > 1<<30 || c.MaxOutputBytes > 1<<30:
		return c, fmt.Errorf("host: config: input and output limits must be between 1 byte and 1 GiB")
	case c.MaxInstances < 0:
		return c, fmt.Errorf("host: config: max instances %d must be positive", c.MaxInstances)
	case c.IdleTimeout < 0:
		return c, fmt.Errorf("host: config: idle timeout %v must be positive", c.IdleTimeout)
	case c.CacheEntries < 0 || c.CacheBytes < 0 || c.CacheTTL < 0:
		return c, fmt.Errorf("host: config: cache entries, bytes and TTL must be positive")
	}
	return c, nil
}

// resolve merges a plugin's overrides, its manifest timeout and the host config.
func (c Config) resolve(p PluginConfig, manifestTimeout time.Duration) (limits, error) {
	l := limits{
		timeout:      c.Timeout,
		maxInput:     c.MaxInputBytes,
		maxOutput:    c.MaxOutputBytes,
		maxInstances: c.MaxInstances,
		prewarm:      c.Prewarm,
		cacheTTL:     p.CacheTTL,
		execution:    cmpOr(p.Execution, c.Execution),
		fuel:         p.Fuel,
	}
	if l.execution != ExecutionMetered && l.execution != ExecutionGuarded {
		return l, fmt.Errorf("host: plugin config: execution %q is not %q or %q", l.execution, ExecutionMetered, ExecutionGuarded)
	}
	if manifestTimeout > 0 {
		l.timeout = manifestTimeout
	}
	if p.Timeout != 0 {
		l.timeout = p.Timeout
	}
	if l.timeout < 0 {
		l.timeout = 0
	}
	mem := c.MemoryLimit
	if p.MemoryLimit != 0 {
		mem = p.MemoryLimit
	}
	if mem > 1<<32 {
		return l, fmt.Errorf("host: plugin config: memory limit %d exceeds 4 GiB", mem)
	}
	l.memoryPages = uint32((mem + pageSize - 1) / pageSize)
	if p.MaxInstances < 0 {
		return l, fmt.Errorf("host: plugin config: max instances %d must be positive", p.MaxInstances)
	}
	if p.MaxInstances != 0 {
		l.maxInstances = p.MaxInstances
	}
	if p.Prewarm != 0 {
		l.prewarm = p.Prewarm
	}
	l.prewarm = min(max(l.prewarm, 0), l.maxInstances)
	switch p.Isolation {
	case "", IsolationPooled:
	case IsolationFresh:
		l.fresh = true
	default:
		return l, fmt.Errorf("host: plugin config: isolation %q is not %q or %q", p.Isolation, IsolationPooled, IsolationFresh)
	}
	switch p.Snapshot {
	case SnapshotAuto:
		l.snapshot, l.snapshotLater = l.fresh, !l.fresh
	case SnapshotOn:
		l.snapshot = true
	case SnapshotOff:
	default:
		return l, fmt.Errorf("host: plugin config: snapshot %q is not %q or %q", p.Snapshot, SnapshotOn, SnapshotOff)
	}
	return l, nil
}

// orDefault sets *v to d when *v is the zero value.
func orDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// cmpOr returns the first non-zero value.
func cmpOr[T comparable](vals ...T) T {
	var zero T
	for _, v := range vals {
		if v != zero {
			return v
		}
	}
	return zero
}
