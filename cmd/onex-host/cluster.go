package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/effect"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/host/server/config"
)

// natsParts are the cluster pieces of one serve process, started in order and stopped in
// reverse (nil fields were not started).
type natsParts struct {
	embedded *cluster.Embedded
	nc       *nats.Conn
	cache    *cluster.SharedCache
	client   *cluster.Client
	svc      *cluster.Service
	bridge   *cluster.Bridge
	metrics  *cluster.Collector
	effects  *cluster.EffectRecords
	// recorder is what the HTTP API runs effects through: effects, or the debug pause.
	recorder   server.EffectRecorder
	advisories *cluster.Advisories
	// members lists the cluster's hosts for the status page.
	members *cluster.Membership
	hostID  string
	// reducers holds reducer state in JetStream (clusterreducers.go).
	reducers clusterReducers
}

// startNATS starts the embedded server or connects to the external cluster, and the
// shared cache level (hcfg gets it). Off mode returns nil.
func startNATS(ctx context.Context, f *config.File, logger *slog.Logger, hcfg *host.Config) (*natsParts, error) {
	mode := f.NATSMode()
	if mode == config.NATSOff {
		return nil, nil
	}
	password, token, err := f.NATSSecrets()
	if err != nil {
		return nil, err
	}
	p := &natsParts{hostID: f.NATS.HostID}
	if p.hostID == "" {
		name, _ := os.Hostname()
		p.hostID = fmt.Sprintf("%s-%d", name, os.Getpid())
	}
	switch mode {
	case config.NATSEmbedded:
		p.embedded, err = cluster.StartEmbedded(cluster.EmbeddedConfig{
			StoreDir: f.NATSStoreDir(), ServerName: f.NATS.ServerName, Listen: f.NATS.Listen,
			User: f.NATS.User, Password: password, Token: token,
			ClusterName: f.NATS.Cluster.Name, ClusterListen: f.NATS.Cluster.Listen, Routes: f.NATS.Cluster.Routes,
			LeafRemotes: f.NATS.LeafRemotes, Logger: logger,
		})
		if err != nil {
			return nil, err
		}
		p.nc, err = p.embedded.Connect("onex-host " + p.hostID)
		if err != nil {
			p.stop(context.Background(), logger)
			return nil, err
		}
		logger.Info("embedded NATS server started", "client_url", p.embedded.ClientURL(),
			"cluster_url", p.embedded.ClusterURL(), "store", f.NATSStoreDir())
	case config.NATSExternal:
		tls := f.NATSTLSFiles()
		p.nc, err = cluster.Connect(cluster.ConnectConfig{URL: f.NATS.URL, Name: "onex-host " + p.hostID,
			CredsFile: f.NATSCredsFile(), User: f.NATS.User, Password: password, Token: token,
			TLSCA: tls.CA, TLSCert: tls.Cert, TLSKey: tls.Key, Logger: logger, WaitFor: 30 * time.Second})
		if err != nil {
			return nil, err
		}
		logger.Info("connected to NATS", "url", cluster.Redact(f.NATS.URL))
	}
	p.client = cluster.NewClient(p.nc, cluster.ClientConfig{})
	p.members, err = cluster.WatchMembers(p.nc, cluster.MembershipConfig{HostID: p.hostID, Logger: logger})
	if err != nil {
		p.stop(context.Background(), logger)
		return nil, err
	}
	jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p.effects, err = cluster.NewEffectRecords(jctx, p.nc, cluster.EffectRecordsConfig{HostID: p.hostID,
		Replicas: f.NATS.Replicas, Logger: logger})
	if err != nil {
		p.stop(context.Background(), logger)
		return nil, err
	}
	p.recorder = p.effects
	if marker := os.Getenv(debugPauseBeforeCommit); marker != "" {
		logger.Warn("debug: effects sent over HTTP pause before their commit until the process is killed",
			"env", debugPauseBeforeCommit, "marker", marker)
		p.recorder = pauseBeforeCommit{p.effects, marker}
	}
	p.metrics = cluster.NewCollector(p.nc, p.embedded)
	p.metrics.SetEffectRecords(p.effects)
	if f.NATSSharedCache() {
		p.cache, err = cluster.NewSharedCache(jctx, p.nc, cluster.SharedCacheConfig{
			Lease: f.NATSCacheLease(), Replicas: f.NATS.Replicas, Logger: logger})
		if err != nil {
			p.stop(context.Background(), logger)
			return nil, err
		}
		*hcfg = hcfg.WithSharedCache(p.cache)
		p.metrics.SetSharedCache(p.cache)
	}
	return p, nil
}

// serveNodes settles the effect records a crash of this host left (after the journal's
// recovery, which the caller ran), attaches the host (invalidations, events) and serves
// srv's nodes over NATS.
func (p *natsParts) serveNodes(ctx context.Context, f *config.File, h *host.Host, srv *server.Server, logger *slog.Logger) error {
	jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// A record left unsettled answers repeats 503 (never a false 200) until a later
	// Reconcile settles it: not a reason to refuse serving.
	if r, err := p.effects.Reconcile(jctx, h); err != nil {
		logger.Error("effect records: some left unsettled", "finalised", r.Finalised, "deleted", r.Deleted, "left", r.Left, "error", err)
	} else if r != (cluster.Reconciled{}) {
		logger.Warn("effect records reconciled with the journal", "finalised", r.Finalised, "deleted", r.Deleted, "left", r.Left)
	}
	if p.cache != nil {
		if err := p.cache.Attach(jctx, h); err != nil {
			return err
		}
	}
	var err error
	p.bridge, err = cluster.BridgeEvents(jctx, p.nc, h.Events(), cluster.BridgeConfig{HostID: p.hostID,
		DurableTopics: f.NATS.DurableTopics, Replicas: f.NATS.Replicas, Logger: logger})
	if err != nil {
		return err
	}
	p.advisories, err = cluster.StartAdvisories(p.nc, h, cluster.AdvisoryConfig{HostID: p.hostID,
		Quorum: f.NATS.BreakerQuorum, Logger: logger})
	if err != nil {
		return err
	}
	p.svc, err = cluster.Serve(jctx, p.nc, srv, cluster.ServiceConfig{HostID: p.hostID, Version: serviceVersion(), Effects: p.effects, Logger: logger})
	if err != nil {
		return err
	}
	p.metrics.SetService(p.svc)
	return p.startReducers(jctx, f, srv, logger)
}

// status is what /readyz says of the cluster.
func (p *natsParts) status() map[string]any {
	return map[string]any{"nats": map[string]any{"status": p.nc.Status().String(), "host_id": p.hostID}}
}

// stopService stops taking requests from the cluster, letting those in flight finish
// until ctx ends.
func (p *natsParts) stopService(ctx context.Context) error {
	if p == nil || p.svc == nil {
		return nil
	}
	return p.svc.Stop(ctx)
}

// stop closes what startNATS and serveNodes started, after the host closed.
func (p *natsParts) stop(ctx context.Context, logger *slog.Logger) {
	if p == nil {
		return
	}
	p.closeReducers()
	if p.members != nil {
		p.members.Close()
	}
	if p.bridge != nil {
		p.bridge.Close()
	}
	if p.advisories != nil {
		p.advisories.Close()
	}
	if p.cache != nil {
		p.cache.Close()
	}
	if p.effects != nil {
		p.effects.Close()
	}
	if p.nc != nil {
		if err := p.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			logger.Warn("NATS drain", "error", err)
		}
		for deadline := time.Now().Add(5 * time.Second); !p.nc.IsClosed() && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		p.nc.Close()
	}
	if p.embedded != nil {
		p.embedded.Shutdown()
	}
}

// debugPauseBeforeCommit names an environment variable for crash tests: set to a file
// path, every effect sent to this host over HTTP stops after its commit record was
// written to the EffectRecords bucket and before its transaction's commit point, creates
// that file, and waits until the process is killed. Never set it in production.
const debugPauseBeforeCommit = "ONEX_HOST_DEBUG_PAUSE_BEFORE_COMMIT"

// pauseBeforeCommit is the EffectRecords of debugPauseBeforeCommit.
type pauseBeforeCommit struct {
	*cluster.EffectRecords
	marker string
}

// Run runs the effect with a commit guard that runs after the records' guard and never
// returns.
func (p pauseBeforeCommit) Run(ctx context.Context, node string, body []byte, exec func(context.Context) server.Response) (server.Response, bool) {
	return p.EffectRecords.Run(ctx, node, body, func(ctx context.Context) server.Response {
		return exec(effect.WithCommitGuard(ctx, func(context.Context, abi.EffectOutput) error {
			_ = os.WriteFile(p.marker, nil, 0o644)
			select {} // until killed
		}))
	})
}
