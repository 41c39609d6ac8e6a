package pool

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	newFn := func(context.Context) (int, error) { return 0, nil }
	tests := []struct {
		name    string
		cfg     Config[int]
		wantErr error
	}{
		{name: "minimal", cfg: Config[int]{Max: 1, New: newFn}},
		{name: "MinIdle equals Max", cfg: Config[int]{Max: 2, MinIdle: 2, New: newFn, Close: func(int) {}}},
		{name: "zero Max", cfg: Config[int]{New: newFn}, wantErr: ErrInvalidConfig},
		{name: "negative MinIdle", cfg: Config[int]{Max: 1, MinIdle: -1, New: newFn}, wantErr: ErrInvalidConfig},
		{name: "MinIdle above Max", cfg: Config[int]{Max: 1, MinIdle: 2, New: newFn}, wantErr: ErrInvalidConfig},
		{name: "nil New", cfg: Config[int]{Max: 1}, wantErr: ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Nil(t, p)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Stats{}, p.Stats())
			in, err := p.Acquire(t.Context())
			require.NoError(t, err)
			p.Discard(in) // works with or without Config.Close
			p.Close()
			assert.Equal(t, Stats{Created: 1, Destroyed: 1, Discarded: 1, Acquired: 1}, p.Stats())
		})
	}
}

func TestPool_Acquire(t *testing.T) {
	t.Run("reuses the most recently released instance", func(t *testing.T) {
		p, _ := newTestPool(t, 3, 0)
		var got []*instance
		for range 3 {
			in, err := p.Acquire(t.Context())
			require.NoError(t, err)
			got = append(got, in)
		}
		for _, in := range got {
			p.Release(in)
		}
		for i := 2; i >= 0; i-- {
			in, err := p.Acquire(t.Context())
			require.NoError(t, err)
			assert.Same(t, got[i], in)
		}
		assert.Equal(t, Stats{Live: 3, InUse: 3, Created: 3, Acquired: 6}, p.Stats())
	})

	t.Run("done context fails fast", func(t *testing.T) {
		p, _ := newTestPool(t, 1, 0)
		require.NoError(t, p.Prewarm(t.Context(), 1))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := p.Acquire(ctx)
		require.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, Stats{Live: 1, Idle: 1, Created: 1}, p.Stats())
	})

	t.Run("waits at Max until the deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, f := newTestPool(t, 2, 0)
			for range 2 {
				_, err := p.Acquire(t.Context())
				require.NoError(t, err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			defer cancel()
			start := time.Now()
			_, err := p.Acquire(ctx)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, time.Second, time.Since(start))
			assert.Equal(t, Stats{Live: 2, InUse: 2, Created: 2, Acquired: 2}, p.Stats())
			assert.EqualValues(t, 2, f.calls.Load())
		})
	})

	t.Run("waiters get released instances in FIFO order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, _ := newTestPool(t, 1, 0)
			held, err := p.Acquire(t.Context())
			require.NoError(t, err)
			var waiters []<-chan result
			for range 3 {
				waiters = append(waiters, acquireAsync(t.Context(), p))
				synctest.Wait() // queue them in a known order
			}
			assert.Equal(t, 3, p.Stats().Waiting)
			for i, w := range waiters {
				p.Release(held)
				r := <-w
				require.NoError(t, r.err, "waiter %d", i)
				assert.Same(t, held, r.in, "waiter %d", i)
			}
			assert.Equal(t, Stats{Live: 1, InUse: 1, Created: 1, Acquired: 4}, p.Stats())
		})
	})

	t.Run("New failure frees the slot for a waiter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, f := newTestPool(t, 1, 0)
			f.gate = make(chan struct{})
			f.fail = func(n int64) error {
				if n == 1 {
					return errBoom
				}
				return nil
			}
			first := acquireAsync(t.Context(), p)
			synctest.Wait() // first holds the only slot, blocked in New
			second := acquireAsync(t.Context(), p)
			synctest.Wait()
			assert.Equal(t, Stats{Live: 1, Waiting: 1}, p.Stats())

			f.gate <- struct{}{} // first New fails
			require.ErrorIs(t, (<-first).err, errBoom)
			synctest.Wait()
			f.gate <- struct{}{} // second creates a fresh instance in the freed slot
			r := <-second
			require.NoError(t, r.err)
			assert.EqualValues(t, 1, r.in.id)
			assert.Equal(t, Stats{Live: 1, InUse: 1, Created: 1, Acquired: 1}, p.Stats())
		})
	})

	t.Run("New failure without waiters frees the slot", func(t *testing.T) {
		p, f := newTestPool(t, 1, 0)
		f.fail = func(n int64) error {
			if n == 1 {
				return errBoom
			}
			return nil
		}
		_, err := p.Acquire(t.Context())
		require.ErrorIs(t, err, errBoom)
		assert.Equal(t, Stats{}, p.Stats())
		_, err = p.Acquire(t.Context())
		require.NoError(t, err)
	})

	t.Run("an idle hit does not allocate", func(t *testing.T) {
		p, _ := newTestPool(t, 1, 0)
		ctx := t.Context()
		require.NoError(t, p.Prewarm(ctx, 1))
		allocs := testing.AllocsPerRun(100, func() {
			in, _ := p.Acquire(ctx)
			p.Release(in)
		})
		assert.Zero(t, allocs)
	})
}

func TestPool_Release(t *testing.T) {
	t.Run("instance not in use panics", func(t *testing.T) {
		p, _ := newTestPool(t, 1, 0)
		assert.PanicsWithValue(t, "pool: instance returned that is not in use", func() {
			p.Release(&instance{})
		})
		assert.Panics(t, func() { p.Discard(&instance{}) })
	})

	t.Run("after Close destroys the instance", func(t *testing.T) {
		p, f := newTestPool(t, 2, 0)
		in, err := p.Acquire(t.Context())
		require.NoError(t, err)
		p.Close()
		assert.False(t, in.closed.Load())
		p.Release(in)
		assert.True(t, in.closed.Load())
		assert.Equal(t, Stats{Created: 1, Destroyed: 1, Acquired: 1}, p.Stats())
		assert.Zero(t, f.alive.Load())
	})
}

func TestPool_Discard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f := newTestPool(t, 1, 0)
		bad, err := p.Acquire(t.Context())
		require.NoError(t, err)
		waiter := acquireAsync(t.Context(), p)
		synctest.Wait()

		p.Discard(bad)
		assert.True(t, bad.closed.Load())
		r := <-waiter
		require.NoError(t, r.err)
		assert.NotSame(t, bad, r.in)
		assert.EqualValues(t, 2, r.in.id, "waiter creates a fresh instance")
		assert.EqualValues(t, 1, f.maxAlive.Load(), "old instance closed before the slot is reused")
		assert.Equal(t, Stats{Live: 1, InUse: 1, Created: 2, Destroyed: 1, Discarded: 1, Acquired: 2}, p.Stats())
	})
}

func TestPool_Prewarm(t *testing.T) {
	tests := []struct {
		name      string
		max       int
		held      int // instances acquired before Prewarm
		n         int
		failAfter int64 // New calls that succeed before errBoom; 0 means never fail
		wantErr   error
		wantIdle  int
	}{
		{name: "fills to n", max: 4, n: 3, wantIdle: 3},
		{name: "bounded by Max", max: 4, n: 10, wantIdle: 4},
		{name: "counts in-use instances against Max", max: 4, held: 3, n: 4, wantIdle: 1},
		{name: "zero is a no-op", max: 4, n: 0, wantIdle: 0},
		{name: "New failure keeps earlier instances", max: 4, n: 3, failAfter: 2, wantErr: errBoom, wantIdle: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f := newTestPool(t, tt.max, 0)
			for range tt.held {
				_, err := p.Acquire(t.Context())
				require.NoError(t, err)
			}
			if tt.failAfter > 0 {
				f.fail = func(n int64) error {
					if n > int64(tt.held)+tt.failAfter {
						return errBoom
					}
					return nil
				}
			}
			err := p.Prewarm(t.Context(), tt.n)
			require.ErrorIs(t, err, tt.wantErr)
			s := p.Stats()
			assert.Equal(t, tt.wantIdle, s.Idle)
			assert.Equal(t, tt.held+tt.wantIdle, s.Live)
			assert.Equal(t, uint64(s.Live), s.Created)
		})
	}

	t.Run("done context", func(t *testing.T) {
		p, _ := newTestPool(t, 2, 0)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		require.ErrorIs(t, p.Prewarm(ctx, 2), context.Canceled)
		assert.Equal(t, Stats{}, p.Stats())
	})

	t.Run("closed", func(t *testing.T) {
		p, _ := newTestPool(t, 2, 0)
		p.Close()
		require.ErrorIs(t, p.Prewarm(t.Context(), 2), ErrClosed)
	})
}

func TestPool_TrimIdle(t *testing.T) {
	// Four instances go idle at 0s; one of them is reused at 60s. TrimIdle
	// runs at 90s.
	tests := []struct {
		name        string
		minIdle     int
		idleFor     time.Duration
		wantTrimmed int
	}{
		{name: "trims instances idle long enough", idleFor: time.Minute, wantTrimmed: 3},
		{name: "keeps MinIdle", minIdle: 2, idleFor: time.Minute, wantTrimmed: 2},
		{name: "MinIdle covers all stale ones", minIdle: 4, idleFor: time.Minute, wantTrimmed: 0},
		{name: "zero trims every idle instance", idleFor: 0, wantTrimmed: 4},
		{name: "nothing idle long enough", idleFor: 2 * time.Minute, wantTrimmed: 0},
		{name: "boundary is inclusive", idleFor: 90 * time.Second, wantTrimmed: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p, f := newTestPool(t, 5, tt.minIdle)
				require.NoError(t, p.Prewarm(t.Context(), 4))
				time.Sleep(time.Minute)
				fresh, err := p.Acquire(t.Context())
				require.NoError(t, err)
				p.Release(fresh)
				time.Sleep(30 * time.Second)

				assert.Equal(t, tt.wantTrimmed, p.TrimIdle(tt.idleFor))
				s := p.Stats()
				assert.Equal(t, 4-tt.wantTrimmed, s.Idle)
				assert.Equal(t, s.Idle, s.Live)
				assert.EqualValues(t, tt.wantTrimmed, s.Trimmed)
				assert.EqualValues(t, tt.wantTrimmed, s.Destroyed)
				assert.EqualValues(t, tt.wantTrimmed, f.closed.Load())
				if tt.wantTrimmed < 4 {
					assert.False(t, fresh.closed.Load(), "the recently used instance survives")
				}
			})
		})
	}
}

func TestPool_Close(t *testing.T) {
	t.Run("destroys idle instances now and in-use ones on return", func(t *testing.T) {
		p, f := newTestPool(t, 3, 0)
		require.NoError(t, p.Prewarm(t.Context(), 3))
		a, err := p.Acquire(t.Context())
		require.NoError(t, err)
		b, err := p.Acquire(t.Context())
		require.NoError(t, err)

		p.Close()
		p.Close() // idempotent
		assert.EqualValues(t, 2, f.alive.Load())
		_, err = p.Acquire(t.Context())
		require.ErrorIs(t, err, ErrClosed)
		p.Release(a)
		p.Discard(b)
		assert.True(t, a.closed.Load())
		assert.True(t, b.closed.Load())
		assert.Equal(t, Stats{Created: 3, Destroyed: 3, Discarded: 1, Acquired: 2}, p.Stats())
		assert.Zero(t, f.alive.Load())
		assert.Zero(t, f.badClose.Load())
	})

	t.Run("wakes waiters with ErrClosed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, _ := newTestPool(t, 1, 0)
			_, err := p.Acquire(t.Context())
			require.NoError(t, err)
			waiters := []<-chan result{acquireAsync(t.Context(), p), acquireAsync(t.Context(), p)}
			synctest.Wait()
			require.Equal(t, 2, p.Stats().Waiting)

			p.Close()
			for _, w := range waiters {
				require.ErrorIs(t, (<-w).err, ErrClosed)
			}
			assert.Equal(t, Stats{Live: 1, InUse: 1, Created: 1, Acquired: 1}, p.Stats())
		})
	})

	t.Run("during New destroys the new instance", func(t *testing.T) {
		tests := []struct {
			name string
			call func(context.Context, *Pool[*instance]) error
		}{
			{name: "Acquire", call: func(ctx context.Context, p *Pool[*instance]) error {
				_, err := p.Acquire(ctx)
				return err
			}},
			{name: "Prewarm", call: func(ctx context.Context, p *Pool[*instance]) error {
				return p.Prewarm(ctx, 1)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					p, f := newTestPool(t, 1, 0)
					f.gate = make(chan struct{})
					errc := make(chan error, 1)
					go func() { errc <- tt.call(t.Context(), p) }()
					synctest.Wait() // blocked in New
					p.Close()
					close(f.gate)
					require.ErrorIs(t, <-errc, ErrClosed)
					assert.Equal(t, Stats{Created: 1, Destroyed: 1}, p.Stats())
					assert.Zero(t, f.alive.Load())
				})
			})
		}
	})
}

func BenchmarkPool_AcquireRelease(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		p, _ := newTestPool(b, 1, 0)
		ctx := b.Context()
		require.NoError(b, p.Prewarm(ctx, 1))
		b.ReportAllocs()
		for b.Loop() {
			in, err := p.Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.Release(in)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		// Max exceeds the goroutine count so that an idle instance is always
		// available and the benchmark measures lock contention, not waiting.
		p, _ := newTestPool(b, 1024, 0)
		ctx := b.Context()
		require.NoError(b, p.Prewarm(ctx, 1024))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				in, err := p.Acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				p.Release(in)
			}
		})
	})
}
