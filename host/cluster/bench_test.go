package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/server"
)

// cpuInput is a CPU-bound computation: stats over 5,000 numbers, never cached.
func cpuInput() abi.ComputeInput {
	var sb strings.Builder
	sb.WriteByte('[')
	for i := range 5_000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprint(&sb, i%97)
	}
	sb.WriteByte(']')
	return abi.ComputeInput{ComputationType: "stats", Data: []byte(sb.String()), NoCache: true}
}

// BenchmarkClusterPath compares a local call through the server with the same call sent
// to the cluster (in-process NATS: request, queue group, reply).
func BenchmarkClusterPath(b *testing.B) {
	e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: b.TempDir(), Logger: quiet})
	require.NoError(b, err)
	defer e.Shutdown()
	m := newMemberB(b, "a", func() (*nats.Conn, error) { return e.Connect("a") }, memberOptions{})
	defer m.stop(b)
	nc, err := e.Connect("bench")
	require.NoError(b, err)
	defer nc.Close()
	client := cluster.NewClient(nc, cluster.ClientConfig{})
	body := []byte(`{"computation_type":"sum_numbers","data":[1,2,3,4,5,6,7,8],"cache_enabled":false}`)
	ctx := context.Background()
	b.Run("local", func(b *testing.B) {
		for b.Loop() {
			if r := m.srv.Invoke(ctx, "core", server.OperationCompute, body); r.Status != http.StatusOK {
				b.Fatal(string(r.Body))
			}
		}
	})
	b.Run("nats-echo", func(b *testing.B) {
		// The floor: a bare in-process request/reply of the same body, no node.
		sub, err := m.nc.Subscribe("bench.echo", func(msg *nats.Msg) { _ = msg.Respond(msg.Data) })
		require.NoError(b, err)
		defer sub.Unsubscribe()
		require.NoError(b, m.nc.Flush())
		for b.Loop() {
			if _, err := nc.Request("bench.echo", body, 5*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cluster", func(b *testing.B) {
		for b.Loop() {
			if r, err := client.Route(ctx, "core", server.OperationCompute, body); err != nil || r.Status != http.StatusOK {
				b.Fatal(err, string(r.Body))
			}
		}
	})
}

// BenchmarkSharedCacheHit is a hit of the JetStream level (the local level bypassed).
func BenchmarkSharedCacheHit(b *testing.B) {
	e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: b.TempDir(), Logger: quiet})
	require.NoError(b, err)
	defer e.Shutdown()
	nc, err := e.Connect("bench")
	require.NoError(b, err)
	defer nc.Close()
	c, err := cluster.NewSharedCache(context.Background(), nc, cluster.SharedCacheConfig{Logger: quiet})
	require.NoError(b, err)
	key := strings.Repeat("ab", 32)
	compute := func(context.Context) ([]byte, error) { return []byte(`{"mean":5}`), nil }
	_, _, err = c.Fetch(context.Background(), key, time.Minute, compute)
	require.NoError(b, err)
	for b.Loop() {
		if _, hit, err := c.Fetch(context.Background(), key, time.Minute, compute); err != nil || !hit {
			b.Fatal(err, hit)
		}
	}
}

// BenchmarkClusterThroughput sends a CPU-bound computation through the cluster to one
// host, then to two, each host limited to one instance so that they share the cores
// fairly: the ratio of the two is the scale-out.
func BenchmarkClusterThroughput(b *testing.B) {
	in := cpuInput()
	for _, hosts := range []int{1, 2} {
		b.Run(fmt.Sprintf("hosts=%d", hosts), func(b *testing.B) {
			e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: b.TempDir(), Logger: quiet})
			require.NoError(b, err)
			defer e.Shutdown()
			for i := range hosts {
				id := fmt.Sprintf("h%d", i)
				m := newMemberB(b, id, func() (*nats.Conn, error) { return e.Connect(id) }, memberOptions{maxInstances: 1})
				defer m.stop(b)
			}
			nc, err := e.Connect("bench")
			require.NoError(b, err)
			defer nc.Close()
			client := cluster.NewClient(nc, cluster.ClientConfig{})
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := client.Compute(context.Background(), "core", in); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
