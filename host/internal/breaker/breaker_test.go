package breaker

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBreaker_Thresholds(t *testing.T) {
	notFailure := errors.New("not found")
	tests := []struct {
		name   string
		policy Policy
		// steps alternate results (see run) and pauses ("sleep 11s").
		steps []string
		want  State
		// wantCounts are Successes, Failures, Late, Canceled.
		wantCounts [4]uint64
	}{
		{
			name:   "failure count opens once MinRequests is reached",
			policy: Policy{MinRequests: 4, FailureThreshold: 2, FailureRateThreshold: 1},
			steps:  []string{"SFF"}, want: StateClosed, wantCounts: [4]uint64{1, 2, 0, 0},
		},
		{
			name:   "a success that completes MinRequests opens on the count",
			policy: Policy{MinRequests: 4, FailureThreshold: 2, FailureRateThreshold: 1},
			steps:  []string{"SFFS"}, want: StateOpen, wantCounts: [4]uint64{2, 2, 0, 0},
		},
		{
			name:   "failure rate opens",
			policy: Policy{MinRequests: 4, FailureThreshold: 100, FailureRateThreshold: 0.5},
			steps:  []string{"FSSF"}, want: StateOpen, wantCounts: [4]uint64{2, 2, 0, 0},
		},
		{
			name:   "failure rate below the threshold stays closed",
			policy: Policy{MinRequests: 4, FailureThreshold: 100, FailureRateThreshold: 0.5},
			steps:  []string{"FSSSF"}, want: StateClosed, wantCounts: [4]uint64{3, 2, 0, 0},
		},
		{
			name:   "nothing opens below MinRequests",
			policy: Policy{MinRequests: 10, FailureThreshold: 1},
			steps:  []string{"FFFFFFFFF"}, want: StateClosed, wantCounts: [4]uint64{0, 9, 0, 0},
		},
		{
			name:   "the 10th failure opens at MinRequests 10",
			policy: Policy{MinRequests: 10, FailureThreshold: 1},
			steps:  []string{"FFFFFFFFFF"}, want: StateOpen, wantCounts: [4]uint64{0, 10, 0, 0},
		},
		{
			name:   "failures leave the window",
			policy: Policy{MinRequests: 2, FailureThreshold: 2, FailureRateThreshold: 1, Window: 10 * time.Second},
			steps:  []string{"F", "sleep 11s", "F"}, want: StateClosed, wantCounts: [4]uint64{0, 2, 0, 0},
		},
		{
			name:   "failures within the window add up",
			policy: Policy{MinRequests: 2, FailureThreshold: 2, FailureRateThreshold: 1, Window: 10 * time.Second},
			steps:  []string{"F", "sleep 11s", "F", "sleep 5s", "F"}, want: StateOpen, wantCounts: [4]uint64{0, 3, 0, 0},
		},
		{
			name:   "canceled calls are counted apart and not judged",
			policy: Policy{MinRequests: 1, FailureThreshold: 1},
			steps:  []string{"CCCCC"}, want: StateClosed, wantCounts: [4]uint64{0, 0, 0, 5},
		},
		{
			name: "IsFailure decides what fails",
			policy: Policy{MinRequests: 1, FailureThreshold: 1, IsFailure: func(err error) bool {
				return err != nil && !errors.Is(err, notFailure)
			}},
			steps: []string{"S"}, want: StateClosed, wantCounts: [4]uint64{1, 0, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, _ := newTestRegistry(t, tt.policy)
				b := r.Get("svc")
				for _, step := range tt.steps {
					if d, ok := cutPrefix(step, "sleep "); ok {
						time.Sleep(d)
						continue
					}
					for _, err := range run(t, b, step) {
						assert.NotErrorIs(t, err, ErrOpen)
					}
				}
				s := b.Stats()
				assert.Equal(t, tt.want, s.State)
				assert.Equal(t, tt.wantCounts, [4]uint64{s.Successes, s.Failures, s.Late, s.Canceled})
			})
		})
	}

	t.Run("IsFailure false counts as a success", func(t *testing.T) {
		r, _ := newTestRegistry(t, Policy{MinRequests: 1, FailureThreshold: 1, IsFailure: func(err error) bool {
			return err != nil && !errors.Is(err, notFailure)
		}})
		b := r.Get("svc")
		require.ErrorIs(t, b.Do(t.Context(), func(context.Context) error { return notFailure }), notFailure)
		s := b.Stats()
		assert.Equal(t, StateClosed, s.State)
		assert.EqualValues(t, 1, s.Successes)
		assert.Zero(t, s.Failures)
	})
}

// cutPrefix returns the duration after prefix in step.
func cutPrefix(step, prefix string) (time.Duration, bool) {
	if len(step) <= len(prefix) || step[:len(prefix)] != prefix {
		return 0, false
	}
	d, err := time.ParseDuration(step[len(prefix):])
	if err != nil {
		panic(err)
	}
	return d, true
}

func TestBreaker_HalfOpen(t *testing.T) {
	t.Run("open, half-open after OpenTimeout, closed after SuccessThreshold", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := countPolicy(3)
			r, rec := newTestRegistry(t, p)
			b := r.Get("svc")
			trip(t, b)
			openedAt := time.Now()
			assert.Equal(t, openedAt, b.Stats().OpenedAt)

			time.Sleep(20 * time.Second)
			var open *OpenError
			require.ErrorAs(t, b.Do(t.Context(), succeed), &open)
			assert.Equal(t, p.OpenTimeout-20*time.Second, open.RetryAfter)
			assert.Equal(t, p.OpenTimeout-20*time.Second, b.Stats().RetryAfter)

			time.Sleep(p.OpenTimeout - 20*time.Second - time.Nanosecond)
			require.ErrorIs(t, b.Do(t.Context(), succeed), ErrOpen)
			time.Sleep(time.Nanosecond)
			assert.Equal(t, StateOpen, b.State(), "reads change nothing")
			assert.Zero(t, b.Stats().RetryAfter)

			require.NoError(t, b.Do(t.Context(), succeed))
			assert.Equal(t, StateHalfOpen, b.State())
			s := b.Stats()
			assert.EqualValues(t, 1, s.StateRequests)
			assert.Zero(t, s.StateFailures)

			require.NoError(t, b.Do(t.Context(), succeed))
			assert.Equal(t, StateClosed, b.State())
			s = b.Stats()
			assert.Zero(t, s.StateRequests, "a closed breaker starts with an empty window")
			assert.EqualValues(t, 2, s.Successes)
			assert.EqualValues(t, 3, s.Failures)
			assert.EqualValues(t, 2, s.Rejected)
			assert.Equal(t, openedAt, s.OpenedAt)
			assert.Equal(t, []string{"svc: closed->open", "svc: open->half-open", "svc: half-open->closed"}, rec.changes())
		})
	})

	t.Run("any failure in half-open re-opens", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := countPolicy(3)
			p.SuccessThreshold = 5
			r, rec := newTestRegistry(t, p)
			b := r.Get("svc")
			trip(t, b)
			time.Sleep(p.OpenTimeout)
			run(t, b, "SSS")
			require.Equal(t, StateHalfOpen, b.State())
			require.ErrorIs(t, b.Do(t.Context(), fail), errBoom)
			assert.Equal(t, StateOpen, b.State())
			s := b.Stats()
			assert.Equal(t, time.Now(), s.OpenedAt)
			assert.Equal(t, p.OpenTimeout, s.RetryAfter, "the open timer starts again")
			assert.Equal(t, []string{"svc: closed->open", "svc: open->half-open", "svc: half-open->open"}, rec.changes())
		})
	})

	t.Run("probe slots are given back by Done", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := countPolicy(3)
			p.SuccessThreshold = 10
			r, _ := newTestRegistry(t, p)
			b := r.Get("svc")
			trip(t, b)
			time.Sleep(p.OpenTimeout)

			var permits []Permit
			for range p.HalfOpenMaxRequests {
				pm, err := b.Allow()
				require.NoError(t, err)
				permits = append(permits, pm)
			}
			_, err := b.Allow()
			var open *OpenError
			require.ErrorAs(t, err, &open)
			assert.Equal(t, OpenError{Service: "svc", State: StateHalfOpen}, *open)

			permits[0].Done(nil)
			pm, err := b.Allow()
			require.NoError(t, err, "a success frees its slot")
			permits[1].Done(context.Canceled)
			pm2, err := b.Allow()
			require.NoError(t, err, "a canceled call frees its slot")
			_, err = b.Allow()
			require.ErrorIs(t, err, ErrOpen)

			for _, pm := range []Permit{permits[2], pm, pm2} {
				pm.Done(nil)
			}
			s := b.Stats()
			assert.Equal(t, StateHalfOpen, s.State)
			assert.EqualValues(t, 4, s.Successes)
			assert.EqualValues(t, 1, s.Canceled)
			assert.Zero(t, s.Late)
			assert.EqualValues(t, 2, s.Rejected)
			assert.EqualValues(t, 4, s.StateRequests)
		})
	})
}

// TestBreaker_StaleResults checks that the result of a call admitted before a
// state change (or a Reset) does not count against the new state.
func TestBreaker_StaleResults(t *testing.T) {
	tests := []struct {
		name string
		// before brings the breaker to the state in which the permit is
		// taken; change then changes the state while the call runs.
		before, change func(t *testing.T, b *Breaker)
		result         error
		want           State
		wantChanges    []string
	}{
		{
			name:        "closed, then ForceOpen",
			change:      func(_ *testing.T, b *Breaker) { b.ForceOpen() },
			result:      errBoom,
			want:        StateOpen,
			wantChanges: []string{"svc: closed->open"},
		},
		{
			name:        "closed with one failure, then Reset",
			before:      func(t *testing.T, b *Breaker) { run(t, b, "F") },
			change:      func(_ *testing.T, b *Breaker) { b.Reset() },
			result:      errBoom,
			want:        StateClosed,
			wantChanges: nil,
		},
		{
			name: "closed, then tripped by others and half-open",
			change: func(t *testing.T, b *Breaker) {
				trip(t, b)
				time.Sleep(time.Minute)
				_, err := b.Allow()
				require.NoError(t, err)
			},
			result:      nil, // would close the breaker if counted (SuccessThreshold 1)
			want:        StateHalfOpen,
			wantChanges: []string{"svc: closed->open", "svc: open->half-open"},
		},
		{
			name: "half-open probe, then ForceClose",
			before: func(t *testing.T, b *Breaker) {
				trip(t, b)
				time.Sleep(time.Minute)
			},
			change:      func(_ *testing.T, b *Breaker) { b.ForceClose() },
			result:      errBoom,
			want:        StateClosed,
			wantChanges: []string{"svc: closed->open", "svc: open->half-open", "svc: half-open->closed"},
		},
		{
			name: "half-open probe, then another probe fails",
			before: func(t *testing.T, b *Breaker) {
				trip(t, b)
				time.Sleep(time.Minute)
			},
			change: func(t *testing.T, b *Breaker) {
				require.ErrorIs(t, b.Do(t.Context(), fail), errBoom)
				time.Sleep(time.Minute)
			},
			result: nil,
			want:   StateOpen, // a stale success must not half-open or close it
			wantChanges: []string{
				"svc: closed->open", "svc: open->half-open", "svc: half-open->open",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := Policy{MinRequests: 2, FailureThreshold: 2, OpenTimeout: time.Minute, SuccessThreshold: 1, HalfOpenMaxRequests: 2}
				r, rec := newTestRegistry(t, p)
				b := r.Get("svc")
				if tt.before != nil {
					tt.before(t, b)
				}
				permit, err := b.Allow()
				require.NoError(t, err)
				tt.change(t, b)
				before := b.Stats()

				permit.Done(tt.result)

				after := b.Stats()
				assert.Equal(t, tt.want, after.State)
				before.Late++
				assert.Equal(t, before, after, "only Late changes")
				assert.Equal(t, tt.wantChanges, rec.changes())
			})
		})
	}

	t.Run("the stale probe's slot is not given back twice", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := Policy{MinRequests: 1, FailureThreshold: 1, OpenTimeout: time.Minute, SuccessThreshold: 5, HalfOpenMaxRequests: 2}
			r, _ := newTestRegistry(t, p)
			b := r.Get("svc")
			trip(t, b)
			time.Sleep(time.Minute)
			stale, err := b.Allow()
			require.NoError(t, err)
			b.ForceOpen()
			time.Sleep(time.Minute)
			a, err := b.Allow()
			require.NoError(t, err)
			c, err := b.Allow()
			require.NoError(t, err)
			stale.Done(nil) // must not free a slot of the new half-open period
			_, err = b.Allow()
			require.ErrorIs(t, err, ErrOpen)
			a.Done(nil)
			c.Done(nil)
		})
	})
}

func TestBreaker_Force(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := countPolicy(2)
		r, rec := newTestRegistry(t, p)
		b := r.Get("svc")

		run(t, b, "SF")
		b.ForceOpen()
		require.Equal(t, StateOpen, b.State())
		require.ErrorIs(t, b.Do(t.Context(), succeed), ErrOpen)
		openedAt := time.Now()

		time.Sleep(10 * time.Second)
		b.ForceOpen() // already open: the timer is not restarted
		assert.Equal(t, p.OpenTimeout-10*time.Second, b.Stats().RetryAfter)
		assert.Equal(t, openedAt, b.Stats().OpenedAt)

		b.ForceClose()
		require.Equal(t, StateClosed, b.State())
		s := b.Stats()
		assert.Zero(t, s.StateRequests, "ForceClose empties the window")
		assert.Equal(t, [3]uint64{1, 1, 1}, [3]uint64{s.Successes, s.Failures, s.Rejected}, "ForceClose keeps the totals")
		b.ForceClose() // already closed: nothing

		run(t, b, "F")
		b.Reset() // closed: no state change, but the window and totals are cleared
		s = b.Stats()
		assert.Equal(t, Stats{Service: "svc", State: StateClosed}, s)
		run(t, b, "F")
		assert.Equal(t, StateClosed, b.State(), "the failure before Reset no longer counts")

		b.ForceOpen()
		b.Reset()
		assert.Equal(t, Stats{Service: "svc", State: StateClosed}, b.Stats())

		assert.Equal(t, []string{
			"svc: closed->open", "svc: open->closed",
			"svc: closed->open", "svc: open->closed",
		}, rec.changes())
	})
}

func TestBreaker_Disabled(t *testing.T) {
	r, rec := newTestRegistry(t, Policy{Disabled: true, MinRequests: 1, FailureThreshold: 1})
	b := r.Get("svc")
	for range 100 {
		require.ErrorIs(t, b.Do(t.Context(), fail), errBoom)
	}
	b.ForceOpen()
	require.NoError(t, b.Do(t.Context(), succeed), "a disabled breaker cannot be forced open")
	b.ForceClose()
	b.Reset()
	permit, err := b.Allow()
	require.NoError(t, err)
	assert.Equal(t, Permit{}, permit)
	permit.Done(errBoom)
	assert.Equal(t, StateClosed, b.State())
	assert.Equal(t, Stats{Service: "svc", Disabled: true}, b.Stats())
	assert.Empty(t, rec.changes())
}

func TestBreaker_Do(t *testing.T) {
	t.Run("a done context is not admitted", func(t *testing.T) {
		r, _ := newTestRegistry(t, countPolicy(1))
		b := r.Get("svc")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ran := false
		err := b.Do(ctx, func(context.Context) error { ran = true; return nil })
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, ran)
		assert.Equal(t, Stats{Service: "svc"}, b.Stats())
	})

	t.Run("fn gets ctx and its error is returned", func(t *testing.T) {
		r, _ := newTestRegistry(t, countPolicy(5))
		b := r.Get("svc")
		type key struct{}
		ctx := context.WithValue(t.Context(), key{}, "v")
		err := b.Do(ctx, func(got context.Context) error {
			assert.Equal(t, "v", got.Value(key{}))
			return fmt.Errorf("wrapped: %w", errBoom)
		})
		require.ErrorIs(t, err, errBoom)
		assert.EqualValues(t, 1, b.Stats().Failures)
	})

	t.Run("a panic is recorded as a failure and goes on", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := countPolicy(1)
			r, _ := newTestRegistry(t, p)
			b := r.Get("svc")
			trip(t, b)
			time.Sleep(p.OpenTimeout)
			require.PanicsWithValue(t, "bad plugin", func() {
				_ = b.Do(t.Context(), func(context.Context) error { panic("bad plugin") })
			})
			s := b.Stats()
			assert.Equal(t, StateOpen, s.State, "the panicking probe re-opened the breaker")
			assert.EqualValues(t, 2, s.Failures)
		})
	})

	t.Run("OpenError", func(t *testing.T) {
		err := error(&OpenError{Service: "kv", State: StateOpen, RetryAfter: time.Second})
		assert.ErrorIs(t, err, ErrOpen)
		assert.NotErrorIs(t, err, ErrInvalidPolicy)
		assert.Equal(t, `breaker: service "kv" is open, retry after 1s`, err.Error())
		err = &OpenError{Service: "kv", State: StateHalfOpen}
		assert.Equal(t, `breaker: service "kv" is half-open and at its limit of probe calls`, err.Error())
	})
}

func TestState_String(t *testing.T) {
	tests := []struct {
		state State
		want  string
	}{
		{StateClosed, "closed"},
		{StateOpen, "open"},
		{StateHalfOpen, "half-open"},
		{State(7), "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.state.String())
		})
	}
}
