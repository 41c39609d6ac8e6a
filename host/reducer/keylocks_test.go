package reducer

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyLocks: 32 goroutines × 100 increments over 4 keys, each under its key's lock,
// with no other synchronisation: every count is exact (the race detector sees any
// overlap), and no entry is left. A waiter whose context ends gives its place up.
func TestKeyLocks(t *testing.T) {
	var l KeyLocks
	counts := map[string]*int{"a": new(int), "b": new(int), "c": new(int), "d": new(int)}
	keys := []string{"a", "b", "c", "d"}
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := keys[g%4]
			for range 100 {
				unlock, err := l.Lock(context.Background(), key)
				if !assert.NoError(t, err) {
					return
				}
				*counts[key]++
				unlock()
			}
		}()
	}
	wg.Wait()
	for _, k := range keys {
		assert.Equal(t, 800, *counts[k], k)
	}
	assert.Zero(t, l.Len())

	unlock, err := l.Lock(context.Background(), "a")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = l.Lock(ctx, "a")
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, 1, l.refs("a"), "the canceled waiter left")
	unlock()
	assert.Zero(t, l.Len())
}
