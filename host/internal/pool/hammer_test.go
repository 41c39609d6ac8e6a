package pool

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPool_Hammer races the pool's operations against each other and checks
// afterwards that no instance was shared, lost or destroyed twice, that the
// bound held, and that every counter balances.
func TestPool_Hammer(t *testing.T) {
	t.Run("acquire, release and discard", testHammerChurn)
	t.Run("deadline racing a handoff loses nothing", func(t *testing.T) {
		// Both timers fire at the same fake instant, so the waiter sees its
		// deadline and the handoff in either order; both must balance.
		for range 200 {
			synctest.Test(t, func(t *testing.T) {
				p, _ := newTestPool(t, 1, 0)
				held, err := p.Acquire(t.Context())
				require.NoError(t, err)
				ctx, cancel := context.WithTimeout(t.Context(), time.Second)
				defer cancel()
				go func() {
					time.Sleep(time.Second)
					p.Release(held)
				}()
				in, err := p.Acquire(ctx)
				if err == nil {
					assert.Same(t, held, in)
					p.Release(in)
				} else {
					require.ErrorIs(t, err, context.DeadlineExceeded)
				}
				synctest.Wait()
				s := p.Stats()
				assert.Equal(t, Stats{Live: 1, Idle: 1, Created: 1, Acquired: s.Acquired}, s)
			})
		}
	})

	t.Run("Close under load destroys every instance", func(t *testing.T) {
		p, f := newTestPool(t, 4, 0)
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := 0; ; i++ {
					// Every other call has no deadline, so that each goroutine
					// sees ErrClosed eventually.
					ctx, cancel := context.Background(), context.CancelFunc(func() {})
					if i%2 == 1 {
						ctx, cancel = context.WithTimeout(ctx, time.Duration(g%4)*10*time.Microsecond)
					}
					in, err := p.Acquire(ctx)
					cancel()
					switch {
					case errors.Is(err, ErrClosed):
						return
					case err != nil:
						continue
					case i%10 == 0:
						p.Discard(in)
					default:
						p.Release(in)
					}
				}
			})
		}
		time.Sleep(20 * time.Millisecond)
		p.Close()
		wg.Wait()
		s := p.Stats()
		assert.Equal(t, Stats{Created: s.Created, Destroyed: s.Created, Discarded: s.Discarded, Acquired: s.Acquired}, s)
		assert.Zero(t, f.alive.Load())
		assert.Zero(t, f.badClose.Load())
		assert.Equal(t, f.created.Load(), f.closed.Load())
	})
}

// testHammerChurn runs many goroutines in a tight Acquire/Release loop with
// occasional Discard.
func testHammerChurn(t *testing.T) {
	const (
		goroutines = 64
		iterations = 2000
		max        = 8
	)
	tests := []struct {
		name string
		// timeout, if non-zero, bounds every other Acquire, so that
		// cancellations race handoffs.
		timeout time.Duration
	}{
		{name: "no deadlines"},
		{name: "racing deadlines", timeout: 20 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f := newTestPool(t, max, 0)
			var (
				acquired, discarded, timedOut atomic.Uint64
				shared, usedClosed, overMax   atomic.Int64
				wg                            sync.WaitGroup
			)
			for g := range goroutines {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(g), 1))
					for i := range iterations {
						ctx, cancel := context.Background(), context.CancelFunc(func() {})
						if tt.timeout > 0 && i%2 == 1 {
							ctx, cancel = context.WithTimeout(ctx, tt.timeout)
						}
						in, err := p.Acquire(ctx)
						cancel()
						if err != nil {
							if !assert.ErrorIs(t, err, context.DeadlineExceeded) {
								return
							}
							timedOut.Add(1)
							continue
						}
						acquired.Add(1)
						if !in.held.CompareAndSwap(false, true) {
							shared.Add(1)
						}
						if in.closed.Load() {
							usedClosed.Add(1)
						}
						if i%64 == 0 {
							if p.Stats().Live > max {
								overMax.Add(1)
							}
						}
						if rng.IntN(4) == 0 {
							runtime.Gosched() // hold it a while
						}
						in.held.Store(false)
						if rng.IntN(20) == 0 {
							discarded.Add(1)
							p.Discard(in)
						} else {
							p.Release(in)
						}
					}
				})
			}
			wg.Wait()

			assert.Zero(t, shared.Load(), "instance held by two goroutines")
			assert.Zero(t, usedClosed.Load(), "closed instance handed out")
			assert.Zero(t, overMax.Load(), "Stats.Live above Max")
			assert.LessOrEqual(t, f.maxAlive.Load(), int64(max), "instances in existence above Max")
			assert.Equal(t, uint64(goroutines*iterations), acquired.Load()+timedOut.Load())
			if tt.timeout == 0 {
				assert.Equal(t, uint64(goroutines*iterations), acquired.Load())
			}

			s := p.Stats()
			assert.Equal(t, acquired.Load(), s.Acquired)
			assert.Equal(t, discarded.Load(), s.Discarded)
			assert.Equal(t, uint64(f.created.Load()), s.Created)
			assert.Equal(t, uint64(f.closed.Load()), s.Destroyed)
			assert.Equal(t, s.Discarded, s.Destroyed)
			assert.Equal(t, int(s.Created-s.Destroyed), s.Live)
			assert.Equal(t, s.Live, s.Idle)
			assert.Zero(t, s.InUse)
			assert.Zero(t, s.Waiting)
			assert.LessOrEqual(t, s.Live, max)
			t.Logf("stats: %+v, timed out: %d", s, timedOut.Load())

			p.Close()
			s = p.Stats()
			require.Zero(t, s.Live)
			assert.Equal(t, s.Created, s.Destroyed)
			assert.Zero(t, f.alive.Load(), "instances left undestroyed")
			assert.Equal(t, f.created.Load(), f.closed.Load())
			assert.Zero(t, f.badClose.Load(), "instance closed twice")
		})
	}
}
