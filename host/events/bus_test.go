package events_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/events"
)

const topic = "onex.evt.orders.placed.v1"

func event(key string) abi.Event {
	return abi.Event{Topic: topic, EventType: "order.placed", Key: key}
}

// recorder is a Handler that keeps the events it saw. It runs on one subscription's
// goroutine; read it only after that subscription has stopped.
type recorder struct{ got []abi.Event }

func (r *recorder) handle(_ context.Context, e abi.Event) error {
	r.got = append(r.got, e)
	return nil
}

func (r *recorder) keys() []string {
	keys := make([]string, len(r.got))
	for i, e := range r.got {
		keys[i] = e.Key
	}
	return keys
}

func subscribe(tb testing.TB, b *events.Bus, pattern string, h events.Handler, opts events.SubscribeOptions) *events.Subscription {
	tb.Helper()
	s, err := b.Subscribe(pattern, h, opts)
	require.NoError(tb, err)
	return s
}

func closeBus(tb testing.TB, b *events.Bus) {
	tb.Helper()
	require.NoError(tb, b.Close(context.Background()))
}

// waitGoroutines polls until at most n goroutines run. It polls rather than using
// require.Eventually, which would itself start goroutines.
func waitGoroutines(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			tb.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBus_Publish(t *testing.T) {
	b := events.New(nil)
	var all, placed, users recorder
	subscribe(t, b, "onex.evt.orders.>", all.handle, events.SubscribeOptions{})
	subscribe(t, b, "onex.evt.*.placed.v1", placed.handle, events.SubscribeOptions{Policy: events.Block})
	subscribe(t, b, "onex.evt.users.>", users.handle, events.SubscribeOptions{})

	var want []string
	headers := map[string]string{"h": "v"}
	for i := range 100 {
		e := event(strconv.Itoa(i))
		e.Headers = headers
		e.Payload = []byte(`{"n":1}`)
		require.NoError(t, b.Publish(context.Background(), e))
		headers["h"] = "changed" // the bus queued a copy
		e.Payload[5] = '2'
		headers["h"] = "v"
		want = append(want, e.Key)
	}
	closeBus(t, b)

	assert.Equal(t, want, all.keys(), "every event exactly once, in order")
	assert.Equal(t, want, placed.keys())
	assert.Empty(t, users.got)
	ids := map[string]bool{}
	for _, e := range all.got {
		assert.NotEmpty(t, e.EnvelopeID)
		assert.False(t, e.Timestamp.IsZero())
		assert.Equal(t, map[string]string{"h": "v"}, e.Headers)
		assert.JSONEq(t, `{"n":1}`, string(e.Payload))
		ids[e.EnvelopeID] = true
	}
	assert.Len(t, ids, 100, "envelope IDs are unique")
}

func TestBus_Publish_KeepsIDs(t *testing.T) {
	b := events.New(nil)
	var r recorder
	subscribe(t, b, ">", r.handle, events.SubscribeOptions{})
	e := event("k")
	e.EnvelopeID = "id-1"
	e.Timestamp = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, b.Publish(context.Background(), e))
	closeBus(t, b)
	require.Len(t, r.got, 1)
	assert.Equal(t, e, r.got[0])
}

func TestBus_Publish_Errors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		event   abi.Event
		wantErr error
	}{
		{"bad topic", context.Background(), abi.Event{Topic: "orders", EventType: "x"}, abi.ErrInvalidEvent},
		{"no event type", context.Background(), abi.Event{Topic: topic}, abi.ErrInvalidEvent},
		{"bad payload", context.Background(), abi.Event{Topic: topic, EventType: "x", Payload: []byte("{")}, abi.ErrInvalidEvent},
		{"cancelled ctx", cancelled, event("k"), context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := events.New(nil)
			var r recorder
			s := subscribe(t, b, ">", r.handle, events.SubscribeOptions{})
			require.ErrorIs(t, b.Publish(tt.ctx, tt.event), tt.wantErr)
			closeBus(t, b)
			assert.Empty(t, r.got)
			assert.Equal(t, events.SubscriptionStats{}, s.Stats())
		})
	}
}

func TestBus_Subscribe_Invalid(t *testing.T) {
	var r recorder
	tests := []struct {
		name    string
		pattern string
		h       events.Handler
		opts    events.SubscribeOptions
	}{
		{"empty pattern", "", r.handle, events.SubscribeOptions{}},
		{"empty segment", "onex..evt", r.handle, events.SubscribeOptions{}},
		{"tail not last", "onex.>.v1", r.handle, events.SubscribeOptions{}},
		{"partial wildcard", "onex.ev*", r.handle, events.SubscribeOptions{}},
		{"nil handler", ">", nil, events.SubscribeOptions{}},
		{"negative buffer", ">", r.handle, events.SubscribeOptions{Buffer: -1}},
		{"unknown policy", ">", r.handle, events.SubscribeOptions{Policy: 7}},
	}
	b := events.New(nil)
	defer closeBus(t, b)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := b.Subscribe(tt.pattern, tt.h, tt.opts)
			require.ErrorIs(t, err, events.ErrInvalidSubscription)
			assert.Nil(t, s)
		})
	}
}

// A slow Drop subscriber loses what does not fit its queue, without delaying the
// publisher or a fast subscriber.
func TestBus_Publish_DropSlowSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := events.New(nil)
		gate := make(chan struct{})
		slow := subscribe(t, b, ">", func(context.Context, abi.Event) error {
			<-gate
			return nil
		}, events.SubscribeOptions{Name: "slow", Buffer: 4})
		var fastSeen recorder
		fast := subscribe(t, b, ">", fastSeen.handle, events.SubscribeOptions{Name: "fast"})

		require.NoError(t, b.Publish(context.Background(), event("0")))
		synctest.Wait() // slow's handler now holds event 0 and waits on gate
		const n = 100
		for i := 1; i < n; i++ {
			require.NoError(t, b.Publish(context.Background(), event(strconv.Itoa(i))))
		}
		synctest.Wait()
		assert.Equal(t, events.SubscriptionStats{Delivered: n}, fast.Stats(), "fast is not held up")
		assert.Equal(t, events.SubscriptionStats{Dropped: n - 1 - 4, Pending: 4}, slow.Stats())

		close(gate)
		closeBus(t, b)
		st := slow.Stats()
		assert.Equal(t, events.SubscriptionStats{Delivered: 5, Dropped: n - 5}, st)
		assert.Equal(t, uint64(n), st.Delivered+st.Dropped)
		assert.Len(t, fastSeen.got, n)
	})
}

// A full Block subscriber makes Publish wait, and Publish gives up when its ctx ends.
func TestBus_Publish_BlockBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := events.New(nil)
		gate := make(chan struct{})
		var seen recorder
		s := subscribe(t, b, ">", func(ctx context.Context, e abi.Event) error {
			<-gate
			return seen.handle(ctx, e)
		}, events.SubscribeOptions{Buffer: 1, Policy: events.Block})

		require.NoError(t, b.Publish(context.Background(), event("0"))) // taken by the handler
		synctest.Wait()
		require.NoError(t, b.Publish(context.Background(), event("1"))) // fills the queue

		// The next Publish waits for room until its deadline.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := b.Publish(ctx, event("2"))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start))

		// With room made by the handler, a waiting Publish completes.
		published := make(chan error)
		go func() { published <- b.Publish(context.Background(), event("3")) }()
		synctest.Wait()
		select {
		case <-published:
			t.Fatal("Publish returned while the queue was full")
		default:
		}
		gate <- struct{}{} // handler finishes 0, takes 1; 3 gets the slot
		require.NoError(t, <-published)
		close(gate)
		closeBus(t, b)
		assert.Equal(t, []string{"0", "1", "3"}, seen.keys())
		assert.Equal(t, events.SubscriptionStats{Delivered: 3}, s.Stats())
	})
}

func TestBus_Publish_HandlerFailures(t *testing.T) {
	b := events.New(nil)
	failing := subscribe(t, b, ">", func(context.Context, abi.Event) error {
		return errors.New("boom")
	}, events.SubscribeOptions{Name: "failing"})
	panicking := subscribe(t, b, ">", func(context.Context, abi.Event) error {
		panic("boom")
	}, events.SubscribeOptions{Name: "panicking", Policy: events.Block})
	var r recorder
	good := subscribe(t, b, ">", r.handle, events.SubscribeOptions{Name: "good"})

	const n = 50
	for i := range n {
		require.NoError(t, b.Publish(context.Background(), event(strconv.Itoa(i))))
	}
	closeBus(t, b)
	assert.Equal(t, events.SubscriptionStats{Failed: n}, failing.Stats())
	assert.Equal(t, events.SubscriptionStats{Failed: n}, panicking.Stats())
	assert.Equal(t, events.SubscriptionStats{Delivered: n}, good.Stats())
	assert.Len(t, r.got, n)
}

// TestBus_Hammer has many publishers and Block subscribers run at once, with small
// queues so that publishers wait often; every event must arrive exactly once and in
// order per publisher.
func TestBus_Hammer(t *testing.T) {
	const publishers, perPublisher, subscribers = 16, 2000, 8
	b := events.New(nil)
	patterns := []string{topic, "onex.evt.*.placed.v1", "onex.evt.>", ">", "*.*.*.*.*", "onex.*.orders.>", "onex.evt.orders.*.*", "*.evt.>"}
	require.Len(t, patterns, subscribers)

	subs := make([]*events.Subscription, subscribers)
	next := make([][]int, subscribers) // next[s][p]: next sequence number s expects from p
	violations := make([]int, subscribers)
	for i := range subs {
		next[i] = make([]int, publishers)
		subs[i] = subscribe(t, b, patterns[i], func(_ context.Context, e abi.Event) error {
			p, _ := strconv.Atoi(e.Headers["p"])
			n, _ := strconv.Atoi(e.Headers["n"])
			if next[i][p] != n {
				violations[i]++
			}
			next[i][p] = n + 1
			return nil
		}, events.SubscribeOptions{Name: fmt.Sprint("sub-", i), Buffer: 16, Policy: events.Block})
	}
	// A non-matching subscriber sees nothing.
	other := subscribe(t, b, "onex.evt.users.>", func(context.Context, abi.Event) error { return nil }, events.SubscribeOptions{})

	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for n := range perPublisher {
				e := event("")
				e.Headers = map[string]string{"p": strconv.Itoa(p), "n": strconv.Itoa(n)}
				if err := b.Publish(context.Background(), e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	closeBus(t, b)

	for i, s := range subs {
		assert.Equal(t, events.SubscriptionStats{Delivered: publishers * perPublisher}, s.Stats(), patterns[i])
		assert.Zero(t, violations[i], "order violations for %s", patterns[i])
		for p := range publishers {
			assert.Equal(t, perPublisher, next[i][p])
		}
	}
	assert.Equal(t, events.SubscriptionStats{}, other.Stats())
}

func TestBus_Close(t *testing.T) {
	t.Run("drains queues", func(t *testing.T) {
		b := events.New(nil)
		var r recorder
		s := subscribe(t, b, ">", r.handle, events.SubscribeOptions{})
		for i := range 500 {
			require.NoError(t, b.Publish(context.Background(), event(strconv.Itoa(i))))
		}
		closeBus(t, b)
		assert.Equal(t, events.SubscriptionStats{Delivered: 500}, s.Stats())
	})

	t.Run("ctx ends before drained", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := events.New(nil)
			var cancelled bool
			s := subscribe(t, b, ">", func(ctx context.Context, _ abi.Event) error {
				<-ctx.Done() // a handler that waits for its ctx
				cancelled = true
				return ctx.Err()
			}, events.SubscribeOptions{})
			for i := range 3 {
				require.NoError(t, b.Publish(context.Background(), event(strconv.Itoa(i))))
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			require.ErrorIs(t, b.Close(ctx), context.DeadlineExceeded)
			assert.True(t, cancelled, "the handler's ctx was cancelled")
			assert.Equal(t, events.SubscriptionStats{Failed: 1, Pending: 2}, s.Stats())
		})
	})

	t.Run("waits for a blocked publisher", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := events.New(nil)
			gate := make(chan struct{})
			var r recorder
			s := subscribe(t, b, ">", func(ctx context.Context, e abi.Event) error {
				<-gate
				return r.handle(ctx, e)
			}, events.SubscribeOptions{Buffer: 1, Policy: events.Block})
			require.NoError(t, b.Publish(context.Background(), event("0")))
			synctest.Wait()
			require.NoError(t, b.Publish(context.Background(), event("1")))
			published := make(chan error)
			go func() { published <- b.Publish(context.Background(), event("2")) }()
			synctest.Wait() // the publisher waits for room

			closed := make(chan error)
			go func() { closed <- b.Close(context.Background()) }()
			synctest.Wait()
			require.ErrorIs(t, b.Publish(context.Background(), event("late")), events.ErrClosed)
			close(gate)
			require.NoError(t, <-published, "accepted before Close, so delivered")
			require.NoError(t, <-closed)
			assert.Equal(t, []string{"0", "1", "2"}, r.keys())
			assert.Equal(t, events.SubscriptionStats{Delivered: 3}, s.Stats())
		})
	})

	t.Run("then everything is closed", func(t *testing.T) {
		b := events.New(nil)
		var r recorder
		s := subscribe(t, b, ">", r.handle, events.SubscribeOptions{})
		closeBus(t, b)
		require.ErrorIs(t, b.Publish(context.Background(), event("k")), events.ErrClosed)
		_, err := b.Subscribe(">", r.handle, events.SubscribeOptions{})
		require.ErrorIs(t, err, events.ErrClosed)
		require.ErrorIs(t, b.Close(context.Background()), events.ErrClosed)
		s.Close() // still fine after the bus closed it
		assert.Empty(t, r.got)
	})
}

func TestSubscription_Close(t *testing.T) {
	b := events.New(nil)
	defer closeBus(t, b)
	var r, other recorder
	s := subscribe(t, b, ">", r.handle, events.SubscribeOptions{})
	o := subscribe(t, b, ">", other.handle, events.SubscribeOptions{})

	require.NoError(t, b.Publish(context.Background(), event("before")))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(s.Close) // concurrent and repeated Close calls are fine
	}
	wg.Wait()
	s.Close()
	require.NoError(t, b.Publish(context.Background(), event("after")))

	st := s.Stats()
	assert.LessOrEqual(t, len(r.got), 1, "nothing after Close")
	assert.Equal(t, uint64(len(r.got)), st.Delivered)
	o.Close()
	assert.Equal(t, []string{"before", "after"}, other.keys())
}

func TestBus_Close_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	b := events.New(nil)
	for i := range 10 {
		s := subscribe(t, b, ">", func(context.Context, abi.Event) error { return nil },
			events.SubscribeOptions{Policy: events.Policy(i % 2)})
		if i%3 == 0 {
			s.Close()
		}
	}
	for i := range 100 {
		require.NoError(t, b.Publish(context.Background(), event(strconv.Itoa(i))))
	}
	closeBus(t, b)
	waitGoroutines(t, before)
}
