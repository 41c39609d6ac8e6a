package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCache_GetOrCompute_Stampede is the fix for ONEX's stampede: 64 callers
// of one missing key, all waiting before the computation may finish, share a
// single call.
func TestCache_GetOrCompute_Stampede(t *testing.T) {
	const callers = 64
	synctest.Test(t, func(t *testing.T) {
		c := newTestCache(t, Config{})
		key := KeyOf("sha256:plugin", "string_uppercase", []byte("hello"))
		g := newGate("HELLO")

		results := make([]result, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				v, hit, err := c.GetOrCompute(t.Context(), key, g.compute)
				results[i] = result{v, hit, err}
			})
		}
		// Every caller and the computation are blocked: all 64 wait on the
		// one flight, and compute has not returned.
		synctest.Wait()
		require.Equal(t, callers, waiters(c, key))
		require.EqualValues(t, 1, g.calls.Load())
		require.Equal(t, callers, c.Stats().Waiting)

		close(g.release)
		wg.Wait()

		assert.EqualValues(t, 1, g.calls.Load())
		outcomes := map[Outcome]int{}
		for i, r := range results {
			require.NoError(t, r.err, "caller %d", i)
			outcomes[r.hit]++
			assert.Equal(t, "HELLO", string(r.value), "caller %d", i)
		}
		assert.Equal(t, map[Outcome]int{Miss: 1, Joined: callers - 1}, outcomes,
			"the caller that started the computation missed; the others joined it")
		assert.Equal(t, Stats{
			TotalEntries: 1, ValidEntries: 1, MaxSize: DefaultMaxEntries,
			Misses: 1, Joined: callers - 1, TotalRequests: callers,
		}, c.Stats())

		v, hit, err := c.GetOrCompute(t.Context(), key, g.compute)
		require.NoError(t, err)
		assert.Equal(t, Hit, hit)
		assert.Equal(t, "HELLO", string(v))
		assert.EqualValues(t, 1, g.calls.Load())
		assert.Equal(t, 0, flightCount(c))
	})
}

func TestCache_GetOrCompute_Context(t *testing.T) {
	type ctxKey struct{}
	key := KeyOf("d", "c", nil)
	tests := []struct {
		name string
		run  func(t *testing.T, c *Cache)
	}{
		{
			name: "one waiter gives up, the other still gets the value",
			run: func(t *testing.T, c *Cache) {
				var computeErr error
				g := newGate("v")
				compute := func(ctx context.Context) ([]byte, time.Duration, error) {
					v, ttl, err := g.compute(ctx)
					computeErr = ctx.Err()
					return v, ttl, err
				}
				ctxA, cancelA := context.WithCancel(t.Context())
				a := goGet(ctxA, c, key, compute)
				b := goGet(t.Context(), c, key, compute)
				synctest.Wait()
				require.Equal(t, 2, waiters(c, key))

				cancelA()
				ra := <-a
				require.ErrorIs(t, ra.err, context.Canceled)
				assert.Nil(t, ra.value)
				assert.Equal(t, 1, waiters(c, key))

				close(g.release)
				rb := <-b
				require.NoError(t, rb.err)
				assert.Equal(t, "v", string(rb.value))
				assert.NoError(t, computeErr, "compute's ctx must stay alive while one caller waits")
				assert.Equal(t, 1, c.Stats().ValidEntries)
			},
		},
		{
			name: "all waiters give up, compute's ctx is cancelled and nothing stored",
			run: func(t *testing.T, c *Cache) {
				var calls atomic.Int32
				var computeErr error
				compute := func(ctx context.Context) ([]byte, time.Duration, error) {
					calls.Add(1)
					<-ctx.Done()
					computeErr = ctx.Err()
					return []byte("late"), 0, nil
				}
				ctxA, cancelA := context.WithCancel(t.Context())
				ctxB, cancelB := context.WithCancel(t.Context())
				a := goGet(ctxA, c, key, compute)
				b := goGet(ctxB, c, key, compute)
				synctest.Wait()

				cancelA()
				require.ErrorIs(t, (<-a).err, context.Canceled)
				synctest.Wait()
				assert.NoError(t, computeErr, "one caller still waits")

				cancelB()
				require.ErrorIs(t, (<-b).err, context.Canceled)
				synctest.Wait()
				require.ErrorIs(t, computeErr, context.Canceled)
				assert.Equal(t, 0, flightCount(c))
				assert.Equal(t, 0, c.Stats().TotalEntries, "an abandoned result is not stored")

				g := newGate("fresh")
				close(g.release)
				v, hit, err := c.GetOrCompute(t.Context(), key, g.compute)
				require.NoError(t, err)
				assert.NotEqual(t, Hit, hit)
				assert.Equal(t, "fresh", string(v))
				assert.EqualValues(t, 1, calls.Load())
			},
		},
		{
			name: "deadline ends the wait with DeadlineExceeded",
			run: func(t *testing.T, c *Cache) {
				g := newGate("v")
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				_, _, err := c.GetOrCompute(ctx, key, g.compute)
				require.ErrorIs(t, err, context.DeadlineExceeded)
				close(g.release)
			},
		},
		{
			name: "a caller arriving while the flight runs joins it",
			run: func(t *testing.T, c *Cache) {
				g := newGate("v")
				a := goGet(t.Context(), c, key, g.compute)
				synctest.Wait()
				b := goGet(t.Context(), c, key, g.compute)
				synctest.Wait()
				require.Equal(t, 2, waiters(c, key))
				close(g.release)
				ra, rb := <-a, <-b
				require.NoError(t, ra.err)
				require.NoError(t, rb.err)
				assert.Equal(t, "v", string(ra.value))
				assert.Equal(t, "v", string(rb.value))
				assert.EqualValues(t, 1, g.calls.Load())
				assert.Equal(t, Miss, ra.hit)
				assert.Equal(t, Joined, rb.hit)
				s := c.Stats()
				assert.EqualValues(t, 1, s.Misses)
				assert.EqualValues(t, 1, s.Joined, "a joined flight is not a miss")
				assert.EqualValues(t, 2, s.TotalRequests)
			},
		},
		{
			name: "a value a shared level had is a shared hit for the caller that asked it",
			run: func(t *testing.T, c *Cache) {
				release := make(chan struct{})
				compute := func(ctx context.Context) ([]byte, time.Duration, error) {
					<-release
					MarkShared(t.Context()) // not compute's context: ignored
					MarkShared(ctx)
					return []byte("v"), 0, nil
				}
				a := goGet(t.Context(), c, key, compute)
				synctest.Wait()
				b := goGet(t.Context(), c, key, compute)
				synctest.Wait()
				close(release)
				ra, rb := <-a, <-b
				require.NoError(t, ra.err)
				require.NoError(t, rb.err)
				assert.Equal(t, SharedHit, ra.hit)
				assert.Equal(t, Joined, rb.hit)
				_, o, err := c.GetOrCompute(t.Context(), key, compute)
				require.NoError(t, err)
				assert.Equal(t, Hit, o, "stored locally")
				s := c.Stats()
				assert.Equal(t, [4]uint64{1, 1, 1, 0}, [4]uint64{s.Hits, s.SharedHits, s.Joined, s.Misses})
				assert.EqualValues(t, 3, s.TotalRequests)
				assert.InDelta(t, 100*2.0/3, s.HitRate, 1e-9)
			},
		},
		{
			name: "compute's ctx keeps the first caller's values but not its cancellation",
			run: func(t *testing.T, c *Cache) {
				var got any
				var deadline bool
				compute := func(ctx context.Context) ([]byte, time.Duration, error) {
					got = ctx.Value(ctxKey{})
					_, deadline = ctx.Deadline()
					return []byte("v"), 0, nil
				}
				ctx, cancel := context.WithTimeout(context.WithValue(t.Context(), ctxKey{}, "tenant-1"), time.Hour)
				defer cancel()
				_, _, err := c.GetOrCompute(ctx, key, compute)
				require.NoError(t, err)
				assert.Equal(t, "tenant-1", got)
				assert.False(t, deadline)
			},
		},
		{
			name: "a miss with a done ctx starts nothing",
			run: func(t *testing.T, c *Cache) {
				var calls atomic.Int32
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				_, hit, err := c.GetOrCompute(ctx, key, constant(&calls, "v", 0))
				require.ErrorIs(t, err, context.Canceled)
				assert.Equal(t, Miss, hit)
				synctest.Wait()
				assert.Zero(t, calls.Load())
				assert.EqualValues(t, 1, c.Stats().Misses)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tt.run(t, newTestCache(t, Config{}))
			})
		})
	}
}

func TestCache_GetOrCompute_Errors(t *testing.T) {
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		compute ComputeFunc
		check   func(t *testing.T, err error)
	}{
		{
			name:    "error",
			compute: func(context.Context) ([]byte, time.Duration, error) { return []byte("partial"), 0, errBoom },
			check:   func(t *testing.T, err error) { assert.ErrorIs(t, err, errBoom) },
		},
		{
			name:    "panic with a string",
			compute: func(context.Context) ([]byte, time.Duration, error) { panic("kaboom") },
			check: func(t *testing.T, err error) {
				var pe *PanicError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "kaboom", pe.Value)
				assert.NotEmpty(t, pe.Stack)
			},
		},
		{
			name:    "panic with an error",
			compute: func(context.Context) ([]byte, time.Duration, error) { panic(errBoom) },
			check: func(t *testing.T, err error) {
				var pe *PanicError
				require.ErrorAs(t, err, &pe)
				assert.ErrorIs(t, err, errBoom)
			},
		},
		{
			name:    "panic with nil",
			compute: func(context.Context) ([]byte, time.Duration, error) { panic(nil) },
			check: func(t *testing.T, err error) {
				var pe *PanicError
				require.ErrorAs(t, err, &pe)
				var pn *runtime.PanicNilError
				assert.ErrorAs(t, err, &pn)
			},
		},
		{
			name:    "runtime.Goexit",
			compute: func(context.Context) ([]byte, time.Duration, error) { runtime.Goexit(); return nil, 0, nil },
			check:   func(t *testing.T, err error) { assert.ErrorIs(t, err, ErrComputeExited) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCache(t, Config{})
				key := KeyOf("d", tt.name, nil)

				// Three waiters of the failing computation all get its error.
				release := make(chan struct{})
				var calls atomic.Int32
				failing := func(ctx context.Context) ([]byte, time.Duration, error) {
					calls.Add(1)
					<-release
					return tt.compute(ctx)
				}
				chans := []<-chan result{
					goGet(t.Context(), c, key, failing),
					goGet(t.Context(), c, key, failing),
					goGet(t.Context(), c, key, failing),
				}
				synctest.Wait()
				close(release)
				for _, ch := range chans {
					r := <-ch
					require.Error(t, r.err)
					assert.Nil(t, r.value)
					assert.NotEqual(t, Hit, r.hit)
					tt.check(t, r.err)
				}
				assert.EqualValues(t, 1, calls.Load())
				assert.Equal(t, 0, c.Stats().TotalEntries, "errors are never cached")

				// The key is not poisoned: the next call computes afresh.
				var ok atomic.Int32
				v, hit, err := c.GetOrCompute(t.Context(), key, constant(&ok, "ok", 0))
				require.NoError(t, err)
				assert.NotEqual(t, Hit, hit)
				assert.Equal(t, "ok", string(v))
				assert.EqualValues(t, 1, ok.Load())
				assert.Equal(t, 1, c.Stats().ValidEntries)
			})
		})
	}
}

// TestCache_Invalidate checks that a removal during a computation wins over
// its result, and that removals are not counted as evictions.
func TestCache_Invalidate(t *testing.T) {
	tests := []struct {
		name   string
		remove func(c *Cache, key Key)
	}{
		{name: "Invalidate", remove: func(c *Cache, key Key) { c.Invalidate(key) }},
		{name: "Clear", remove: func(c *Cache, _ Key) { c.Clear() }},
	}
	for _, tt := range tests {
		t.Run(tt.name+" of a stored entry", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCache(t, Config{})
				key := KeyOf("d", "c", []byte("in"))
				var calls atomic.Int32
				_, _, err := c.GetOrCompute(t.Context(), key, constant(&calls, "v", 0))
				require.NoError(t, err)
				tt.remove(c, key)
				_, hit, err := c.GetOrCompute(t.Context(), key, constant(&calls, "v", 0))
				require.NoError(t, err)
				assert.NotEqual(t, Hit, hit)
				assert.EqualValues(t, 2, calls.Load())
				s := c.Stats()
				assert.Zero(t, s.Evictions)
				assert.Zero(t, s.Expirations)
			})
		})
		t.Run(tt.name+" during compute wins", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCache(t, Config{})
				key := KeyOf("d", "c", []byte("in"))
				old := newGate("old")
				first := goGet(t.Context(), c, key, old.compute)
				synctest.Wait()

				tt.remove(c, key)
				assert.Equal(t, 0, flightCount(c), "the running flight is detached")

				// A caller after the removal starts its own computation
				// instead of joining the detached one.
				fresh := newGate("new")
				second := goGet(t.Context(), c, key, fresh.compute)
				synctest.Wait()
				assert.EqualValues(t, 1, fresh.calls.Load())

				close(old.release)
				r := <-first
				require.NoError(t, r.err)
				assert.Equal(t, "old", string(r.value), "the detached flight's waiters get its result")
				assert.Equal(t, 0, c.Stats().TotalEntries, "but it is not stored")

				close(fresh.release)
				r = <-second
				require.NoError(t, r.err)
				assert.Equal(t, "new", string(r.value))

				v, hit, err := c.GetOrCompute(t.Context(), key, old.compute)
				require.NoError(t, err)
				assert.Equal(t, Hit, hit)
				assert.Equal(t, "new", string(v))
			})
		})
	}
}

func TestCache_GetOrCompute_TTL(t *testing.T) {
	tests := []struct {
		name      string
		ttl       time.Duration // returned by compute
		aliveAt   time.Duration // still a hit after this long
		goneAfter time.Duration // a miss after this long (0: never stored)
	}{
		{name: "zero ttl takes Config.TTL", ttl: 0, aliveAt: time.Minute - time.Second, goneAfter: time.Minute},
		{name: "positive ttl overrides Config.TTL", ttl: 10 * time.Second, aliveAt: 9 * time.Second, goneAfter: 10 * time.Second},
		{name: "longer ttl than Config.TTL", ttl: time.Hour, aliveAt: time.Hour - time.Second, goneAfter: time.Hour},
		{name: "negative ttl is not stored", ttl: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := newTestCache(t, Config{TTL: time.Minute})
				key := KeyOf("d", "c", nil)
				var calls atomic.Int32
				compute := constant(&calls, "v", tt.ttl)
				get := func() bool {
					t.Helper()
					_, hit, err := c.GetOrCompute(t.Context(), key, compute)
					require.NoError(t, err)
					return hit == Hit
				}
				start := time.Now()
				require.False(t, get())
				if tt.goneAfter == 0 {
					assert.False(t, get())
					assert.EqualValues(t, 2, calls.Load())
					assert.Equal(t, 0, c.Stats().TotalEntries)
					return
				}
				time.Sleep(tt.aliveAt - time.Since(start))
				assert.True(t, get(), "hit just before the TTL")
				time.Sleep(tt.goneAfter - time.Since(start))
				assert.False(t, get(), "miss at the TTL")
				assert.EqualValues(t, 2, calls.Load())
			})
		})
	}
}

// TestCache_Stats_Expiry checks what Stats reports about expired entries,
// both before otter removes them and after.
func TestCache_Stats_Expiry(t *testing.T) {
	t.Run("expired but not yet removed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newTestCache(t, Config{TTL: time.Minute})
			c.Close() // no periodic clean-up: otter removes nothing by itself
			var calls atomic.Int32
			for i := range 3 {
				ttl := time.Duration(0)
				if i == 0 {
					ttl = time.Hour
				}
				_, _, err := c.GetOrCompute(t.Context(), KeyOf("d", "c", []byte{byte(i)}), constant(&calls, "v", ttl))
				require.NoError(t, err)
			}
			time.Sleep(2 * time.Minute)

			s := c.Stats()
			assert.Equal(t, 3, s.TotalEntries)
			assert.Equal(t, 1, s.ValidEntries)
			assert.Equal(t, 2, s.ExpiredEntries)

			synctest.Wait()
			c.store.CleanUp()
			s = c.Stats()
			assert.Equal(t, 1, s.TotalEntries)
			assert.Equal(t, 1, s.ValidEntries)
			assert.Zero(t, s.ExpiredEntries)
			assert.EqualValues(t, 2, s.Expirations)
			assert.Zero(t, s.Evictions)
		})
	})
	t.Run("removed by otter's periodic clean-up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := newTestCache(t, Config{TTL: time.Minute})
			var calls atomic.Int32
			_, _, err := c.GetOrCompute(t.Context(), KeyOf("d", "c", nil), constant(&calls, "v", 0))
			require.NoError(t, err)
			time.Sleep(2 * time.Minute)
			synctest.Wait()
			s := c.Stats()
			assert.Equal(t, 0, s.TotalEntries)
			assert.EqualValues(t, 1, s.Expirations)
		})
	})
}

func TestCache_Stats(t *testing.T) {
	t.Run("hit rate and request counts", func(t *testing.T) {
		c := newTestCache(t, Config{})
		var calls atomic.Int32
		for i := range 4 {
			// keys 0,1,0,0: 2 misses then 2 hits
			k := KeyOf("d", "c", []byte{byte(min(i, 1) * (i % 2))})
			_, _, err := c.GetOrCompute(t.Context(), k, constant(&calls, "v", 0))
			require.NoError(t, err)
		}
		s := c.Stats()
		assert.EqualValues(t, 2, s.Hits)
		assert.EqualValues(t, 2, s.Misses)
		assert.EqualValues(t, 4, s.TotalRequests)
		assert.InDelta(t, 50.0, s.HitRate, 1e-9)
	})
	t.Run("JSON uses ONEX's names", func(t *testing.T) {
		b, err := json.Marshal(Stats{})
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		want := []string{
			"total_entries", "expired_entries", "valid_entries", "max_size", "hits",
			"shared_hits", "joined", "misses", "hit_rate", "evictions", "expirations", "waiting", "total_requests",
		}
		assert.ElementsMatch(t, want, keys(m))
	})
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCache_Bounds checks both bounds and the eviction count. Otter enforces
// bounds during maintenance, which may lag writes; CleanUp runs it now.
func TestCache_Bounds(t *testing.T) {
	tests := []struct {
		name        string
		cfg         Config
		valueLen    int
		puts        int
		wantEntries int // at most
		wantStored  bool
	}{
		{name: "entry count", cfg: Config{MaxEntries: 4}, valueLen: 10, puts: 20, wantEntries: 4, wantStored: true},
		{name: "bytes", cfg: Config{MaxEntries: 100, MaxBytes: 4 * (100 + EntryOverhead)}, valueLen: 100, puts: 20, wantEntries: 4, wantStored: true},
		{name: "value larger than MaxBytes is not stored", cfg: Config{MaxBytes: 1000}, valueLen: 1000 - EntryOverhead + 1, puts: 3, wantEntries: 0},
		{name: "value exactly MaxBytes is stored", cfg: Config{MaxBytes: 1000}, valueLen: 1000 - EntryOverhead, puts: 3, wantEntries: 1, wantStored: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCache(t, tt.cfg)
			cfg, err := tt.cfg.withDefaults()
			require.NoError(t, err)
			value := make([]byte, tt.valueLen)
			for i := range tt.puts {
				compute := func(context.Context) ([]byte, time.Duration, error) { return value, 0, nil }
				v, _, err := c.GetOrCompute(t.Context(), KeyOf("d", "c", fmt.Append(nil, i)), compute)
				require.NoError(t, err)
				assert.Len(t, v, tt.valueLen)
			}
			c.store.CleanUp()
			s := c.Stats()
			assert.LessOrEqual(t, s.TotalEntries, tt.wantEntries)
			assert.LessOrEqual(t, storedBytes(c), cfg.MaxBytes)
			if tt.wantStored {
				assert.Positive(t, s.TotalEntries)
				assert.EqualValues(t, tt.puts, uint64(s.TotalEntries)+s.Evictions, "every stored entry is held or counted as evicted")
			} else {
				assert.Zero(t, s.Evictions)
			}
		})
	}
}
