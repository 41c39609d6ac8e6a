package pool

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

// instance is a fake pooled instance that detects shared use and double Close.
type instance struct {
	id     int64
	held   atomic.Bool // set while a goroutine holds it
	closed atomic.Bool
}

// factory creates and destroys fake instances, counting both independently of
// the pool so tests can check the pool's Stats against them.
type factory struct {
	calls, created, closed, alive, maxAlive, badClose atomic.Int64

	// fail, if set before the pool is used, decides whether New call number
	// n (from 1) fails.
	fail func(n int64) error
	// gate, if set before the pool is used, is received from before New
	// returns, so that tests can hold creation open.
	gate chan struct{}
}

func (f *factory) new(ctx context.Context) (*instance, error) {
	n := f.calls.Add(1)
	if f.gate != nil {
		<-f.gate
	}
	if f.fail != nil {
		if err := f.fail(n); err != nil {
			return nil, err
		}
	}
	a := f.alive.Add(1)
	for m := f.maxAlive.Load(); a > m && !f.maxAlive.CompareAndSwap(m, a); m = f.maxAlive.Load() {
	}
	return &instance{id: f.created.Add(1)}, nil
}

func (f *factory) close(in *instance) {
	if !in.closed.CompareAndSwap(false, true) {
		f.badClose.Add(1)
		return
	}
	f.alive.Add(-1)
	f.closed.Add(1)
}

func newTestPool(tb testing.TB, max, minIdle int) (*Pool[*instance], *factory) {
	tb.Helper()
	f := &factory{}
	p, err := New(Config[*instance]{Max: max, MinIdle: minIdle, New: f.new, Close: f.close})
	require.NoError(tb, err)
	return p, f
}

// acquireAsync runs Acquire in a goroutine and returns a channel that yields
// its result.
func acquireAsync(ctx context.Context, p *Pool[*instance]) <-chan result {
	ch := make(chan result, 1)
	go func() {
		in, err := p.Acquire(ctx)
		ch <- result{in, err}
	}()
	return ch
}

type result struct {
	in  *instance
	err error
}
