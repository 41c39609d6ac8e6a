package breaker

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRegistry(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		// want lists the Service and Field of every expected *PolicyError.
		want [][2]string
	}{
		{name: "zero config", cfg: Config{}},
		{name: "overrides", cfg: Config{Overrides: map[string]Policy{"kv": FastFail(), "http:*": Resilient()}}},
		{name: "bad default", cfg: Config{Policy: Policy{MinRequests: -1}}, want: [][2]string{{"", "MinRequests"}}},
		{
			name: "bad overrides are named, in key order",
			cfg: Config{Overrides: map[string]Policy{
				"kv":     {OpenTimeout: -1},
				"http:*": {FailureRateThreshold: 3},
			}},
			want: [][2]string{{"http:*", "FailureRateThreshold"}, {"kv", "OpenTimeout"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRegistry(tt.cfg)
			if tt.want == nil {
				require.NoError(t, err)
				require.NotNil(t, r)
				return
			}
			require.ErrorIs(t, err, ErrInvalidPolicy)
			assert.Nil(t, r)
			var got [][2]string
			for _, e := range flatten(err) {
				var pe *PolicyError
				require.ErrorAs(t, e, &pe)
				got = append(got, [2]string{pe.Service, pe.Field})
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

// flatten returns the leaves of a tree of joined errors.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var leaves []error
		for _, e := range j.Unwrap() {
			leaves = append(leaves, flatten(e)...)
		}
		return leaves
	}
	return []error{err}
}

func TestRegistry_Get(t *testing.T) {
	t.Run("one breaker per service, also when racing", func(t *testing.T) {
		r, _ := newTestRegistry(t, Policy{})
		const goroutines = 64
		got := make([]*Breaker, goroutines)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				<-start
				got[g] = r.Get("http:api.example.com")
			})
		}
		close(start)
		wg.Wait()
		for _, b := range got {
			assert.Same(t, got[0], b)
		}
		assert.Equal(t, "http:api.example.com", got[0].Service())
		assert.NotSame(t, got[0], r.Get("kv"))
		assert.Len(t, r.Snapshot(), 2)
	})

	t.Run("overrides", func(t *testing.T) {
		r, err := NewRegistry(Config{
			Policy: Policy{FailureThreshold: 1},
			Overrides: map[string]Policy{
				"http:*":               {FailureThreshold: 2},
				"http:api.*":           {FailureThreshold: 3},
				"http:api.example.com": {FailureThreshold: 4},
				"fs:*/x":               {FailureThreshold: 5},
				"*":                    {FailureThreshold: 6},
			},
		})
		require.NoError(t, err)
		tests := []struct {
			service string
			want    int
		}{
			{"http:api.example.com", 4},
			{"http:api.other.com", 3},
			{"http:www.example.com", 2},
			{"http:", 2},
			{"fs:*/x", 5},
			{"fs:a/x", 6},
			{"kv", 6},
		}
		for _, tt := range tests {
			t.Run(tt.service, func(t *testing.T) {
				assert.Equal(t, tt.want, r.Get(tt.service).policy.FailureThreshold)
			})
		}

		r, err = NewRegistry(Config{Policy: Policy{FailureThreshold: 1}, Overrides: map[string]Policy{"kv": {}}})
		require.NoError(t, err)
		assert.Equal(t, 1, r.Get("other").policy.FailureThreshold)
		assert.Equal(t, DefaultFailureThreshold, r.Get("kv").policy.FailureThreshold, "an override does not inherit from Config.Policy")
	})
}

func TestRegistry_Snapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := countPolicy(2)
		r, _ := newTestRegistry(t, p)
		run(t, r.Get("kv"), "SSF")
		trip(t, r.Get("http:a"))
		require.ErrorIs(t, r.Get("http:a").Do(t.Context(), succeed), ErrOpen)
		r.Get("fs:/srv/data")

		assert.Equal(t, []Stats{
			{Service: "fs:/srv/data", State: StateClosed},
			{Service: "http:a", State: StateOpen, OpenedAt: time.Now(), RetryAfter: p.OpenTimeout, Failures: 2, Rejected: 1},
			{Service: "kv", State: StateClosed, Successes: 2, Failures: 1, StateRequests: 3, StateFailures: 1},
		}, r.Snapshot())
		assert.Equal(t, map[string]State{"fs:/srv/data": StateClosed, "http:a": StateOpen, "kv": StateClosed}, r.States())
	})
}

func TestRegistry_Force(t *testing.T) {
	r, rec := newTestRegistry(t, countPolicy(2))
	r.ForceOpen("kv") // before its first call
	assert.Equal(t, map[string]State{"kv": StateOpen}, r.States())
	require.ErrorIs(t, r.Get("kv").Do(t.Context(), succeed), ErrOpen)
	r.ForceClose("kv")
	require.NoError(t, r.Get("kv").Do(t.Context(), succeed))
	r.ForceOpen("kv")
	r.Reset("kv")
	assert.Equal(t, []Stats{{Service: "kv", State: StateClosed}}, r.Snapshot())
	assert.Equal(t, []string{"kv: closed->open", "kv: open->closed", "kv: closed->open", "kv: open->closed"}, rec.changes())
}

func TestRegistry_OnStateChange(t *testing.T) {
	t.Run("every change, in order, to every callback in order", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p := countPolicy(2)
			r, first := newTestRegistry(t, p)
			second := &recorder{}
			var order []string
			r.OnStateChange(func(string, State, State) { order = append(order, "first-again") })
			r.OnStateChange(second.record)
			r.OnStateChange(func(string, State, State) { order = append(order, "last") })
			b := r.Get("svc")

			trip(t, b) // closed->open
			time.Sleep(p.OpenTimeout)
			run(t, b, "SF") // open->half-open, half-open->open
			time.Sleep(p.OpenTimeout)
			run(t, b, "SS")            // open->half-open, half-open->closed
			b.ForceOpen()              // closed->open
			b.ForceClose()             // open->closed
			b.Reset()                  // closed: no change
			r.Get("other").ForceOpen() // other: closed->open
			b.ForceOpen()              // closed->open
			b.Reset()                  // open->closed
			// One failure is counted and changes nothing.
			require.ErrorIs(t, b.Do(t.Context(), fail), errBoom)

			want := []string{
				"svc: closed->open",
				"svc: open->half-open", "svc: half-open->open",
				"svc: open->half-open", "svc: half-open->closed",
				"svc: closed->open", "svc: open->closed",
				"other: closed->open",
				"svc: closed->open", "svc: open->closed",
			}
			assert.Equal(t, want, first.changes())
			assert.Equal(t, want, second.changes())
			assert.Len(t, order, 2*len(want))
			for i := 0; i < len(order); i += 2 {
				assert.Equal(t, []string{"first-again", "last"}, order[i:i+2])
			}
		})
	})

	t.Run("callbacks run outside the lock and may call back in", func(t *testing.T) {
		r, rec := newTestRegistry(t, countPolicy(1))
		b := r.Get("svc")
		var seen []Stats
		r.OnStateChange(func(service string, from, to State) {
			// Each of these takes the breaker's lock, and the last two change
			// its state: they would deadlock if the lock were held here.
			seen = append(seen, b.Stats())
			_ = r.Snapshot()
			_ = r.States()
			if to == StateOpen {
				r.ForceClose(service)
				assert.NoError(t, b.Do(context.Background(), succeed))
			}
		})
		within(t, 10*time.Second, func() {
			assert.ErrorIs(t, b.Do(context.Background(), fail), errBoom)
		})
		assert.Equal(t, []string{"svc: closed->open", "svc: open->closed"}, rec.changes(),
			"the change made by a callback is delivered after it, in order")
		require.Len(t, seen, 2)
		assert.Equal(t, StateOpen, seen[0].State, "a callback runs after the change")
		assert.Equal(t, StateClosed, seen[1].State)
		assert.Equal(t, StateClosed, b.State())
		assert.EqualValues(t, 1, b.Stats().Successes)
	})

	t.Run("a panicking callback does not stop later deliveries", func(t *testing.T) {
		r, rec := newTestRegistry(t, countPolicy(1))
		b := r.Get("svc")
		r.OnStateChange(func(_ string, _, to State) {
			if to == StateOpen {
				panic("bad callback")
			}
		})
		require.PanicsWithValue(t, "bad callback", func() { _ = b.Do(t.Context(), fail) })
		assert.Equal(t, StateOpen, b.State(), "the state changed before the callback ran")
		within(t, 10*time.Second, b.ForceClose)
		assert.Equal(t, []string{"svc: closed->open", "svc: open->closed"}, rec.changes())
	})
}

func TestRegistry_Logger(t *testing.T) {
	h := &captureHandler{}
	r, err := NewRegistry(Config{Policy: countPolicy(1), Logger: slog.New(h)})
	require.NoError(t, err)
	b := r.Get("kv")
	trip(t, b)
	b.ForceClose()
	assert.Equal(t, []string{
		"WARN breaker: state changed service=kv from=closed to=open",
		"INFO breaker: state changed service=kv from=open to=closed",
	}, h.lines())
}

// captureHandler is a slog.Handler that keeps each record as one line.
type captureHandler struct {
	mu  sync.Mutex
	got []string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }

func (h *captureHandler) Handle(_ context.Context, rec slog.Record) error {
	line := rec.Level.String() + " " + rec.Message
	rec.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, line)
	return nil
}

func (h *captureHandler) lines() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got...)
}
