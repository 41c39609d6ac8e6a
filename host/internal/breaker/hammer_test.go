package breaker

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

// TestBreaker_ONEXScenarios replays the concurrency scenarios of
// omnibase_core's thread-safety guide that its own breaker fails, and checks
// every count exactly.
func TestBreaker_ONEXScenarios(t *testing.T) {
	t.Run("10 goroutines x 5 failures trip at exactly the 50th", func(t *testing.T) {
		const goroutines, calls = 10, 5
		r, rec := newTestRegistry(t, countPolicy(goroutines*calls))
		b := r.Get("http:api.example.com")
		var ran atomic.Int64
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				<-start
				for range calls {
					err := b.Do(t.Context(), func(context.Context) error {
						ran.Add(1)
						return errBoom
					})
					assert.ErrorIs(t, err, errBoom)
				}
			})
		}
		close(start)
		wg.Wait()

		assert.EqualValues(t, goroutines*calls, ran.Load())
		s := b.Stats()
		assert.Equal(t, StateOpen, s.State)
		assert.EqualValues(t, goroutines*calls, s.Failures)
		assert.Zero(t, s.Successes)
		assert.Zero(t, s.Rejected)
		assert.Zero(t, s.Late)
		assert.Zero(t, s.Canceled)
		assert.Equal(t, []string{"http:api.example.com: closed->open"}, rec.changes())
		require.ErrorIs(t, b.Do(t.Context(), succeed), ErrOpen)
		assert.EqualValues(t, 1, b.Stats().Rejected)
	})

	t.Run("10 goroutines x 5 failures tripping at the 10th lose nothing", func(t *testing.T) {
		const goroutines, calls, threshold = 10, 5, 10
		r, rec := newTestRegistry(t, countPolicy(threshold))
		b := r.Get("kv")
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				<-start
				for range calls {
					err := b.Do(t.Context(), fail)
					if !assert.Error(t, err) {
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()

		s := b.Stats()
		assert.Equal(t, StateOpen, s.State)
		// The trip starts a new generation: failures admitted before it but
		// finishing after it are late, not judged.
		assert.EqualValues(t, threshold, s.Failures)
		assert.EqualValues(t, goroutines*calls, s.Failures+s.Late+s.Rejected)
		assert.Zero(t, s.Canceled)
		assert.Equal(t, []string{"kv: closed->open"}, rec.changes())
	})

	t.Run("5 goroutines x (3 successes + 2 failures) against an open breaker", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			const goroutines = 5
			p := countPolicy(5)
			r, rec := newTestRegistry(t, p)
			b := r.Get("fs:/srv/data")
			trip(t, b)
			var ran atomic.Int64
			counted := func(err error) func(context.Context) error {
				return func(context.Context) error {
					ran.Add(1)
					return err
				}
			}
			var wg sync.WaitGroup
			for range goroutines {
				wg.Go(func() {
					for _, fn := range []func(context.Context) error{
						counted(nil), counted(errBoom), counted(nil), counted(errBoom), counted(nil),
					} {
						err := b.Do(t.Context(), fn)
						var open *OpenError
						if assert.ErrorAs(t, err, &open) {
							assert.Equal(t, OpenError{Service: "fs:/srv/data", State: StateOpen, RetryAfter: p.OpenTimeout}, *open)
						}
					}
				})
			}
			wg.Wait()

			assert.Zero(t, ran.Load(), "an open breaker runs nothing")
			s := b.Stats()
			assert.Equal(t, StateOpen, s.State)
			assert.EqualValues(t, 5, s.Failures)
			assert.Zero(t, s.Successes)
			assert.EqualValues(t, goroutines*5, s.Rejected)
			assert.Zero(t, s.Late)
			assert.Zero(t, s.Canceled)
			assert.Equal(t, p.OpenTimeout, s.RetryAfter, "no time passes in the bubble")
			assert.Equal(t, []string{"fs:/srv/data: closed->open"}, rec.changes())
		})
	})
}

// TestBreaker_HalfOpenBound checks that a half-open breaker never runs more
// than HalfOpenMaxRequests calls at once, however many callers it has.
func TestBreaker_HalfOpenBound(t *testing.T) {
	const callers = 64

	t.Run("64 callers at one instant", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := countPolicy(3)
			p.SuccessThreshold = 1000 // stay half-open
			r, _ := newTestRegistry(t, p)
			b := r.Get("svc")
			trip(t, b)
			time.Sleep(p.OpenTimeout)

			var cur, peak, ran atomic.Int64
			var rejected atomic.Int64
			var wg sync.WaitGroup
			for range callers {
				wg.Go(func() {
					err := b.Do(t.Context(), func(context.Context) error {
						ran.Add(1)
						n := cur.Add(1)
						for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
						}
						time.Sleep(time.Second) // every admitted call is running when the others ask
						cur.Add(-1)
						return nil
					})
					if err != nil {
						assert.ErrorIs(t, err, ErrOpen)
						rejected.Add(1)
					}
				})
			}
			wg.Wait()

			assert.EqualValues(t, p.HalfOpenMaxRequests, peak.Load())
			assert.EqualValues(t, p.HalfOpenMaxRequests, ran.Load())
			s := b.Stats()
			assert.Equal(t, StateHalfOpen, s.State)
			assert.EqualValues(t, p.HalfOpenMaxRequests, s.Successes)
			assert.EqualValues(t, callers-p.HalfOpenMaxRequests, s.Rejected)
			assert.EqualValues(t, callers-p.HalfOpenMaxRequests, rejected.Load())
		})
	})

	t.Run("64 callers in a tight loop", func(t *testing.T) {
		const calls = 200
		p := countPolicy(3)
		p.OpenTimeout = time.Millisecond
		p.SuccessThreshold = MaxProbes // stay half-open
		r, _ := newTestRegistry(t, p)
		b := r.Get("svc")
		trip(t, b)
		time.Sleep(2 * p.OpenTimeout)

		var cur, peak, ran, rejected atomic.Int64
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				<-start
				for range calls {
					err := b.Do(t.Context(), func(context.Context) error {
						ran.Add(1)
						n := cur.Add(1)
						for old := peak.Load(); n > old && !peak.CompareAndSwap(old, n); old = peak.Load() {
						}
						runtime.Gosched()
						cur.Add(-1)
						return nil
					})
					if err != nil {
						rejected.Add(1)
					}
				}
			})
		}
		close(start)
		wg.Wait()

		assert.LessOrEqual(t, peak.Load(), int64(p.HalfOpenMaxRequests))
		assert.Positive(t, peak.Load())
		s := b.Stats()
		assert.Equal(t, StateHalfOpen, s.State)
		assert.EqualValues(t, ran.Load(), s.Successes)
		assert.EqualValues(t, rejected.Load(), s.Rejected)
		assert.EqualValues(t, callers*calls, s.Successes+s.Rejected)
	})
}

// TestBreaker_Hammer races calls that fail at random against an operator
// forcing the breaker open and closed, then checks that every call is
// accounted for exactly once and that the callbacks saw one unbroken chain
// of state changes ending in the final state.
func TestBreaker_Hammer(t *testing.T) {
	const goroutines, calls = 32, 500
	p := Policy{
		MinRequests:         4,
		FailureThreshold:    3,
		Window:              time.Second,
		OpenTimeout:         50 * time.Microsecond,
		HalfOpenMaxRequests: 2,
		SuccessThreshold:    2,
	}
	r, err := NewRegistry(Config{Policy: p})
	require.NoError(t, err)
	var (
		chainMu sync.Mutex
		chain   []State
		broken  atomic.Int64
	)
	chain = append(chain, StateClosed)
	r.OnStateChange(func(_ string, from, to State) {
		chainMu.Lock()
		defer chainMu.Unlock()
		if chain[len(chain)-1] != from {
			broken.Add(1)
		}
		chain = append(chain, to)
	})
	b := r.Get("svc")

	var calledFn, rejected atomic.Int64
	stop := make(chan struct{})
	var operator sync.WaitGroup
	operator.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%2 == 0 {
				b.ForceOpen()
			} else {
				b.ForceClose()
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 2))
			for range calls {
				err := b.Do(t.Context(), func(context.Context) error {
					calledFn.Add(1)
					if rng.IntN(10) < 3 {
						return errBoom
					}
					return nil
				})
				switch {
				case err == nil, errors.Is(err, errBoom):
				case errors.Is(err, ErrOpen):
					rejected.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	operator.Wait()

	s := b.Stats()
	assert.EqualValues(t, goroutines*calls, s.Successes+s.Failures+s.Late+s.Canceled+s.Rejected)
	assert.EqualValues(t, calledFn.Load(), s.Successes+s.Failures+s.Late+s.Canceled)
	assert.EqualValues(t, rejected.Load(), s.Rejected)
	assert.Zero(t, broken.Load(), "callbacks out of order")
	chainMu.Lock()
	defer chainMu.Unlock()
	assert.Equal(t, s.State, chain[len(chain)-1])
	assert.Greater(t, len(chain), 10, "the hammer should change state often")
	t.Logf("%d state changes; %+v", len(chain)-1, s)
}
