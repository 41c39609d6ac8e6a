package reducer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// BenchmarkNode_Apply measures events/s and apply latency for a trivial (counter) fold
// over 64 keys with one sender per key, with an fsync per event (sync-each) and with
// group commit; the counter emits one intent per event (left pending: nothing carries
// them out), and "group-commit-no-intent" is the same fold without it. Run:
// go test -run '^$' -bench Node_Apply -benchtime 20000x ./host/reducer
func BenchmarkNode_Apply(b *testing.B) {
	const keys = 64
	for _, mode := range []struct {
		name     string
		syncEach bool
		fold     Fold
	}{{"sync-each", true, counterFold}, {"group-commit", false, counterFold}, {"group-commit-no-intent", false, quietCounterFold}} {
		b.Run(mode.name, func(b *testing.B) {
			s := openStore(b, b.TempDir(), NewConfig().WithSyncEach(mode.syncEach))
			defer s.Close()
			n := newNode(b, s, mode.fold)
			ctx := context.Background()
			lat := make([][]time.Duration, keys)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for k := range keys {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprintf("k%d", k)
					for i := k; i < b.N; i += keys {
						t0 := time.Now()
						if _, err := n.Apply(ctx, key, counterEvent(fmt.Sprintf("e%d", i), 1)); err != nil {
							b.Error(err)
							return
						}
						lat[k] = append(lat[k], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			all := slices.Concat(lat...)
			slices.Sort(all)
			if len(all) == 0 {
				return
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// quietCounterFold is counterFold without its intent.
func quietCounterFold(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
	out, err := counterFold(ctx, in)
	out.Intents = nil
	return out, err
}

// busyFold is counterFold after a fixed amount of CPU work (hashing 256 KiB 32 times, a few ms: more than a commit's fsync), so that
// the fold, not the commit, is what two workers share.
func busyFold(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
	buf := make([]byte, 256<<10)
	for range 32 {
		sum := sha256.Sum256(buf)
		buf[0] = sum[0]
	}
	return counterFold(ctx, in)
}

// BenchmarkNode_TwoKeysParallel measures per-key order with two keys in parallel: one
// sender per key, a CPU-bound fold, with MaxParallel 1 and then 2, both in one run (the
// machine's load is the same for both sides), reporting events/s of each and their
// ratio ("speedup"; the target is ≥ 1.8 on 2 free cores). Run:
// go test -run '^$' -bench Node_TwoKeysParallel -benchtime 200x ./host/reducer
func BenchmarkNode_TwoKeysParallel(b *testing.B) {
	measure := func(workers, n int) time.Duration {
		s := openStore(b, b.TempDir(), NewConfig().WithMaxParallel(workers))
		defer s.Close()
		node := newNode(b, s, busyFold)
		var wg sync.WaitGroup
		start := time.Now()
		for k := range 2 {
			wg.Go(func() {
				key := fmt.Sprintf("k%d", k)
				for i := k; i < n; i += 2 {
					if _, err := node.Apply(context.Background(), key, counterEvent(fmt.Sprintf("e%d", i), 1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	var one, two time.Duration
	for range 2 { // alternate, so a burst of load hits both sides
		one += measure(1, b.N/2)
		two += measure(2, b.N/2)
	}
	b.ReportMetric(float64(b.N)/one.Seconds(), "events/s-1-worker")
	b.ReportMetric(float64(b.N)/two.Seconds(), "events/s-2-workers")
	b.ReportMetric(one.Seconds()/two.Seconds(), "speedup")
}
