package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/server/config"
	"github.com/onexhost/onex-host/host/tracing"
)

func newServeCmd(e *env) *cobra.Command {
	var configPath, natsURL, natsListen, listen, hostID, dataDir string
	var slow time.Duration
	var watch bool
	cmd := &cobra.Command{
		Use:   "serve [--config onex.yaml | <plugin.wasm | dir>...] [--watch]",
		Short: "Serve nodes over HTTP: the JSON API, metrics, hot reload",
		Long: "Load the nodes a config file names and serve them over HTTP until SIGTERM or Ctrl-C\n" +
			"(see host/server for the API). Without --config it serves the plugin files and the\n" +
			"directories' *.wasm files given as arguments (each node under its manifest's name),\n" +
			"or without arguments every .wasm in bin/plugins, on 127.0.0.1:8080, without auth\n" +
			"and without capabilities (a node that needs some wants a config file with its grants;\n" +
			"plugin arguments and --config do not mix: list the files under the file's nodes).\n" +
			"Once ready it prints the address and each node's URL on stdout.\n\n" +
			"/readyz answers 200 once every node is loaded and\n" +
			"warmed and the journal's crash recovery has finished; until then compute, effect and\n" +
			"batch requests get 503 \"unavailable\" (retryable) and nothing runs. /readyz is 503\n" +
			"again while a node is quarantined (a call its deadline did not stop:\n" +
			"restart the process). SIGHUP (or POST /v1/nodes/{name}/reload) reloads nodes from\n" +
			"their files without dropping a request; with --watch a plugin file that changes is\n" +
			"reloaded so, and a new *.wasm file in a served directory is loaded, once it has been\n" +
			"still for a moment (one log line each; a file that fails to load is refused and the\n" +
			"old version keeps serving; a node added while serving is not offered to the NATS\n" +
			"cluster before a restart). On SIGTERM the server stops accepting, lets\n" +
			"requests and effects in flight finish until limits.shutdown_timeout, cancels the rest\n" +
			"(rolling their transactions back) and exits 0. A call still running 10s after that\n" +
			"(it ignores its cancellation: see /readyz's quarantine), or a second signal, makes\n" +
			"serve exit at once with status 1; the journal rolls interrupted effects back at the\n" +
			"next start.\n\n" +
			"NATS (package host/cluster): by default serve also runs a NATS server inside the\n" +
			"process (in-process connections only, JetStream under <data_dir>/nats) and serves\n" +
			"its nodes as NATS services; --nats-listen opens it to other processes, --nats-url\n" +
			"joins an external cluster instead, nats.mode: off in the config turns it off.\n" +
			"Requests for nodes this host has not loaded go to the cluster.\n\n" +
			"An invalid config file is one error naming the field, exit status 2; so is a node that\n" +
			"fails to load at the start (a node that fails to reload keeps its old version serving).",
		Example: "  onex-host serve\n  onex-host serve --config onex.yaml\n" +
			"  onex-host serve greeter.wasm --watch\n" +
			"  onex-host serve --nats-listen 127.0.0.1:4222\n" +
			"  onex-host serve --listen 127.0.0.1:8081 --data-dir var/b --nats-url nats://127.0.0.1:4222\n" +
			"  curl -s localhost:8080/v1/nodes/core/compute -d '{\"computation_type\":\"sum_numbers\",\"data\":[1,2,3]}'",
		RunE: func(cmd *cobra.Command, args []string) error {
			f := config.Default()
			if len(args) > 0 {
				if configPath != "" {
					return fmt.Errorf("serve: plugin arguments and --config do not mix: list the plugins under nodes in %s", configPath)
				}
				var err error
				if f.NodeEntries, err = pluginEntries(args); err != nil {
					return err // misuse: exit 2
				}
			}
			if configPath != "" {
				var err error
				if f, err = config.Load(configPath); err != nil {
					return err // misuse: exit 2
				}
			}
			if listen != "" {
				f.Listen = listen
			}
			if natsURL != "" {
				f.NATS.Mode, f.NATS.URL = config.NATSExternal, natsURL
			}
			if natsListen != "" {
				f.NATS.Listen = natsListen
			}
			if hostID != "" {
				f.NATS.HostID = hostID
			}
			if cmd.Flags().Changed("data-dir") {
				f.DataDir = dataDir
			}
			if cmd.Flags().Changed("slow-threshold") {
				d := config.Duration(slow)
				f.Host.SlowThreshold = &d
			}
			if err := f.Validate(); err != nil {
				return err // misuse: exit 2
			}
			e.setShutdownTimeout(time.Duration(f.Limits.ShutdownTimeout) + defaultShutdownTimeout)
			// Without a config file nothing is granted: effect nodes found in bin/plugins
			// are skipped, with a warning, rather than keeping the server unready.
			return serve(cmd.Context(), e, f, serveMode{skipUngranted: configPath == "" && len(args) == 0, watch: watch})
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "the config file (default: serve bin/plugins on 127.0.0.1:8080)")
	cmd.Flags().StringVar(&natsURL, "nats-url", "", "join the external NATS cluster at this URL (nats.mode external)")
	cmd.Flags().StringVar(&natsListen, "nats-listen", "", "open the embedded NATS server's client listener on host:port (nats.listen)")
	cmd.Flags().StringVar(&listen, "listen", "", "the HTTP API's address (overrides listen)")
	cmd.Flags().StringVar(&hostID, "host-id", "", "this host's name in the cluster (nats.host_id)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "where effect data, the journal and NATS's JetStream live (overrides data_dir; two hosts on one machine need one each)")
	cmd.Flags().BoolVar(&watch, "watch", false, "reload a node whose plugin file changes, load a new *.wasm file of a served directory")
	cmd.Flags().DurationVar(&slow, "slow-threshold", host.DefaultSlowThreshold, "warn of a computation running longer than this, getting an instance not counted (overrides host.slow_threshold); 0: never")
	return cmd
}

// slowThreshold is host.Config.SlowThreshold for the --slow-threshold flag, whose 0 means
// never (the host's zero means its default).
func slowThreshold(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// serve runs the server of f until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, e *env, f *config.File, mode serveMode) error {
	logger, err := f.Log.Logger(e.stderr)
	if err != nil {
		return err
	}
	hcfg, err := f.HostConfig(logger)
	if err != nil {
		return err
	}
	nodes, err := f.Nodes()
	if err != nil {
		return err
	}
	tokens, err := f.Tokens()
	if err != nil {
		return err
	}
	roles := make(map[string]server.Role, len(tokens))
	for _, t := range tokens {
		role, _ := server.ParseRole(t.Role) // validated by config
		roles[t.Value] = role
	}
	cl, err := startNATS(ctx, f, logger, &hcfg)
	if err != nil {
		return failure{err}
	}
	defer cl.stop(context.Background(), logger)
	h, err := host.New(context.Background(), hcfg)
	if err != nil {
		return failure{err}
	}
	rs, err := openReducers(hcfg.DataDir, logger)
	if err != nil {
		_ = h.Close(context.Background())
		return failure{err}
	}
	defer rs.close() // after the host: requests and intents in flight are done
	var srv *server.Server
	opts := server.Options{Tokens: roles, MaxRequestBytes: int64(f.Limits.MaxRequestBytes), Logger: logger,
		BeforeReady: func(ctx context.Context) error {
			// Effects interrupted by a crash are rolled back before any request is served.
			if _, err := h.Recover(ctx); err != nil {
				return err
			}
			// Ready means ready for the cluster's requests too.
			if cl != nil {
				return cl.serveNodes(ctx, f, h, srv, logger)
			}
			return nil
		}}
	opts.Reducers = rs.store
	if cl != nil {
		opts.Router = cl.client // nodes other hosts serve
		opts.Status = cl.status
		opts.Members = cl.members.Members  // the cluster's hosts and their nodes, on /ui
		opts.Effects = cl.recorder         // one operation id, one commit, over HTTP and NATS alike
		opts.ReducerCluster = &cl.reducers // reducer state in JetStream, each key at its owner
		opts.Registry = server.NewRegistry()
		opts.Registry.MustRegister(cl.metrics)
	} else {
		opts.Effects = server.NewLocalEffects(h, logger) // one operation id, one commit, on this host's journal
	}
	// Tracing is off unless the config's tracing block or OTEL_TRACES_EXPORTER says otlp;
	// its spans are flushed when serve returns.
	tp, err := tracing.NewProvider(ctx, f.Tracing)
	if err != nil {
		_ = h.Close(context.Background())
		return err // misuse: exit 2
	}
	if tp != nil {
		opts.TracerProvider = tp
		defer func() {
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := tp.Shutdown(fctx); err != nil {
				logger.Warn("tracing: spans not flushed", "error", err)
			}
		}()
		logger.Info("tracing on: exporting spans over OTLP/HTTP")
	}
	srv = server.New(h, opts)
	// /readyz waits for the workflow engine too: a client that saw ready may start one.
	releaseReady := srv.HoldReady()
	ln, err := net.Listen("tcp", f.Listen)
	if err != nil {
		_ = h.Close(context.Background())
		return failure{fmt.Errorf("listen: %w", err)}
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadTimeout:       time.Duration(f.Limits.ReadTimeout),
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      time.Duration(f.Limits.WriteTimeout),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	logger.Info("listening", "address", "http://"+ln.Addr().String(), "auth", len(roles) > 0)
	if f.AdminListen != "" {
		admin, err := startAdmin(f.AdminListen, logger)
		if err != nil {
			_ = httpSrv.Close()
			_ = h.Close(context.Background())
			return failure{err}
		}
		defer admin.Close()
	}

	var specs []server.NodeSpec
	var workflowFiles []string
	for _, n := range nodes {
		if n.Workflow != "" {
			workflowFiles = append(workflowFiles, n.Workflow) // for the engine, after the nodes
			continue
		}
		spec := server.NodeSpec{Path: n.Path, Plugin: n.PluginConfig, Effect: n.Effect, Name: n.Name, Resolve: n.Resolve, FSM: n.FSM}
		if mode.skipUngranted && n.FSM == "" {
			// A trial load (the compiled code stays cached for the real one) tells whether
			// the node needs something the default configuration does not grant.
			if p, err := h.LoadFile(ctx, n.Path, n.PluginConfig); errors.Is(err, host.ErrCapabilityDenied) {
				logger.Warn("not serving a node that needs capabilities: the default configuration grants none; "+
					"list it in a config file with its grants", "path", n.Path)
				continue
			} else if err == nil {
				_ = p.Close(ctx)
			}
		}
		specs = append(specs, spec)
	}
	if err := srv.Load(ctx, specs); err != nil {
		// Serving some nodes but never ready would keep a supervisor waiting: fail the
		// start instead. A node that does not load is the config's mistake (exit 2);
		// crash recovery or the cluster failing is a failure (exit 1).
		_ = httpSrv.Close()
		_ = h.Close(context.Background())
		if errors.Is(err, host.ErrCapabilityDenied) {
			// The host's hint names run's flags; serve grants only in its config file.
			err = fmt.Errorf("%w\nserve grants capabilities in a config file: list the node under nodes: with "+
				"grants: {paths: [DIR], hosts: [PATTERN], kv: true, events: true} and run serve --config FILE", err)
		}
		if errors.Is(err, server.ErrLoad) {
			return err
		}
		return failure{err}
	}
	rs.startIntents(srv, logger)
	// The engine resumes workflows at once: after the nodes their steps run on. A
	// contract that does not fit the nodes fails the start before it says ready.
	// With NATS, workflow state lives in JetStream (any host runs, and takes over, any
	// workflow); without, in <data_dir>/workflows.db.
	wf, err := builtin.clustered(cl).openWorkflows(hcfg.DataDir, workflowFiles, srv, cl != nil, logger)
	releaseReady()
	if err != nil {
		_ = httpSrv.Close()
		_ = h.Close(context.Background())
		return err
	}
	logger.Info("ready", "nodes", srv.Names())
	base := "http://" + ln.Addr().String()
	printServing(e.stdout, base, srv.Loaded())
	stopWatch := func() {}
	if mode.watch {
		if stopWatch, err = startWatch(ctx, srv, f.Nodes, logger, base); err != nil {
			wf.close(logger)
			_ = httpSrv.Close()
			_ = h.Close(context.Background())
			return failure{err}
		}
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-hup:
			logger.Info("SIGHUP: reloading every node")
			if err := srv.ReloadAll(ctx); err != nil {
				logger.Error("reload", "error", err)
			}
			continue
		case err := <-served:
			stopWatch()
			wf.close(logger)
			_ = h.Close(context.Background())
			return failure{fmt.Errorf("serve: %w", err)}
		case <-ctx.Done():
		}
		break
	}
	stopWatch()
	return shutdown(logger, httpSrv, h, cl, wf, time.Duration(f.Limits.ShutdownTimeout))
}

// shutdown stops accepting, lets requests in flight finish until timeout, then closes the
// host: effects still running are canceled and rolled back, pools drain.
func shutdown(logger *slog.Logger, httpSrv *http.Server, h *host.Host, cl *natsParts, wf *serveWorkflows, timeout time.Duration) error {
	logger.Info("shutting down", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	// The cluster's requests stop coming first (other hosts take them); those in flight
	// finish with the HTTP ones.
	if err := cl.stopService(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := httpSrv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("requests still running at the deadline were cut: %w", err))
	}
	cl.closeReducers() // its partitions go to other hosts now
	// Workflow steps stop before the nodes they run on close; their workflows resume at
	// the next start.
	wf.close(logger)
	if err := h.Close(ctx); err != nil {
		// Canceled effects were rolled back; finish closing what is left.
		errs = append(errs, err)
		_ = h.Close(context.Background())
	}
	s := h.TransactionStats()
	logger.Info("stopped", "transactions_committed", s.Committed, "transactions_rolled_back", s.RolledBack,
		"transactions_failed", s.Failed, "transactions_open", s.Open)
	if err := errors.Join(errs...); err != nil {
		logger.Warn("shutdown", "error", err)
	}
	return nil
}

// startAdmin serves pprof on a loopback address.
func startAdmin(addr string, logger *slog.Logger) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	logger.Info("admin listening (pprof)", "address", "http://"+ln.Addr().String()+"/debug/pprof/")
	return srv, nil
}
