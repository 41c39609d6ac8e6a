package metrics

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistry_Observe(t *testing.T) {
	r := New()
	r.Observe("sum", 1, 2*time.Millisecond, false)
	r.Observe("sum", 3, 4*time.Millisecond, true)
	r.Observe("sum", 1, 0, false) // a cache hit
	r.Observe("stats", 1, time.Millisecond, false)

	got := r.Snapshot()
	require.Len(t, got, 2)
	assert.Equal(t, Snapshot{
		TotalOperations: 3, SuccessCount: 2, ErrorCount: 1, TotalItemsProcessed: 5,
		AvgProcessingTimeMS: 2, MinProcessingTimeMS: 0, MaxProcessingTimeMS: 4,
	}, got["sum"])
	assert.Equal(t, uint64(1), got["stats"].TotalOperations)
	assert.Equal(t, 1.0, got["stats"].MinProcessingTimeMS)
}

func TestRegistry_SnapshotIsACopy(t *testing.T) {
	r := New()
	r.Observe("sum", 1, time.Millisecond, false)
	s := r.Snapshot()
	r.Observe("sum", 1, time.Millisecond, false)
	assert.Equal(t, uint64(1), s["sum"].TotalOperations)
}

// TestRegistry_Hammer: 64 goroutines × 2,000 observations over 4 computations; every
// counter is exact afterwards.
func TestRegistry_Hammer(t *testing.T) {
	const goroutines, ops = 64, 2000
	names := []string{"a", "b", "c", "d"}
	r := New()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range ops {
				r.Observe(names[(g+i)%len(names)], 2, time.Duration(1+i%5)*time.Millisecond, i%10 == 0)
			}
			_ = r.Snapshot() // readers race with writers
		})
	}
	wg.Wait()
	var total, errs, items uint64
	for _, name := range names {
		s := r.Snapshot()[name]
		total += s.TotalOperations
		errs += s.ErrorCount
		items += s.TotalItemsProcessed
		assert.Equal(t, s.TotalOperations, s.SuccessCount+s.ErrorCount)
		assert.Equal(t, 1.0, s.MinProcessingTimeMS)
		assert.Equal(t, 5.0, s.MaxProcessingTimeMS)
		assert.InDelta(t, 3.0, s.AvgProcessingTimeMS, 1e-9)
	}
	assert.Equal(t, uint64(goroutines*ops), total)
	assert.Equal(t, uint64(goroutines*ops/10), errs)
	assert.Equal(t, uint64(2*goroutines*ops), items)
}

func BenchmarkRegistry_Observe(b *testing.B) {
	r := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Observe("sum", 1, time.Millisecond, false)
		}
	})
}
