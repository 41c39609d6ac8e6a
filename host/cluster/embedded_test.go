package cluster_test

import (
	"bytes"
	"log/slog"
	"net"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/cluster"
)

func TestEmbedded_DefaultHasNoListener(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	assert.Empty(t, e.ClientURL(), "in-process connections only")
	assert.Empty(t, e.ClusterURL())
	nc, err := e.Connect("x")
	require.NoError(t, err)
	defer nc.Close()
	assert.True(t, nc.IsConnected())
	assert.True(t, e.Server().JetStreamEnabled())
}

func TestEmbedded_ListenerWithTokenAuth(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Token: "s3cret-token",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	defer e.Shutdown()
	require.NotEmpty(t, e.ClientURL())

	// In-process connections get the server's credentials.
	nc, err := e.Connect("in-process")
	require.NoError(t, err)
	nc.Close()

	// Over TCP: refused without the token, accepted with it.
	_, err = cluster.Connect(cluster.ConnectConfig{URL: e.ClientURL(), Logger: quiet})
	require.Error(t, err)
	nc, err = cluster.Connect(cluster.ConnectConfig{URL: e.ClientURL(), Token: "s3cret-token", Logger: quiet})
	require.NoError(t, err)
	nc.Close()
	assert.NotContains(t, logs.String(), "s3cret-token", "credentials are never logged")
}

func TestConnect_ErrorsRedactCredentials(t *testing.T) {
	t.Parallel()
	_, err := cluster.Connect(cluster.ConnectConfig{URL: "nats://user:hunter2@127.0.0.1:1", Logger: quiet})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Equal(t, "nats://redacted@a:4222,nats://b:4222", cluster.Redact("nats://u:p@a:4222,nats://b:4222"))
	_, err = cluster.Connect(cluster.ConnectConfig{})
	require.ErrorIs(t, err, cluster.ErrConfig)
	_, err = cluster.StartEmbedded(cluster.EmbeddedConfig{})
	require.ErrorIs(t, err, cluster.ErrConfig)
	_, err = cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: t.TempDir(), ClusterListen: "127.0.0.1:0"})
	require.ErrorIs(t, err, cluster.ErrConfig, "a cluster member needs a cluster name")
}

// An embedded server as a leaf node of a hub: requests cross between them.
func TestEmbedded_LeafNode(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	leafPort := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	hub, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, NoSigs: true,
		LeafNode: natsserver.LeafNodeOpts{Host: "127.0.0.1", Port: leafPort}})
	require.NoError(t, err)
	go hub.Start()
	require.True(t, hub.ReadyForConnections(patience(t)))
	defer func() { hub.Shutdown(); hub.WaitForShutdown() }()

	leaf, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: t.TempDir(), Logger: quiet,
		LeafRemotes: []string{"nats://" + ln.Addr().String()}})
	require.NoError(t, err)
	defer leaf.Shutdown()
	eventually(t, func() bool { return hub.NumLeafNodes() == 1 })

	hubConn, err := nats.Connect(hub.ClientURL())
	require.NoError(t, err)
	defer hubConn.Close()
	_, err = hubConn.Subscribe("onex.node.core.compute", func(m *nats.Msg) { _ = m.Respond([]byte("from the hub")) })
	require.NoError(t, err)
	require.NoError(t, hubConn.Flush())
	leafConn, err := leaf.Connect("leaf")
	require.NoError(t, err)
	defer leafConn.Close()
	require.Eventually(t, func() bool {
		reply, err := leafConn.Request("onex.node.core.compute", nil, 200*time.Millisecond)
		return err == nil && string(reply.Data) == "from the hub"
	}, patience(t), 10*time.Millisecond)
}

// A host started before its NATS server waits for it (ConnectConfig.WaitFor).
func TestConnect_WaitsForTheCluster(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	_, err = cluster.Connect(cluster.ConnectConfig{URL: "nats://" + addr, Logger: quiet})
	require.Error(t, err, "without WaitFor: at once")
	_, err = cluster.Connect(cluster.ConnectConfig{URL: "nats://" + addr, Logger: quiet, WaitFor: 200 * time.Millisecond})
	require.ErrorIs(t, err, nats.ErrNoServers)

	go func() {
		time.Sleep(300 * time.Millisecond)
		e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: t.TempDir(), Listen: addr, Logger: quiet})
		if assert.NoError(t, err) {
			t.Cleanup(e.Shutdown)
		}
	}()
	nc, err := cluster.Connect(cluster.ConnectConfig{URL: "nats://" + addr, Logger: quiet, WaitFor: patience(t)})
	require.NoError(t, err)
	defer nc.Close()
	assert.True(t, nc.IsConnected())
}
