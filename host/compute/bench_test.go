package compute_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/host/internal/hosttest"
)

// The compute benchmarks measure what the compute node adds: parallel batches across
// per-goroutine instances, against one instance shared behind a lock (the design ONEX's
// guide warns about), and the cache. BENCHMARKS.md holds the results.

// statsInput is the CPU-bound work item: stats over 10,000 numbers.
func statsInput(b *testing.B, seed int) abi.ComputeInput {
	b.Helper()
	nums := make([]float64, 10000)
	for i := range nums {
		nums[i] = float64((i*7919 + seed) % 10007)
	}
	data, err := json.Marshal(nums)
	if err != nil {
		b.Fatal(err)
	}
	return abi.ComputeInput{ComputationType: "stats", Data: data, NoCache: true}
}

func benchCoreNode(b *testing.B, cfg host.Config) *compute.Node {
	b.Helper()
	h, _ := hosttest.NewHost(b, cfg)
	p := hosttest.LoadGo(b, h, "plugins/core", host.PluginConfig{Prewarm: cfg.MaxInstances})
	node, err := compute.New(p)
	if err != nil {
		b.Fatal(err)
	}
	return node
}

// BenchmarkBatch runs a batch of 16 stats items with 1 and 2 workers (each on its own
// instance). Target: ≥ 1.9× throughput with 2 workers on 2 cores.
func BenchmarkBatch(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			node := benchCoreNode(b, host.NewConfig().WithMaxInstances(workers))
			inputs := make([]abi.ComputeInput, 16)
			for i := range inputs {
				inputs[i] = statsInput(b, i)
			}
			b.ReportAllocs()
			for b.Loop() {
				results, err := node.ProcessBatch(context.Background(), inputs, compute.BatchOptions{Workers: workers})
				if err != nil || results[0].Err != nil {
					b.Fatal(err, results[0].Err)
				}
			}
			b.ReportMetric(float64(b.N*len(inputs))/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkShared runs the same stats work from 8 goroutines with one instance per
// goroutine (the pool holds 8) and with every goroutine sharing a single instance — the
// pool bounded at 1 is exactly one instance behind a lock.
func BenchmarkShared(b *testing.B) {
	for _, c := range []struct {
		name      string
		instances int
	}{{"own-instance", 8}, {"one-shared-instance", 1}} {
		b.Run(c.name, func(b *testing.B) {
			node := benchCoreNode(b, host.NewConfig().WithMaxInstances(c.instances))
			in := statsInput(b, 1)
			b.ReportAllocs()
			b.SetParallelism(4) // 8 goroutines on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := node.Process(context.Background(), in); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkCacheHit compares a cache hit and a miss of stats over 10,000 numbers through
// Node.Process, and a hit on a 1 KiB input (key hashing included).
func BenchmarkCacheHit(b *testing.B) {
	node := benchCoreNode(b, host.NewConfig())
	ctx := context.Background()
	stats := statsInput(b, 3)
	stats.NoCache = false
	kib := abi.ComputeInput{ComputationType: "default", Data: json.RawMessage(`"` + strings.Repeat("x", 1<<10-2) + `"`), OperationID: "op"}
	for _, in := range []abi.ComputeInput{stats, kib} {
		if _, err := node.Process(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("stats/hit", func(b *testing.B) { benchProcess(b, node, stats, true) })
	b.Run("stats/miss", func(b *testing.B) {
		miss := stats
		miss.NoCache = true
		benchProcess(b, node, miss, false)
	})
	b.Run("1KiB/hit", func(b *testing.B) { benchProcess(b, node, kib, true) })
}

func benchProcess(b *testing.B, node *compute.Node, in abi.ComputeInput, wantHit bool) {
	b.ReportAllocs()
	var once sync.Once
	for b.Loop() {
		out, err := node.Process(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		once.Do(func() {
			if out.CacheHit != wantHit {
				b.Fatalf("cache_hit = %v, want %v", out.CacheHit, wantHit)
			}
		})
	}
}
