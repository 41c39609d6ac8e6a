package container_test

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/container"
)

func TestBuilder_Register(t *testing.T) {
	tests := []struct {
		name string
		key  string
		svc  any
		want error
	}{
		{name: "ok", key: "logger", svc: slog.Default()},
		{name: "duplicate", key: "dup", svc: 2, want: container.ErrDuplicate},
		{name: "empty name", key: "", svc: 1, want: container.ErrInvalid},
		{name: "nil service", key: "nil", svc: nil, want: container.ErrInvalid},
	}
	b := container.NewBuilder()
	require.NoError(t, b.Register("dup", 1))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.Register(tt.key, tt.svc)
			if tt.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tt.want)
		})
	}
}

func TestBuilder_BuildFreezes(t *testing.T) {
	b := container.NewBuilder()
	require.NoError(t, b.Register("a", 1))
	c := b.Build()
	require.ErrorIs(t, b.Register("b", 2), container.ErrFrozen)
	_, ok := c.Lookup("b")
	assert.False(t, ok)
	assert.Equal(t, []string{"a"}, c.Names())
}

func TestGet(t *testing.T) {
	b := container.NewBuilder()
	logger := slog.Default()
	require.NoError(t, b.Register("logger", logger))
	c := b.Build()

	got, err := container.Get[*slog.Logger](c, "logger")
	require.NoError(t, err)
	assert.Same(t, logger, got)

	_, err = container.Get[*slog.Logger](c, "cache")
	require.ErrorIs(t, err, container.ErrNotFound)
	assert.Contains(t, err.Error(), "logger", "names what is registered")

	_, err = container.Get[fmt.Stringer](c, "logger")
	require.ErrorIs(t, err, container.ErrWrongType)
}

// TestContainer_Hammer: 64 goroutines look services up while the builder is frozen and
// refuses late registrations; every lookup sees exactly the built set.
func TestContainer_Hammer(t *testing.T) {
	const goroutines, lookups, services = 64, 2000, 16
	b := container.NewBuilder()
	for i := range services {
		require.NoError(t, b.Register(fmt.Sprintf("svc%d", i), i))
	}
	c := b.Build()
	var wg sync.WaitGroup
	var mu sync.Mutex // guards found
	found := 0
	for g := range goroutines {
		wg.Go(func() {
			n := 0
			for i := range lookups {
				v, err := container.Get[int](c, fmt.Sprintf("svc%d", (g+i)%services))
				if assert.NoError(t, err) && assert.Equal(t, (g+i)%services, v) {
					n++
				}
			}
			assert.ErrorIs(t, b.Register(fmt.Sprintf("late%d", g), g), container.ErrFrozen)
			mu.Lock()
			found += n
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, goroutines*lookups, found)
	assert.Len(t, c.Names(), services)
}
