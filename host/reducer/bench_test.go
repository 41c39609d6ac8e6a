package reducer

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkNode_Apply measures events/s and apply latency for a trivial (counter) fold
// over 64 keys with one sender per key, with an fsync per event (sync-each) and with
// group commit. Run: go test -run '^$' -bench Node_Apply -benchtime 20000x ./host/reducer
func BenchmarkNode_Apply(b *testing.B) {
	const keys = 64
	for _, mode := range []struct {
		name     string
		syncEach bool
	}{{"sync-each", true}, {"group-commit", false}} {
		b.Run(mode.name, func(b *testing.B) {
			s := openStore(b, b.TempDir(), NewConfig().WithSyncEach(mode.syncEach))
			defer s.Close()
			n := newNode(b, s, counterFold)
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
