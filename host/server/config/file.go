package config

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/tracing"
)

// Defaults of the server's own settings. The host-wide and per-node settings default to
// the values of packages host and host/effect (host.NewConfig, effect.Config,
// effect.RetryPolicy).
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultLogLevel        = "info"
	DefaultLogFormat       = "text"
	DefaultMaxRequestBytes = 16 << 20
	DefaultReadTimeout     = 30 * time.Second
	DefaultWriteTimeout    = 60 * time.Second
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultNodesDir is the one node entry of Default: every *.wasm file in it.
	DefaultNodesDir = "bin/plugins"
)

// maxFileSize bounds a configuration file; a real one is a few KiB.
const maxFileSize = 1 << 20

// File is the onex.yaml configuration of onex-host serve; example.onex.yaml in this
// package documents every field. Parse and Load fill in the defaults of the server's own
// settings (Listen, DataDir, CacheDir, Log, Limits), so those fields hold what the server
// will use; in Host and Nodes a zero field means the host package's default.
//
// Relative paths (data_dir, cache_dir, token files, node paths and directories, path
// grants, Extism sidecars) are relative to the directory of the file Load read, or to
// the current directory for Parse and Default; the conversion methods resolve them.
//
// A File is a plain value: its methods only read it (and the files and environment it
// names), so they are safe for concurrent use by multiple goroutines as long as nobody
// modifies the File meanwhile.
type File struct {
	// Listen is the HTTP API's address, host:port. Default DefaultListen. Without
	// auth.tokens it must be a loopback address.
	Listen string `yaml:"listen"`
	// AdminListen is the admin listener's address (pprof). "" (the default) turns it
	// off; when set it must be a loopback address, other than Listen.
	AdminListen string `yaml:"admin_listen"`
	// DataDir is host.Config.DataDir. Absent: host.DefaultDataDir(); "" keeps the
	// key-value store in memory.
	DataDir string `yaml:"data_dir"`
	// CacheDir is host.Config.CacheDir, the compilation cache. Absent:
	// host.DefaultCacheDir(); "" disables the disk cache.
	CacheDir string       `yaml:"cache_dir"`
	Log      Log          `yaml:"log"`
	Auth     Auth         `yaml:"auth"`
	Limits   Limits       `yaml:"limits"`
	Host     HostSettings `yaml:"host"`
	NATS     NATS         `yaml:"nats"`
	// Tracing is the OpenTelemetry trace export; the zero value (the default) is off.
	// The standard OTEL_* environment variables override it (tracing.NewProvider).
	Tracing tracing.Config `yaml:"tracing"`
	// NodeEntries (nodes in the file) are the plugins to serve; the Nodes method expands
	// them. Default's is one entry, dir: DefaultNodesDir; a file without nodes serves
	// none.
	NodeEntries []NodeEntry `yaml:"nodes"`
	// TrustedKeys are ed25519 public key files (PEM): when set, every node must be
	// signed by one of them, unless its own trusted_keys says otherwise (oci.go).
	TrustedKeys []string `yaml:"trusted_keys"`
	// Registry says how to reach the registries of oci:// nodes (oci.go).
	Registry RegistrySettings `yaml:"registry"`

	dir string // what relative paths are relative to; "": the current directory
}

// Log is the server's logging.
type Log struct {
	// Level is debug, info, warn or error. Default DefaultLogLevel.
	Level string `yaml:"level"`
	// Format is text or json. Default DefaultLogFormat.
	Format string `yaml:"format"`
}

// Auth is the API's authentication: bearer tokens, each with a role.
type Auth struct {
	// Tokens are the accepted tokens. None (the default) disables authentication, which
	// is allowed only on a loopback Listen address.
	Tokens []TokenSource `yaml:"tokens"`
}

// Token roles.
const (
	RoleInvoke = "invoke" // may call nodes
	RoleAdmin  = "admin"  // may call nodes and operate the host
)

// TokenSource says where one token's value comes from: an environment variable or a
// file, exactly one of them. Values are never written in the configuration file.
type TokenSource struct {
	// Name identifies the token in logs: lowercase letters, digits, '.', '_', '-'.
	Name string `yaml:"name"`
	// Role is RoleInvoke or RoleAdmin.
	Role string `yaml:"role"`
	// Env is the environment variable holding the value.
	Env string `yaml:"env"`
	// File is the file holding the value; surrounding white space is trimmed.
	File string `yaml:"file"`
}

// Limits bounds the HTTP server. A zero field means its default; none may be negative.
type Limits struct {
	// MaxRequestBytes bounds a request body, at most 1GiB. Default
	// DefaultMaxRequestBytes.
	MaxRequestBytes Size `yaml:"max_request_bytes"`
	// ReadTimeout bounds reading a request. Default DefaultReadTimeout.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing a response, from the end of the request's headers.
	// Default DefaultWriteTimeout.
	WriteTimeout Duration `yaml:"write_timeout"`
	// ShutdownTimeout bounds a graceful shutdown: requests and effects in flight get this
	// long. Default DefaultShutdownTimeout.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`
}

// HostSettings are the host-wide defaults (host.Config). A zero field means the host's
// default.
type HostSettings struct {
	// MemoryLimit bounds each instance's memory, at most 4GiB. Default
	// host.DefaultMemoryLimit.
	MemoryLimit Size `yaml:"memory_limit"`
	// MaxInputBytes bounds the input data handed to a call, at most 1GiB. Default
	// host.DefaultMaxInputBytes. Raise limits.max_request_bytes along with it.
	MaxInputBytes Size `yaml:"max_input_bytes"`
	// Timeout bounds each call. Default host.DefaultTimeout; negative: none.
	Timeout Duration `yaml:"timeout"`
	// MaxInstances bounds each plugin's live instances. Default
	// host.DefaultMaxInstances(); not negative.
	MaxInstances int `yaml:"max_instances"`
	// Prewarm is how many instances each plugin keeps ready. Default
	// host.DefaultPrewarm; negative: none kept.
	Prewarm int `yaml:"prewarm"`
	// SlowThreshold is host.Config.SlowThreshold: a computation running longer (not
	// counting getting an instance) is logged as slow. Absent (nil):
	// host.DefaultSlowThreshold; 0 or negative: never.
	SlowThreshold *Duration       `yaml:"slow_threshold"`
	Cache         CacheSettings   `yaml:"cache"`
	Breakers      BreakerSettings `yaml:"breakers"`
}

// CacheSettings bound the host's compute cache. A zero field means its default; none
// may be negative.
type CacheSettings struct {
	// Entries is host.Config.CacheEntries. Default host.DefaultCacheEntries.
	Entries int `yaml:"entries"`
	// Bytes is host.Config.CacheBytes. Default host.DefaultCacheBytes.
	Bytes Size `yaml:"bytes"`
	// TTL is host.Config.CacheTTL. Default host.DefaultCacheTTL.
	TTL Duration `yaml:"ttl"`
}

// Breaker presets, the values of BreakerSettings.Preset.
const (
	presetDefault   = "default"
	presetFastFail  = "fast-fail"
	presetResilient = "resilient"
)

// BreakerSettings are the circuit-breaker policy of every service (host.Config.Breakers):
// the preset, then each non-zero field over it.
type BreakerSettings struct {
	// Preset is default (ONEX's defaults; also when empty), fast-fail
	// (host.FastFailBreakers) or resilient (host.ResilientBreakers).
	Preset string `yaml:"preset"`
	// The fields below are host.BreakerPolicy's; zero keeps the preset's value, and none
	// may be negative.
	MinRequests          int      `yaml:"min_requests"`
	FailureThreshold     int      `yaml:"failure_threshold"`
	FailureRateThreshold float64  `yaml:"failure_rate_threshold"` // in (0, 1]
	Window               Duration `yaml:"window"`
	OpenTimeout          Duration `yaml:"open_timeout"`
	HalfOpenMaxRequests  int      `yaml:"half_open_max_requests"` // at most 65536
	SuccessThreshold     int      `yaml:"success_threshold"`      // at most 65536
	// Disabled turns every breaker off.
	Disabled bool `yaml:"disabled"`
}

// NodeEntry is one entry of nodes: a plugin file (Path) or a directory whose *.wasm
// files are each a node (Dir), exactly one of them, with the settings of its node(s). A
// zero setting means the host's value.
type NodeEntry struct {
	Path string `yaml:"path"` // a plugin file
	Dir  string `yaml:"dir"`  // a directory scanned for *.wasm, not recursively
	// FSM is an ONEX FSM contract (YAML) served as a reducer node without a plugin
	// (server.NodeSpec.FSM); instead of path and dir.
	FSM string `yaml:"fsm"`
	// Workflow is an ONEX workflow contract (YAML, package host/orchestrator/workflow)
	// the workflow engine runs under the contract's name; instead of path, dir and fsm.
	// Like an FSM, it needs no plugin; unlike one, it is no node of its own: its steps
	// name the nodes they run on.
	Workflow string `yaml:"workflow"`
	// Name is the name the node is served under instead of its manifest's (Node.Name).
	// Path entries only; lowercase letters, digits, '.', '_', '-'.
	Name string `yaml:"name"`
	// Timeout is PluginConfig.Timeout; negative: none.
	Timeout Duration `yaml:"timeout"`
	// MemoryLimit is PluginConfig.MemoryLimit, at most 4GiB.
	MemoryLimit Size `yaml:"memory_limit"`
	// MaxInstances is PluginConfig.MaxInstances; not negative.
	MaxInstances int `yaml:"max_instances"`
	// Prewarm is PluginConfig.Prewarm; negative: none kept.
	Prewarm int `yaml:"prewarm"`
	// CacheTTL is PluginConfig.CacheTTL; negative (-1): never cache these results.
	CacheTTL Duration `yaml:"cache_ttl"`
	// Execution is PluginConfig.Execution: metered (the default) or guarded.
	Execution string `yaml:"execution"`
	// Fuel is PluginConfig.Fuel: each call's budget of metered work; 0 (default): none.
	Fuel uint64 `yaml:"fuel"`
	// Isolation is PluginConfig.Isolation: pooled (the default) or fresh, a new instance
	// for every call.
	Isolation string `yaml:"isolation"`
	// Snapshot is PluginConfig.Snapshot: on, off, or empty (the default: at load with
	// fresh, in the background for a pooled plugin whose pool makes a second instance).
	Snapshot string `yaml:"snapshot"`
	// ValidateInput, when false, turns off the check of each call's input against the
	// computation's input schema (PluginConfig.SkipInputValidation). Default true.
	ValidateInput *bool `yaml:"validate_input"`
	// Concurrency is effect.Config.Concurrency (effect nodes): 1 runs effects one at a
	// time; 0 (the default) bounds them only by the instance pool. Not negative.
	Concurrency int `yaml:"concurrency"`
	// EffectTimeout is effect.Config.Timeout, for a whole effect. Default
	// effect.DefaultTimeout; negative: none.
	EffectTimeout Duration       `yaml:"effect_timeout"`
	Retry         RetrySettings  `yaml:"retry"`
	Grants        GrantSettings  `yaml:"grants"`
	Extism        ExtismSettings `yaml:"extism"`
	// Config holds the values of the config keys the node's manifest declares (every
	// flavour): KEY: VALUE, or KEY: {from_env: VARIABLE} (ConfigValue). Secret keys
	// without a value here come from $ONEX_SECRET_<NODE>_<KEY> (abi.SecretEnvName).
	Config map[string]ConfigValue `yaml:"config"`
	// Digest pins the module: sha256:<hex>, as inspect shows it (oci.go).
	Digest string `yaml:"digest"`
	// TrustedKeys replace the file's trusted_keys for this node (oci.go).
	TrustedKeys []string `yaml:"trusted_keys"`
}

// RetrySettings are an effect node's effect.RetryPolicy. A zero field means its default.
type RetrySettings struct {
	// MaxRetries defaults to effect.DefaultMaxRetries; negative: never retry.
	MaxRetries int `yaml:"max_retries"`
	// BaseDelay defaults to effect.DefaultRetryDelay; not negative.
	BaseDelay Duration `yaml:"base_delay"`
	// MaxDelay defaults to effect.DefaultMaxDelay; not negative.
	MaxDelay Duration `yaml:"max_delay"`
	// Jitter defaults to effect.DefaultJitter; at most 1; negative: none.
	Jitter float64 `yaml:"jitter"`
	// RetryBreakerOpen retries attempts an open breaker refused.
	RetryBreakerOpen bool `yaml:"retry_breaker_open"`
}

// GrantSettings are a node's host.Grants. The zero value grants nothing.
type GrantSettings struct {
	// Paths are existing directories, each DIR (read-write) or DIR:ro.
	Paths []string `yaml:"paths"`
	// Hosts are host name globs: api.example.com, *.example.com.
	Hosts  []string `yaml:"hosts"`
	KV     bool     `yaml:"kv"`
	Events bool     `yaml:"events"`
}

// ExtismSettings are what only Extism plugins use (host.ExtismConfig).
type ExtismSettings struct {
	// Config is the plugin's Extism config; it wins over the sidecar's defaults.
	Config map[string]string `yaml:"config"`
	// Node is a sidecar file describing the node (host.ReadExtismNode), instead of the
	// one next to the module. Path entries only.
	Node string `yaml:"node"`
}

// Default returns what onex-host serve uses without a configuration file: the API on
// DefaultListen without authentication, the host's default directories, info logs as
// text, the default limits, and one node entry, dir: DefaultNodesDir.
func Default() *File {
	return &File{
		Listen:   DefaultListen,
		DataDir:  host.DefaultDataDir(),
		CacheDir: host.DefaultCacheDir(),
		Log:      Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
		Limits: Limits{
			MaxRequestBytes: DefaultMaxRequestBytes,
			ReadTimeout:     Duration(DefaultReadTimeout),
			WriteTimeout:    Duration(DefaultWriteTimeout),
			ShutdownTimeout: Duration(DefaultShutdownTimeout),
		},
		NodeEntries: []NodeEntry{{Dir: DefaultNodesDir}},
	}
}

// Load reads, decodes and validates the configuration file at path; relative paths in
// it are relative to its directory. Errors name the file; an invalid field is a
// *FieldError (errors.As), a missing file matches fs.ErrNotExist.
func Load(path string) (*File, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	fd, err := os.Open(abs)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer fd.Close()
	b, err := io.ReadAll(io.LimitReader(fd, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return nil, fmt.Errorf("config: %s: larger than %d bytes", path, maxFileSize)
	}
	f, err := parse(b, filepath.Dir(abs))
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and validates a configuration file's content; relative paths in it are
// relative to the current directory. An empty document is Default without its node
// entry. Fields the File does not have are errors, so a typo is not silently ignored.
//
// The error is the first problem found, not a list: a *FieldError (errors.As) naming
// the field's path, such as nodes[2].grants.paths[0], or a YAML syntax error.
func Parse(b []byte) (*File, error) {
	f, err := parse(b, "")
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return f, nil
}

// parse is Parse with relative paths relative to dir. Its errors lack the "config: "
// prefix.
func parse(b []byte, dir string) (*File, error) {
	f := Default()
	f.NodeEntries = nil
	if err := decode(b, f); err != nil {
		return nil, err
	}
	f.dir = dir
	f.fillDefaults()
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// fillDefaults sets the server's own settings left empty to their defaults.
func (f *File) fillDefaults() {
	d := Default()
	if f.Listen == "" {
		f.Listen = d.Listen
	}
	if f.Log.Level == "" {
		f.Log.Level = d.Log.Level
	}
	if f.Log.Format == "" {
		f.Log.Format = d.Log.Format
	}
	if f.Limits.MaxRequestBytes == 0 {
		f.Limits.MaxRequestBytes = d.Limits.MaxRequestBytes
	}
	if f.Limits.ReadTimeout == 0 {
		f.Limits.ReadTimeout = d.Limits.ReadTimeout
	}
	if f.Limits.WriteTimeout == 0 {
		f.Limits.WriteTimeout = d.Limits.WriteTimeout
	}
	if f.Limits.ShutdownTimeout == 0 {
		f.Limits.ShutdownTimeout = d.Limits.ShutdownTimeout
	}
}

// path resolves a path written in the file.
func (f *File) path(p string) string {
	if p == "" || f.dir == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(f.dir, p)
}
