package cluster_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/events"
	"github.com/onexhost/onex-host/host/server"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

var corePath, effectsPath string

func TestMain(m *testing.M) {
	var err error
	if corePath, err = plugintest.Path("plugins/core"); err == nil {
		if effectsPath, err = plugintest.Path("plugins/testdata/effects"); err == nil {
			err = plugintest.Warm(corePath, effectsPath)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

var quiet = slog.New(slog.DiscardHandler)

// embedded starts a single embedded NATS server for one test.
func embedded(t *testing.T) *cluster.Embedded {
	t.Helper()
	e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: t.TempDir(), Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(e.Shutdown)
	return e
}

// member is one onex-host process of a test cluster: a host, its server with the core
// and effects nodes, its connection and service.
type member struct {
	id   string
	host *host.Host
	srv  *server.Server
	nc   *nats.Conn
	svc  *cluster.Service
	bus  *cluster.Bridge
	// records are the member's effect records (InDoubt counts what a kill left unsure).
	records *cluster.EffectRecords
}

// memberOptions vary a member.
type memberOptions struct {
	shared       bool // a shared cache level in JetStream
	maxInstances int
	lease        time.Duration
	// nodes are the nodes to load ("core", "effects"); default both. Each costs the
	// member a load of its plugin (about a second under -race), so a test names the
	// ones it uses.
	nodes []string
	// tracer, when set, is the member's server's TracerProvider.
	tracer trace.TracerProvider
	// logger, when set, is the member's server's and service's logger; default quiet.
	logger *slog.Logger
}

// onlyCore and onlyEffects are memberOptions.nodes.
var (
	onlyCore    = []string{"core"}
	onlyEffects = []string{"effects"}
)

// newMember starts a member connected by connect.
func newMember(t *testing.T, id string, connect func() (*nats.Conn, error), o memberOptions) *member {
	t.Helper()
	m := newMemberB(t, id, connect, o)
	t.Cleanup(func() { m.stop(t) })
	return m
}

// newMemberB starts a member; the caller stops it.
func newMemberB(t testing.TB, id string, connect func() (*nats.Conn, error), o memberOptions) *member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	defer cancel()
	nc, err := connect()
	require.NoError(t, err)
	cfg := host.NewConfig().WithCacheDir(plugintest.CacheDir()).WithDataDir("").WithLogger(quiet)
	if o.maxInstances > 0 {
		cfg = cfg.WithMaxInstances(o.maxInstances)
	}
	if o.shared {
		c, err := cluster.NewSharedCache(ctx, nc, cluster.SharedCacheConfig{Logger: quiet})
		require.NoError(t, err)
		cfg = cfg.WithSharedCache(c)
		t.Cleanup(c.Close)
	}
	h, err := host.New(ctx, cfg)
	require.NoError(t, err)
	if o.shared {
		require.NoError(t, cfg.SharedCache.(*cluster.SharedCache).Attach(ctx, h))
	}
	records, err := cluster.NewEffectRecords(ctx, nc, cluster.EffectRecordsConfig{HostID: id, Lease: o.lease, Logger: quiet})
	require.NoError(t, err)
	logger := quiet
	if o.logger != nil {
		logger = o.logger
	}
	srv := server.New(h, server.Options{Logger: logger, Effects: records, TracerProvider: o.tracer})
	require.NoError(t, srv.Load(ctx, nodeSpecs(t, o.nodes)))
	bridge, err := cluster.BridgeEvents(ctx, nc, h.Events(), cluster.BridgeConfig{HostID: id, Logger: quiet})
	require.NoError(t, err)
	svc, err := cluster.Serve(ctx, nc, srv, cluster.ServiceConfig{HostID: id, Logger: logger, Effects: records})
	require.NoError(t, err)
	return &member{id: id, host: h, srv: srv, nc: nc, svc: svc, bus: bridge, records: records}
}

// stop stops the member gracefully (a second stop, or one after kill, does nothing).
func (m *member) stop(t testing.TB) {
	if m.nc.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	defer cancel()
	require.NoError(t, m.svc.Stop(ctx))
	m.bus.Close()
	m.nc.Close()
	require.NoError(t, m.host.Close(ctx))
}

// kill cuts the member off the cluster at once, as a crash would: its connection closes
// under the requests it is running (their replies and effect records are lost), then the
// host stops.
func (m *member) kill(t *testing.T) {
	m.nc.Close()
	// A crash does not wait for the requests in flight: they are canceled at once (their
	// effects roll back) rather than waited for until their deadlines.
	now, stop := context.WithCancel(context.Background())
	stop()
	_ = m.svc.Stop(now)
	m.bus.Close()
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	defer cancel()
	require.NoError(t, m.host.Close(ctx))
}

// nodeSpecs are the specs of the named nodes (nil: core and effects). A call, and an
// instantiation (the guest's _initialize), may take as long as the test's patience: the
// 30 s default (host.DefaultTimeout) is a production limit, and a loaded machine under
// -race passed it instantiating the effects plugin.
func nodeSpecs(t testing.TB, nodes []string) []server.NodeSpec {
	if nodes == nil {
		nodes = []string{"core", "effects"}
	}
	var specs []server.NodeSpec
	for _, n := range nodes {
		switch n {
		case "core":
			specs = append(specs, server.NodeSpec{Path: corePath, Plugin: host.PluginConfig{Timeout: patience(t)}})
		case "effects":
			specs = append(specs, server.NodeSpec{Path: effectsPath, Plugin: host.PluginConfig{Timeout: patience(t),
				Grants: host.Grants{KV: true, Events: true, Hosts: []string{"127.0.0.1"}, Paths: []host.PathGrant{{Dir: t.TempDir()}}}}})
		default:
			t.Fatalf("no node %q", n)
		}
	}
	return specs
}

// eventsOptions is a subscription that never drops.
func eventsOptions() events.SubscribeOptions { return events.SubscribeOptions{Policy: events.Block} }
