package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCache_ONEXScenarios replays the concurrency scenarios of omnibase_core's
// thread-safety guide that its own cache fails.
func TestCache_ONEXScenarios(t *testing.T) {
	t.Run("5 goroutines x 20 puts of distinct keys into a size-10 cache", func(t *testing.T) {
		const goroutines, puts, maxSize = 5, 20, 10
		c := newTestCache(t, Config{MaxEntries: maxSize})
		var calls atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				<-start
				for i := range puts {
					key := KeyOf("d", "c", fmt.Appendf(nil, "%d/%d", g, i))
					v, hit, err := c.GetOrCompute(t.Context(), key, constant(&calls, "v", 0))
					assert.NoError(t, err)
					assert.NotEqual(t, Hit, hit)
					assert.Equal(t, "v", string(v))
				}
			})
		}
		close(start)
		wg.Wait()

		c.store.CleanUp()
		s := c.Stats()
		assert.LessOrEqual(t, s.TotalEntries, maxSize)
		assert.Equal(t, maxSize, s.MaxSize)
		assert.EqualValues(t, goroutines*puts, calls.Load())
		assert.EqualValues(t, goroutines*puts, s.TotalRequests)
		assert.EqualValues(t, goroutines*puts, s.Misses)
		assert.Zero(t, s.Hits)
		assert.EqualValues(t, goroutines*puts, uint64(s.TotalEntries)+s.Evictions)
	})

	t.Run("10 goroutines get, compute and put one key", func(t *testing.T) {
		const goroutines = 10
		c := newTestCache(t, Config{})
		key := KeyOf("d", "sum_numbers", []byte("[1,2,3]"))
		var calls atomic.Int32
		compute := func(context.Context) ([]byte, time.Duration, error) {
			calls.Add(1)
			return fmt.Append(nil, 6), 0, nil
		}
		start := make(chan struct{})
		results := make([]string, goroutines)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				<-start
				v, _, err := c.GetOrCompute(t.Context(), key, compute)
				assert.NoError(t, err)
				results[g] = string(v)
			})
		}
		close(start)
		wg.Wait()

		assert.EqualValues(t, 1, calls.Load(), "one computation per key lifetime")
		for _, r := range results {
			assert.Equal(t, "6", r)
		}
		s := c.Stats()
		assert.EqualValues(t, goroutines, s.TotalRequests)
		assert.EqualValues(t, 1, s.Misses, "only the caller that computed missed")
		assert.EqualValues(t, goroutines-1, s.Hits+s.Joined, "the others found the value or waited for it")
		assert.Equal(t, 1, s.ValidEntries)
	})
}

// TestCache_Hammer races every operation against every other on a small key
// space in a small cache, then checks that no request was lost, that every
// value returned is the one for its key, that no flight leaked and that both
// bounds hold.
func TestCache_Hammer(t *testing.T) {
	const (
		goroutines = 16
		ops        = 2000
		keySpace   = 64
		maxEntries = 16
		maxBytes   = 8 * (256 + EntryOverhead)
	)
	c := newTestCache(t, Config{MaxEntries: maxEntries, MaxBytes: maxBytes})
	keyOf := func(i int) Key { return KeyOf("d", "c", []byte{byte(i)}) }
	// valueOf gives each key its own length (0-255 bytes) and contents.
	valueOf := func(i int) []byte {
		v := make([]byte, i*4%256)
		for j := range v {
			v[j] = byte(i)
		}
		return v
	}
	computeOf := func(i int, calls *atomic.Int64) ComputeFunc {
		return func(ctx context.Context) ([]byte, time.Duration, error) {
			calls.Add(1)
			switch {
			case i%11 == 0:
				return nil, 0, fmt.Errorf("key %d fails", i)
			case i%13 == 0:
				return valueOf(i), -1, nil // not stored
			case i%17 == 0:
				panic(i)
			}
			return valueOf(i), time.Duration(1+i) * time.Millisecond, nil
		}
	}

	var (
		hits, joined, misses, failures, cancelled, calls atomic.Int64
		// missedAtOnce counts the misses whose context was done before
		// the call: they start no computation.
		missedAtOnce atomic.Int64
		stop         = make(chan struct{})
		checker      sync.WaitGroup
	)
	// A reader checks the invariants of Stats while the hammer runs.
	checker.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := c.Stats()
			assert.Equal(t, s.Hits+s.SharedHits+s.Joined+s.Misses, s.TotalRequests)
			assert.Equal(t, s.TotalEntries, s.ValidEntries+s.ExpiredEntries)
		}
	})

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for n := range ops {
				i := r.IntN(keySpace)
				ctx := t.Context()
				if n%29 == 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithCancel(ctx)
					cancel()
				}
				v, hit, err := c.GetOrCompute(ctx, keyOf(i), computeOf(i, &calls))
				switch hit {
				case Hit:
					hits.Add(1)
				case Joined:
					joined.Add(1)
				case Miss:
					misses.Add(1)
					if n%29 == 0 {
						missedAtOnce.Add(1)
					}
				default:
					t.Errorf("outcome %v without a shared level", hit)
				}
				switch {
				case err == nil:
					if !assert.Equal(t, valueOf(i), v, "key %d", i) {
						return
					}
				case ctx.Err() != nil:
					cancelled.Add(1)
				default:
					failures.Add(1)
					assert.True(t, i%11 == 0 || i%17 == 0, "unexpected error for key %d: %v", i, err)
					assert.NotEqual(t, Hit, hit)
				}
				switch r.IntN(50) {
				case 0:
					c.Invalidate(keyOf(r.IntN(keySpace)))
				case 1:
					if r.IntN(20) == 0 {
						c.Clear()
					}
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	checker.Wait()

	s := c.Stats()
	assert.EqualValues(t, goroutines*ops, s.TotalRequests)
	assert.Equal(t, s.Hits+s.Joined+s.Misses, s.TotalRequests)
	assert.Zero(t, s.SharedHits)
	assert.Equal(t, uint64(hits.Load()), s.Hits)
	assert.Equal(t, uint64(joined.Load()), s.Joined)
	assert.Equal(t, uint64(misses.Load()), s.Misses)
	assert.Positive(t, s.Hits)
	assert.Positive(t, failures.Load())
	assert.Positive(t, cancelled.Load())
	assert.Equal(t, calls.Load(), misses.Load()-missedAtOnce.Load(), "one computation per miss that started one")
	assert.Equal(t, 0, flightCount(c), "no flight outlives its callers")

	c.store.CleanUp()
	s = c.Stats()
	assert.LessOrEqual(t, s.TotalEntries, maxEntries)
	assert.LessOrEqual(t, storedBytes(c), int64(maxBytes))
	assert.LessOrEqual(t, c.store.WeightedSize(), c.weights.maxWeight)
	t.Logf("%+v computations=%d failures=%d cancelled=%d", s, calls.Load(), failures.Load(), cancelled.Load())
	require.Equal(t, s.Hits+s.Joined+s.Misses, s.TotalRequests)
}
