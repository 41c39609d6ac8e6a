package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
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

// BenchmarkReducerCluster applies counter events through a 3-host cluster (one embedded
// NATS server, in-process connections): from the keys' owner and from another host
// (forwarded to the owner), 64 keys, 16 senders; then the takeover time: the owner of a
// busy key is killed (no lease release) and another host's next Apply of the key is
// timed until it is answered (target ≤ 2 s with the default 1.5 s lease).
func BenchmarkReducerCluster(b *testing.B) {
	e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: b.TempDir(), Logger: quiet})
	require.NoError(b, err)
	defer e.Shutdown()
	ctx := context.Background()
	hosts := []*reducerHost{newReducerHost(b, e, "a", 0), newReducerHost(b, e, "b", 0), newReducerHost(b, e, "c", 0)}
	// Host a owns every key's partition.
	for k := range 64 {
		_, err := hosts[0].r.Apply(ctx, "counter", fmt.Sprintf("k%d", k), counterEvent("init", 1))
		require.NoError(b, err)
	}
	var seq atomic.Uint64
	for _, path := range []struct {
		name string
		h    *reducerHost
	}{{"owner", hosts[0]}, {"forwarded", hosts[1]}} {
		b.Run(path.name, func(b *testing.B) {
			b.SetParallelism(8) // 16 senders on 2 cores
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					key := fmt.Sprintf("k%d", n%64)
					if _, err := path.h.r.Apply(ctx, "counter", key, counterEvent(fmt.Sprintf("e%d", n), 1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Run("takeover", func(b *testing.B) {
		var total, worst time.Duration
		for i := range b.N {
			// A cluster of its own, so that the owner's partition is free.
			e, err := cluster.StartEmbedded(cluster.EmbeddedConfig{StoreDir: b.TempDir(), Logger: quiet})
			require.NoError(b, err)
			owner := newReducerHost(b, e, "owner", 0)
			other := newReducerHost(b, e, "other", 0)
			key := fmt.Sprintf("busy%d", i)
			for j := range 20 {
				_, err := owner.r.Apply(ctx, "counter", key, counterEvent(fmt.Sprintf("%s-%d", key, j), 1))
				require.NoError(b, err)
			}
			o, err := other.r.Owner(ctx, "counter", key)
			require.NoError(b, err)
			require.Equal(b, "owner", o)
			owner.kill()
			start := time.Now()
			res, err := other.r.Apply(ctx, "counter", key, counterEvent(key+"-after", 1))
			took := time.Since(start)
			require.NoError(b, err)
			require.Equal(b, uint64(21), res.Sequence)
			total += took
			worst = max(worst, took)
			other.r.Close()
			e.Shutdown()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/takeover")
		b.ReportMetric(float64(worst.Milliseconds()), "max-ms/takeover")
	})
}
