package pool

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPool_DestroyWhenClosePanics: a Config.Close that panics still frees the slot (the
// panic reaches the caller), so the pool keeps its full capacity and exact counts.
func TestPool_DestroyWhenClosePanics(t *testing.T) {
	tests := []struct {
		name    string
		destroy func(p *Pool[int], in int)
	}{
		{name: "Discard", destroy: func(p *Pool[int], in int) { p.Discard(in) }},
		{name: "Release after Close", destroy: func(p *Pool[int], in int) { p.Close(); p.Release(in) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config[int]{
				Max:   1,
				New:   func(context.Context) (int, error) { return 1, nil },
				Close: func(int) { panic("close failed") },
			})
			require.NoError(t, err)
			in, err := p.Acquire(t.Context())
			require.NoError(t, err)
			assert.PanicsWithValue(t, "close failed", func() { tt.destroy(p, in) })
			s := p.Stats()
			assert.Equal(t, 0, s.Live, "the slot is free")
			assert.Equal(t, 0, s.InUse)
			assert.Equal(t, uint64(1), s.Destroyed)
		})
	}

	t.Run("the freed slot goes to a waiter", func(t *testing.T) {
		p, err := New(Config[int]{
			Max:   1,
			New:   func(context.Context) (int, error) { return 1, nil },
			Close: func(int) { panic("close failed") },
		})
		require.NoError(t, err)
		in, err := p.Acquire(t.Context())
		require.NoError(t, err)
		got := make(chan error, 1)
		go func() {
			in, err := p.Acquire(t.Context())
			if err == nil {
				p.Release(in)
			}
			got <- err
		}()
		require.Eventually(t, func() bool { return p.Stats().Waiting == 1 }, time.Minute, time.Millisecond)
		assert.Panics(t, func() { p.Discard(in) })
		select {
		case err := <-got:
			require.NoError(t, err, "the waiter got the slot")
		case <-time.After(time.Minute):
			t.Fatal("the waiter never got the slot")
		}
		assert.Equal(t, 1, p.Stats().Live)
	})
}
