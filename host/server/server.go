package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/tracing"
)

// NodeSpec says how to load one node: its file and its configuration. Reload loads the
// same spec again.
type NodeSpec struct {
	Path   string
	Plugin host.PluginConfig
	Effect effect.Config
	// Name, when set, is the name to serve the node under instead of its manifest's
	// (an alias: two files of one plugin under two names, or a rename without a
	// rebuild). Default "": the manifest's name.
	Name string
	// Resolve, when set, runs before every load and reload and returns the file to load
	// instead of Path, and the digest the loaded plugin must have ("" for any): an
	// oci:// node is pulled here and its pin and signature checked (config.Node.Resolve),
	// so a reload loads what the tag names now, under the same pin.
	Resolve func(ctx context.Context) (path, digest string, err error)
	// FSM, when set instead of Path, is an ONEX FSM contract (YAML, package
	// host/reducer/fsm) served as a reducer node without a plugin, under Name or else
	// the contract's state_machine_name. A spec has Path or FSM, not both.
	FSM string
}

// source is the spec's file, for logs and errors.
func (spec NodeSpec) source() string {
	if spec.FSM != "" {
		return spec.FSM
	}
	return spec.Path
}

// Options configure a Server. The zero value serves without auth, with a 16 MiB request
// limit, logging to slog.Default.
type Options struct {
	// Tokens maps each accepted bearer token to its role. Empty: auth is off.
	Tokens map[string]Role
	// MaxRequestBytes bounds request bodies. Default 16 MiB.
	MaxRequestBytes int64
	// Logger receives one record per request (never with its token). Default
	// slog.Default().
	Logger *slog.Logger
	// Registry receives the server's metrics and is served at /metrics. Default:
	// NewRegistry() (with the Go runtime and process collectors).
	Registry *prometheus.Registry
	// BeforeReady, when set, runs once Load has loaded every node and before the server
	// reports ready: crash recovery (host.Host.Recover) goes here, so no effect runs
	// before the interrupted ones are rolled back. An error keeps the server unready.
	BeforeReady func(ctx context.Context) error
	// Router, when set, answers compute and effect requests for nodes not loaded here
	// (another host of the cluster serves them). Default nil: such requests are 404.
	Router Router
	// Effects, when set, runs every effect request of a local node through it, so that
	// a repeated operation_id is answered rather than run twice (package host/cluster's
	// EffectRecords, shared by every host; LocalEffects, on this host's journal, without a
	// cluster). Default nil: each request runs.
	Effects EffectRecorder
	// Status, when set, adds fields to /readyz's body (the cluster adds "nats": the
	// connection's state). It must be safe for concurrent use.
	Status func() map[string]any
	// Members, when set, lists the hosts of the cluster for /v1/status and the status
	// page (package host/cluster's Membership.Members). It is called on every status
	// request: it must not block, and must be safe for concurrent use. Default nil: no
	// members are shown.
	Members func() []ClusterMember
	// Reducers is where reducer nodes keep their state (package host/reducer): one Store
	// per server, typically <data dir>/reducers.db (serve opens it there). The caller
	// owns it and closes it after the server is done. Default nil: a reducer node fails
	// to load (ErrLoad).
	Reducers *reducer.Store
	// ReducerCluster, when set, holds reducer state instead of Reducers for the HTTP
	// doors (events, a key's state, the keys): package host/cluster's Reducers, where
	// every host of a cluster reaches the key's owner (see ReducerCluster). Reducers is
	// still required to load a reducer node. Default nil: state is local.
	ReducerCluster ReducerCluster
	// TracerProvider, when set, traces requests (package host/tracing; NewProvider
	// builds one from the config file and OTEL_* variables). Default nil: no spans, but
	// every request still gets trace and span ids for its log records.
	TracerProvider trace.TracerProvider
}

// DefaultMaxRequestBytes bounds request bodies unless Options says otherwise.
const DefaultMaxRequestBytes = 16 << 20

// Server serves the nodes of one Host over HTTP. It is safe for concurrent use.
type Server struct {
	host    *host.Host
	opts    Options
	log     *slog.Logger
	metrics *telemetry
	tracer  trace.Tracer // nil: tracing off

	reducerMetrics  *reducerTelemetry
	workflowMetrics *workflowTelemetry
	// workflows is the engine RunWorkflows attached, or nil.
	workflows atomic.Pointer[workflowsSlot]
	// intentLogMu guards intentLogged: the operation id of the last pending intent logged,
	// so a blocked intent is logged once, not at every retry.
	intentLogMu  sync.Mutex
	intentLogged string

	// nodes is the current name → node table; copy-on-write under mu, so a request reads
	// it without a lock.
	nodes atomic.Pointer[map[string]*node]
	mu    sync.Mutex // serialises writers of nodes and reloads
	ready atomic.Bool
	// holds counts the HoldReady calls not yet released: /readyz stays 503 meanwhile.
	holds atomic.Int32
}

// New returns a Server for h with no nodes; Load adds them.
func New(h *host.Host, opts Options) *Server {
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	s := &Server{host: h, opts: opts, log: opts.Logger}
	if opts.TracerProvider != nil {
		s.tracer = opts.TracerProvider.Tracer(tracing.Scope)
	}
	s.nodes.Store(&map[string]*node{})
	s.metrics = newTelemetry(s, opts.Registry)
	s.reducerMetrics = newReducerTelemetry(s, opts.Registry)
	s.workflowMetrics = newWorkflowTelemetry(s, opts.Registry)
	return s
}

// node is one loaded node version. Requests hold a reference while they use it, so a
// reload can wait for them before closing it.
type node struct {
	name    string
	spec    NodeSpec
	plugin  *host.Plugin
	compute *compute.Node // compute nodes
	effect  *effect.Node  // effect nodes
	// reducer is the key-state owner of a reducer node; one per node name, handed from
	// version to version on reload (its per-key locks must outlive a version). fold is
	// this version's fold, which reducer calls through the version serving at the time.
	reducer *reducer.Node
	fold    reducer.Fold

	// fsmDigest identifies an FSM node's contract (plugin is nil for one).
	fsmDigest string

	refs    atomic.Int64
	retired atomic.Bool
	idle    chan struct{} // closed when retired and refs reaches 0
	once    sync.Once
}

// digest is the plugin's digest, or an FSM node's contract name and version.
func (n *node) digest() string {
	if n.plugin == nil {
		return n.fsmDigest
	}
	return n.plugin.Digest()
}

// kind is the node's kind (an FSM node is a reducer).
func (n *node) kind() abi.Kind {
	if n.plugin == nil {
		return abi.KindReducer
	}
	return n.plugin.Manifest().Kind
}

// computations are the manifest's computations (none for an FSM node).
func (n *node) computations() []abi.Computation {
	if n.plugin == nil {
		return nil
	}
	return n.plugin.Manifest().Computations
}

// close closes the node's plugin (nothing for an FSM node).
func (n *node) close(ctx context.Context) error {
	if n.plugin == nil {
		return nil
	}
	return n.plugin.Close(ctx)
}

// release drops a request's reference.
func (n *node) release() {
	if n.refs.Add(-1) == 0 && n.retired.Load() {
		n.once.Do(func() { close(n.idle) })
	}
}

// retire marks n replaced and returns a channel closed once no request uses it.
func (n *node) retire() <-chan struct{} {
	n.retired.Store(true)
	if n.refs.Load() == 0 {
		n.once.Do(func() { close(n.idle) })
	}
	return n.idle
}

// acquire returns the current version of the node named name with a reference taken, or
// nil. A request that catches a version being retired takes the new one instead.
func (s *Server) acquire(name string) *node {
	for {
		n := (*s.nodes.Load())[name]
		if n == nil {
			return nil
		}
		n.refs.Add(1)
		if !n.retired.Load() {
			return n
		}
		n.release()
	}
}

// loadNode loads one spec into a node. prev, when not nil, is the version it replaces:
// an effect node shares its concurrency bound (effect.Node.WithPlugin).
func (s *Server) loadNode(ctx context.Context, spec NodeSpec, prev *node) (*node, error) {
	if spec.FSM != "" {
		return s.loadFSM(spec, prev)
	}
	p, err := s.loadPlugin(ctx, spec)
	if err != nil {
		return nil, err
	}
	name := p.Name()
	if spec.Name != "" {
		name = spec.Name
	}
	n := &node{name: name, spec: spec, plugin: p, idle: make(chan struct{})}
	switch p.Manifest().Kind {
	case abi.KindEffect:
		if prev != nil && prev.effect != nil && prev.name == n.name {
			n.effect, err = prev.effect.WithPlugin(p)
		} else {
			n.effect, err = effect.New(p, spec.Effect)
		}
	case abi.KindReducer:
		err = s.loadReducer(n, prev)
	case abi.KindOrchestrator:
		// No operation of its own: its workflows are planned through
		// OrchestratorDefinitions and started at /v1/workflows.
	default:
		n.compute, err = compute.New(p)
	}
	if err != nil {
		_ = p.Close(ctx)
		return nil, err
	}
	return n, nil
}

// Load loads every spec, runs Options.BeforeReady and makes the server ready. Two nodes
// with the same name are an error, as is any node that fails to load; both errors wrap
// ErrLoad. After an error the nodes loaded before it stay loaded, and the server does not
// become ready.
func (s *Server) Load(ctx context.Context, specs []NodeSpec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := maps.Clone(*s.nodes.Load())
	for _, spec := range specs {
		n, err := s.loadNode(ctx, spec, nil)
		if err != nil {
			return fmt.Errorf("%w %s: %w", ErrLoad, spec.source(), err)
		}
		if old := next[n.name]; old != nil {
			_ = n.close(ctx)
			return fmt.Errorf("%w %s: a node named %q is already loaded from %s", ErrLoad, spec.source(), n.name, old.spec.source())
		}
		next[n.name] = n
		s.nodes.Store(&next)
		next = maps.Clone(next)
		s.log.Info("node loaded", "node", n.name, "path", spec.source(), "digest", n.digest(), "kind", n.kind())
	}
	if s.opts.BeforeReady != nil {
		if err := s.opts.BeforeReady(ctx); err != nil {
			return fmt.Errorf("server: before ready: %w", err)
		}
	}
	s.ready.Store(true)
	return nil
}

// Ready reports whether every node given to Load is loaded and warmed and
// Options.BeforeReady (crash recovery) has returned without error. Until then the
// operation routes (compute, effect, batch) and Invoke answer 503 "unavailable",
// retryable, without running anything.
func (s *Server) Ready() bool { return s.ready.Load() }

// HoldReady keeps /readyz answering 503 until the returned release is called (once;
// later calls do nothing), for a part started after Load that clients wait for
// through /readyz: serve's workflow engine, whose steps need the server ready (Ready is
// not held) while its doors must answer as soon as /readyz says ready.
func (s *Server) HoldReady() (release func()) {
	s.holds.Add(1)
	var once sync.Once
	return func() { once.Do(func() { s.holds.Add(-1) }) }
}

// Names returns the loaded nodes' names, sorted.
func (s *Server) Names() []string { return slices.Sorted(maps.Keys(*s.nodes.Load())) }

// Reload loads the node named name again from its file, compiled and warmed before it
// takes over; then new requests go to the new version while those on the old one finish,
// and the old version closes. A version that fails to load leaves the old one serving and
// returns the error. Cache entries are keyed by digest, so none crosses versions.
func (s *Server) Reload(ctx context.Context, name string) (digest string, err error) {
	s.mu.Lock()
	old := (*s.nodes.Load())[name]
	if old == nil {
		s.mu.Unlock()
		return "", fmt.Errorf("server: reload: %w: no node named %q", errUnknownNode, name)
	}
	n, err := s.loadNode(ctx, old.spec, old)
	if err == nil && n.name != name {
		_ = n.close(ctx)
		err = fmt.Errorf("the file now holds node %q", n.name)
	}
	if err != nil {
		s.mu.Unlock()
		s.log.Error("reload failed; the old version keeps serving", "node", name, "error", err)
		return "", fmt.Errorf("server: reload %s: %w", name, err)
	}
	next := maps.Clone(*s.nodes.Load())
	next[name] = n
	s.nodes.Store(&next)
	s.mu.Unlock()
	s.log.Info("node reloaded", "node", name, "old_digest", old.digest(), "digest", n.digest())
	s.metrics.reloads.WithLabelValues(name).Inc()
	select {
	case <-old.retire():
	case <-ctx.Done():
		// The old version closes when its last request ends.
		go func() { <-old.idle; _ = old.close(context.Background()) }()
		return n.digest(), nil
	}
	return n.digest(), old.close(ctx)
}

// ReloadAll reloads every node, one after the other; it returns the errors joined.
func (s *Server) ReloadAll(ctx context.Context) error {
	var errs []error
	for _, name := range s.Names() {
		if _, err := s.Reload(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ErrLoad is wrapped by Load's error when a node fails to load (its file is missing or
// not a valid plugin, or its name is taken), as opposed to a failing
// Options.BeforeReady.
var ErrLoad = errors.New("server: load")

// errUnknownNode marks a request or reload for a node that is not loaded.
var errUnknownNode = errors.New("unknown node")
