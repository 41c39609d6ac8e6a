package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func trivialRunner() Runner {
	return RunnerFunc(func(context.Context, StepRequest) (json.RawMessage, error) { return json.RawMessage(`1`), nil })
}

func benchEngine(b *testing.B, dir string, noSync bool, r Runner) *Engine {
	e, err := Open(filepath.Join(dir, "workflows.db"), Config{
		Definitions: []Definition{{Name: "seq", Plan: seqPlanner(10, false, nil)}},
		Runner:      r, NoSync: noSync,
	})
	require.NoError(b, err)
	return e
}

// BenchmarkEngine_Workflow10 runs 10-step sequential workflows of trivial steps, one
// at a time (latency: ns/op is one workflow, start to completed) and 16·GOMAXPROCS at once
// (throughput: workflows/s), with and without an fsync per state change.
// Run: go test -run '^$' -bench Engine_Workflow10 -benchtime 2000x ./host/orchestrator
func BenchmarkEngine_Workflow10(b *testing.B) {
	for _, sync := range []bool{false, true} {
		name := "nosync"
		if sync {
			name = "fsync"
		}
		b.Run(name+"/serial", func(b *testing.B) {
			e := benchEngine(b, b.TempDir(), !sync, trivialRunner())
			defer e.Close()
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				id := fmt.Sprintf("w%d", i)
				if _, _, err := e.Start(ctx, id, "seq", nil); err != nil {
					b.Fatal(err)
				}
				if _, err := e.Wait(ctx, id); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10, "µs/step")
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			e := benchEngine(b, b.TempDir(), !sync, trivialRunner())
			defer e.Close()
			ctx := context.Background()
			var n atomic.Int64
			b.SetParallelism(16) // 16 goroutines per GOMAXPROCS: 32 on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprintf("w%d", n.Add(1))
					if _, _, err := e.Start(ctx, id, "seq", nil); err != nil {
						b.Error(err)
						return
					}
					if _, err := e.Wait(ctx, id); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "workflows/s")
		})
	}
}

// BenchmarkEngine_Resume measures Open with N running workflows on disk (each with a
// step recorded as running) until all of them have completed: the cost of resuming
// after a crash. Run: go test -run '^$' -bench Engine_Resume -benchtime 3x ./host/orchestrator
func BenchmarkEngine_Resume(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				dir := b.TempDir()
				block := RunnerFunc(func(ctx context.Context, _ StepRequest) (json.RawMessage, error) {
					<-ctx.Done()
					return nil, ctx.Err()
				})
				e := benchEngine(b, dir, true, block)
				for i := range n {
					_, _, err := e.Start(context.Background(), fmt.Sprintf("w%05d", i), "seq", nil)
					require.NoError(b, err)
				}
				for i := 0; i < n; i++ { // wait until each has its first step recorded as running
					w, err := e.Get(fmt.Sprintf("w%05d", i))
					require.NoError(b, err)
					if len(w.Steps) == 0 {
						i--
						time.Sleep(time.Millisecond)
					}
				}
				require.NoError(b, e.Close())
				b.StartTimer()
				start := time.Now()
				e = benchEngine(b, dir, true, trivialRunner())
				opened := time.Since(start)
				for i := range n {
					if _, err := e.Wait(context.Background(), fmt.Sprintf("w%05d", i)); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(opened.Microseconds())/float64(n), "µs-open/workflow")
				require.NoError(b, e.Close())
			}
		})
	}
}
