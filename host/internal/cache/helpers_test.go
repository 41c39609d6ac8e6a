package cache

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// newTestCache returns a cache whose background goroutine stops when the test
// ends, which synctest bubbles require.
func newTestCache(tb testing.TB, cfg Config) *Cache {
	tb.Helper()
	c, err := New(cfg)
	require.NoError(tb, err)
	tb.Cleanup(c.Close)
	return c
}

// gate is a compute function that counts its calls and, if release is set,
// blocks until release is closed. Create it inside a synctest bubble so that
// a blocked compute counts as durably blocked.
type gate struct {
	calls   atomic.Int32
	release chan struct{}
	value   []byte
	ttl     time.Duration
}

func newGate(value string) *gate {
	return &gate{release: make(chan struct{}), value: []byte(value)}
}

func (g *gate) compute(ctx context.Context) ([]byte, time.Duration, error) {
	g.calls.Add(1)
	if g.release != nil {
		<-g.release
	}
	return g.value, g.ttl, nil
}

// constant returns a compute function that counts calls in n and returns v.
func constant(n *atomic.Int32, v string, ttl time.Duration) ComputeFunc {
	return func(context.Context) ([]byte, time.Duration, error) {
		n.Add(1)
		return []byte(v), ttl, nil
	}
}

// waiters returns how many callers wait for the current flight of key.
func waiters(c *Cache, key Key) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[key]; f != nil {
		return f.waiters
	}
	return 0
}

// flightCount returns the number of current flights.
func flightCount(c *Cache) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.flights)
}

// result is what one GetOrCompute call returned.
type result struct {
	value []byte
	hit   Outcome
	err   error
}

// goGet runs GetOrCompute on a new goroutine and returns a channel that
// delivers its result.
func goGet(ctx context.Context, c *Cache, key Key, compute ComputeFunc) <-chan result {
	ch := make(chan result, 1)
	go func() {
		v, hit, err := c.GetOrCompute(ctx, key, compute)
		ch <- result{v, hit, err}
	}()
	return ch
}

// storedBytes returns the sum of len(value)+EntryOverhead over the entries
// otter holds.
func storedBytes(c *Cache) int64 {
	var n int64
	for _, e := range c.store.All() {
		n += int64(len(e.value)) + EntryOverhead
	}
	return n
}
