package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/host/effect"
)

// hostFlags are the flags of every command that loads a plugin.
type hostFlags struct {
	timeout     time.Duration
	memoryLimit string
	maxInput    string
	cacheDir    string
	allowPaths  []string
	allowHosts  []string
	config      []string
	nodePath    string
	exports     []string
	output      string // --output-encoding
	kvPath      string
	events      bool
	fuel        uint64
	guarded     bool
	fresh       bool // --fresh: host.IsolationFresh
	noValidate  bool // --no-validate-input: host.PluginConfig.SkipInputValidation
	dataDir     string
	slow        time.Duration
	// node, when set by a command, replaces the Extism node the flags describe.
	node *host.ExtismNode
	cmd  *cobra.Command // set by register
	// inspect loads effect nodes without their capabilities (see host.PluginConfig.Inspect).
	inspect bool
	oci     ociFlags // --digest, --trusted-key, --insecure-registry (oci.go)
}

func (f *hostFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	fs := cmd.Flags()
	fs.DurationVar(&f.timeout, "timeout", 0, "per-call timeout, e.g. 300ms (default: the manifest's timeout_ms, else 30s)")
	fs.StringVar(&f.memoryLimit, "memory-limit", "128MiB", "linear memory limit per instance, e.g. 64MiB")
	fs.StringVar(&f.maxInput, "max-input", "16MiB", "largest input data handed to a call, at most 1GiB, e.g. 64MiB")
	fs.StringVar(&f.cacheDir, "cache-dir", host.DefaultCacheDir(), "compilation cache directory (\"\" disables it)")
	fs.StringArrayVar(&f.allowPaths, "allow-path", nil, "grant a directory: DIR, or HOST:GUEST for an Extism plugin to see HOST at GUEST; read-only with :ro (repeatable)")
	fs.StringArrayVar(&f.allowHosts, "allow-host", nil, "grant HTTP requests to hosts matching a glob, any port, e.g. '*.example.com', or one port: '127.0.0.1:8080' (repeatable)")
	fs.StringVar(&f.dataDir, "data-dir", host.DefaultDataDir(), "where effects keep their journal (and the kv store, unless --kv says otherwise); \"\": nowhere, no crash recovery")
	fs.Uint64Var(&f.fuel, "fuel", 0, "a budget of metered work per call (about one unit per Wasm instruction); 0: none")
	fs.DurationVar(&f.slow, "slow-threshold", host.DefaultSlowThreshold, "warn of a computation running longer than this (getting an instance not counted); 0: never")
	fs.BoolVar(&f.guarded, "guarded", false, "run the plugin guarded (close-on-context-done) instead of metered")
	fs.BoolVar(&f.noValidate, "no-validate-input", false, "pass inputs to the plugin without checking them against the computation's input_schema")
	fs.BoolVar(&f.fresh, "fresh", false, "run every call on a new instance from a snapshot, dropped afterwards (isolation: fresh)")
	fs.StringVar(&f.kvPath, "kv", "", "grant the key-value store, kept in this bbolt file (\":memory:\" for none)")
	fs.BoolVar(&f.events, "events", false, "grant publishing events; each committed event is printed to stderr")
	fs.StringArrayVar(&f.config, "config", nil, "a config value KEY=VALUE for a key the manifest declares (repeatable); secrets also come from $"+abi.SecretEnvPrefix+"<NODE>_<KEY>")
	fs.StringVar(&f.nodePath, "node", "", "Extism plugins: node description (YAML) instead of the <name>"+host.SidecarSuffix+" sidecar")
	fs.StringVar(&f.output, "output-encoding", "", "Extism plugins: every computation's result encoding, json, text or base64 (default: the sidecar's, else text)")
	fs.StringArrayVar(&f.exports, "export", nil, "Extism plugins: an exported function to offer as a computation (repeatable; default: all)")
	f.oci.register(fs)
}

// pluginConfig builds the plugin's configuration from the flags; every error is misuse.
func (f *hostFlags) pluginConfig(path string) (host.PluginConfig, error) {
	pc := host.PluginConfig{Timeout: f.timeout, Inspect: f.inspect, Fuel: f.fuel, SkipInputValidation: f.noValidate}
	if f.guarded {
		pc.Execution = host.ExecutionGuarded
	}
	if f.fresh {
		pc.Isolation = host.IsolationFresh
	}
	for _, s := range f.allowPaths {
		g, err := host.ParsePathGrant(s)
		if err != nil {
			return pc, fmt.Errorf("--allow-path: %w", err)
		}
		pc.Grants.Paths = append(pc.Grants.Paths, g)
	}
	pc.Grants.Hosts = f.allowHosts
	pc.Grants.KV = f.kvPath != ""
	pc.Grants.Events = f.events
	pc.Env = os.LookupEnv
	for _, kv := range f.config {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			// Not the argument: without '=' it may be a secret itself.
			return pc, errors.New("--config: want KEY=VALUE, got an argument without '=' or without a key")
		}
		if pc.Config == nil {
			pc.Config = map[string]string{}
		}
		pc.Config[k] = v
	}
	node := f.node
	if node == nil && (f.nodePath != "" || len(f.exports) > 0) {
		src := f.nodePath
		if src == "" {
			src = host.SidecarPath(path)
		}
		n, err := host.ReadExtismNode(src)
		if err != nil {
			return pc, fmt.Errorf("--node: %w", err)
		}
		if n == nil && f.nodePath != "" {
			return pc, fmt.Errorf("--node %s: no such file", f.nodePath)
		}
		if n == nil {
			n = &host.ExtismNode{}
		}
		if len(f.exports) > 0 {
			n.Computations = nil
			for _, e := range f.exports {
				n.Computations = append(n.Computations, host.ExtismComputation{Export: e})
			}
		}
		node = n
	}
	pc.Extism.Node = node
	pc.Extism.Output = host.Encoding(f.output)
	return pc, nil
}

// extismOnly reports the Extism-only flags set for a native plugin.
func (f *hostFlags) extismOnly(cmd *cobra.Command) error {
	for _, name := range []string{"node", "export", "output-encoding"} {
		if cmd.Flags().Changed(name) {
			return fmt.Errorf("--%s applies to Extism plugins only; this is a native plugin", name)
		}
	}
	return nil
}

// load starts a host and loads the plugin at path, with at most maxInstances live
// instances (0: the host's default, host.DefaultMaxInstances). The caller closes the host.
func (f *hostFlags) load(ctx context.Context, e *env, path string, maxInstances int) (*host.Host, *host.Plugin, error) {
	mem, err := parseSize(f.memoryLimit)
	if err != nil {
		return nil, nil, fmt.Errorf("--memory-limit: %w", err)
	}
	if f.timeout < 0 {
		return nil, nil, fmt.Errorf("--timeout %v: must not be negative", f.timeout)
	}
	maxInput, err := f.inputLimit()
	if err != nil {
		return nil, nil, err
	}
	logger, err := e.logger()
	if err != nil {
		return nil, nil, err
	}
	cfg := host.NewConfig().
		WithDataDir(f.dataDir).
		WithKVPath(f.kvPath).
		WithCacheDir(f.cacheDir).
		WithMemoryLimit(mem).
		WithMaxInputBytes(maxInput).
		WithMaxInstances(maxInstances).
		WithSlowThreshold(slowThreshold(f.slow)).
		WithLogger(logger)
	path, digest, err := f.oci.resolve(ctx, f.dataDir, path)
	if err != nil {
		return nil, nil, err
	}
	h, err := host.New(ctx, cfg)
	if err != nil {
		return nil, nil, failure{err}
	}
	var manifest *host.ExtismManifest
	if host.IsExtismManifest(path) {
		if manifest, err = host.ReadExtismManifest(path); err == nil {
			path, err = manifest.WasmPath()
		}
		if err != nil {
			_ = h.Close(ctx)
			return nil, nil, err
		}
	}
	pc, err := f.pluginConfig(path)
	if err != nil {
		_ = h.Close(ctx)
		return nil, nil, err
	}
	if manifest != nil {
		if f.cmd != nil && f.cmd.Flags().Changed("memory-limit") {
			pc.MemoryLimit = mem // the flag wins over memory.max_pages
		}
		pc = manifest.Apply(pc)
	}
	p, err := h.LoadFile(ctx, path, pc)
	if err != nil {
		_ = h.Close(ctx)
		if _, ok := errors.AsType[*fs.PathError](err); ok {
			return nil, nil, err // the file argument is wrong: misuse
		}
		return nil, nil, failure{err}
	}
	if err := checkLoaded(p, digest); err != nil {
		_ = h.Close(ctx)
		return nil, nil, err
	}
	if p.Flavour() == host.FlavourNative && f.cmd != nil {
		if err := f.extismOnly(f.cmd); err != nil {
			_ = h.Close(ctx)
			return nil, nil, err
		}
	}
	return h, p, nil
}

// inputLimit returns --max-input in bytes (default host.DefaultMaxInputBytes); an error
// is misuse.
func (f *hostFlags) inputLimit() (int, error) {
	if f.maxInput == "" {
		return host.DefaultMaxInputBytes, nil
	}
	n, err := parseSize(f.maxInput)
	if err != nil || n > 1<<30 {
		return 0, fmt.Errorf("--max-input %q: want a positive size up to 1GiB, e.g. 64MiB", f.maxInput)
	}
	return int(n), nil
}

// loadNode is load for the commands that run computations: the plugin as a compute.Node.
func (f *hostFlags) loadNode(ctx context.Context, e *env, path string, maxInstances int) (*host.Host, *compute.Node, error) {
	h, p, err := f.load(ctx, e, path, maxInstances)
	if err != nil {
		return nil, nil, err
	}
	node, err := compute.New(p)
	if err != nil {
		_ = h.Close(ctx)
		return nil, nil, failure{err}
	}
	return h, node, nil
}

func newRunCmd(e *env) *cobra.Command {
	var (
		hf          hostFlags
		computation string
		data        string
		inputPath   string
		noCache     bool
		maxRetries  int
		shutdown    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run {<plugin.wasm> | <extism-manifest.json>} [--type <computation|effect>] [--data <json> | --input {<file> | -}] [--no-cache] [grants]",
		Short: "Run one computation or effect and print its output as JSON",
		Long: "Run one computation of a compute node and print ONEX's ComputeOutput as JSON, or one\n" +
			"effect of an effect node and print its EffectOutput (also when it fails, with what the\n" +
			"rollback did).\n\n" +
			"--data gives the input data as JSON; --input reads a whole ComputeInput (or EffectInput)\n" +
			"JSON object from a file, or from stdin with '-'; it must name its computation_type\n" +
			"(effect_type) and hold no other fields than the envelope's. With neither, piped stdin\n" +
			"(not a terminal) is the input data (empty stdin is null); from a terminal the data is\n" +
			"null. Data must be valid UTF-8 JSON of at most --max-input bytes. An effect node reaches only what the\n" +
			"grants allow: --allow-path DIR[:ro], --allow-host PATTERN, --kv FILE, --events.\n" +
			"An Extism manifest (.json: wasm path, allowed_hosts, allowed_paths HOST→GUEST, config,\n" +
			"memory.max_pages, timeout_ms) may stand for the module; flags add to it and win.\n\n" +
			"Ctrl-C or SIGTERM cancels the call (an effect rolls back) and run exits when it ends;\n" +
			"a call still running --shutdown-timeout later (it ignores its cancellation), or a\n" +
			"second signal, makes run exit at once with status 1, an interrupted effect being\n" +
			"rolled back from the journal by the next run.\n" +
			"Exit status: 0 ok, 1 the plugin failed, 2 misuse.",
		Example: "  onex-host run bin/plugins/core.wasm --type sum_numbers --data '[1,2,3,4,5]'\n" +
			"  echo '[1,2]' | onex-host run bin/plugins/core.wasm --type sum_numbers\n" +
			"  echo '{\"computation_type\":\"sha256\",\"data\":\"abc\"}' | onex-host run bin/plugins/core.wasm --input -\n" +
			"  onex-host run bin/plugins/fileops.wasm --allow-path /tmp/demo --type write --data '{\"path\":\"/tmp/demo/a.txt\",\"content\":\"hi\"}'",
		Args: exactArgs("<plugin.wasm>", 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if shutdown <= 0 {
				return fmt.Errorf("--shutdown-timeout %v: must be positive", shutdown)
			}
			e.setShutdownTimeout(shutdown)
			ctx := cmd.Context()
			h, p, err := hf.load(ctx, e, args[0], 1)
			if err != nil {
				return err
			}
			defer h.Close(context.Background())
			if p.Manifest().Kind == abi.KindEffect {
				in, err := buildEffectInput(e, cmd, &hf, computation, data, inputPath)
				if err != nil {
					return err
				}
				if cmd.Flags().Changed("max-retries") {
					in.MaxRetries = &maxRetries
				}
				return runEffect(ctx, e, h, p, in, hf.events)
			}
			in, err := buildInput(e, cmd, &hf, computation, data, inputPath)
			if err != nil {
				return err
			}
			in.NoCache = in.NoCache || noCache
			if err := typeHint(p, cmd, in.Computation()); err != nil {
				return err
			}
			node, err := compute.New(p)
			if err != nil {
				return failure{err}
			}
			out, err := node.Process(ctx, in)
			if err != nil {
				return failure{err}
			}
			return printJSON(e, out)
		},
	}
	hf.register(cmd)
	cmd.Flags().StringVarP(&computation, "type", "t", abi.DefaultComputation, "computation (or effect) to run")
	cmd.Flags().StringVarP(&data, "data", "d", "null", "input data as JSON (default: piped stdin, else null)")
	cmd.Flags().StringVarP(&inputPath, "input", "i", "", "read a ComputeInput (EffectInput) JSON object from a file, or stdin with -")
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "bypass the compute cache (sets the input's cache_enabled to false)")
	cmd.Flags().IntVar(&maxRetries, "max-retries", effect.DefaultMaxRetries, "effects: how many times a retryable failure is tried again")
	cmd.Flags().DurationVar(&shutdown, "shutdown-timeout", defaultShutdownTimeout, "after Ctrl-C or SIGTERM, how long the canceled call may take to end before run exits anyway")
	cmd.MarkFlagsMutuallyExclusive("data", "input")
	return cmd
}

// printJSON writes v indented, without escaping HTML characters.
func printJSON(e *env, v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// buildInput assembles the ComputeInput from the flags; every error is misuse.
func buildInput(e *env, cmd *cobra.Command, hf *hostFlags, computation, data, inputPath string) (abi.ComputeInput, error) {
	limit, err := hf.inputLimit()
	if err != nil {
		return abi.ComputeInput{}, err
	}
	if inputPath == "" {
		b, what, err := runData(e, cmd, data, limit)
		if err != nil {
			return abi.ComputeInput{}, err
		}
		if err := abi.CheckData(b); err != nil {
			return abi.ComputeInput{}, fmt.Errorf("%s: %w (quote strings: --data '\"abc\"')", what, err)
		}
		return abi.ComputeInput{ComputationType: computation, Data: json.RawMessage(b)}, nil
	}
	b, err := readEnvelope(e, inputPath, limit)
	if err != nil {
		return abi.ComputeInput{}, err
	}
	in, err := abi.DecodeComputeInput(b)
	if err != nil {
		return abi.ComputeInput{}, fmt.Errorf("--input %s: %w", inputPath, err)
	}
	if cmd.Flags().Changed("type") {
		in.ComputationType = computation
	}
	return in, nil
}

// runData returns run's input data: --data when given, else piped stdin (stdin that is
// not a terminal; empty means null), else null; and what it came from, for messages.
func runData(e *env, cmd *cobra.Command, data string, limit int) ([]byte, string, error) {
	if cmd.Flags().Changed("data") || e.stdin == nil || isTerminal(e.stdin) {
		if len(data) > limit {
			return nil, "", fmt.Errorf("--data: more than the %d-byte input limit (raise it with --max-input)", limit)
		}
		return []byte(data), "--data", nil
	}
	b, err := io.ReadAll(io.LimitReader(e.stdin, int64(limit)+1))
	if err != nil {
		return nil, "", fmt.Errorf("stdin: %w", err)
	}
	if len(b) > limit {
		return nil, "", fmt.Errorf("stdin: more than the %d-byte input limit (raise it with --max-input)", limit)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("null")
	}
	return b, "stdin (piped, read as the input data; use --input - for a whole envelope)", nil
}

// envelopeRoom is what an --input envelope may hold beyond the data's limit.
const envelopeRoom = 1 << 20

// readEnvelope reads --input (a file, or stdin for "-"): at most limit bytes of data plus
// envelopeRoom for the envelope around it; more is misuse, never silently truncated.
func readEnvelope(e *env, inputPath string, limit int) ([]byte, error) {
	var r io.Reader = e.stdin
	if inputPath != "-" {
		f, err := os.Open(inputPath)
		if err != nil {
			return nil, fmt.Errorf("--input: %w", err)
		}
		defer f.Close()
		r = f
	}
	max := int64(limit) + envelopeRoom
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("--input: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("--input %s: more than the %d-byte input limit (plus %d bytes for the envelope); raise it with --max-input", inputPath, limit, envelopeRoom)
	}
	return b, nil
}

// typeHint is the misuse error of a run that names no computation (no --type, none in
// --input) on a plugin that does not offer the default one: which to pass.
func typeHint(p *host.Plugin, cmd *cobra.Command, computation string) error {
	if _, ok := p.Entry(computation); ok || cmd.Flags().Changed("type") || computation != abi.DefaultComputation {
		return nil
	}
	m := p.Manifest()
	var names []string
	for _, c := range m.Offers() {
		names = append(names, c.Name)
	}
	return fmt.Errorf("%s offers no %q computation: pass --type; offered: %s", p.Name(), computation, strings.Join(names, ", "))
}
