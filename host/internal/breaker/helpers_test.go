package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

func succeed(context.Context) error { return nil }
func fail(context.Context) error    { return errBoom }

// newTestRegistry returns a registry whose every breaker has policy p, with
// a recorder subscribed to its state changes.
func newTestRegistry(tb testing.TB, p Policy) (*Registry, *recorder) {
	tb.Helper()
	r, err := NewRegistry(Config{Policy: p})
	require.NoError(tb, err)
	rec := &recorder{}
	r.OnStateChange(rec.record)
	return r, rec
}

// countPolicy trips after n results of which n are failures, and judges no
// rate below 100 %. Its other fields are small so tests stay short.
func countPolicy(n int) Policy {
	return Policy{
		MinRequests:          n,
		FailureThreshold:     n,
		FailureRateThreshold: 1,
		Window:               time.Hour,
		OpenTimeout:          time.Minute,
		HalfOpenMaxRequests:  3,
		SuccessThreshold:     2,
	}
}

// recorder collects state changes as "service: from->to".
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) record(service string, from, to State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%s: %v->%v", service, from, to))
}

func (r *recorder) changes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

// run records a sequence of results on b through Do: 'S' a success, 'F' a
// failure, 'C' a canceled call. It returns the errors of the calls.
func run(tb testing.TB, b *Breaker, results string) []error {
	tb.Helper()
	errs := make([]error, 0, len(results))
	for _, c := range results {
		var fn func(context.Context) error
		switch c {
		case 'S':
			fn = succeed
		case 'F':
			fn = fail
		case 'C':
			fn = func(context.Context) error { return fmt.Errorf("call: %w", context.Canceled) }
		default:
			tb.Fatalf("bad result %q", c)
		}
		errs = append(errs, b.Do(context.Background(), fn))
	}
	return errs
}

// trip opens b through failures, which must be enough for its policy.
func trip(tb testing.TB, b *Breaker) {
	tb.Helper()
	for range 1000 {
		if b.State() == StateOpen {
			return
		}
		require.ErrorIs(tb, b.Do(context.Background(), fail), errBoom)
	}
	tb.Fatal("breaker did not open")
}

// within runs fn on another goroutine and fails the test if it has not
// returned after d, which is how a deadlock shows.
func within(tb testing.TB, d time.Duration, fn func()) {
	tb.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(d):
		tb.Fatalf("deadlock: still blocked after %v", d)
	}
}
