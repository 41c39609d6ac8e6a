package host_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
	"github.com/onexhost/onex-host/host/effect"
)

// mapCache is a SharedCache in a map, counting what reaches it.
type mapCache struct {
	mu          sync.Mutex
	values      map[string][]byte
	ttls        map[string]time.Duration
	fetches     int
	invalidated []string
}

func (m *mapCache) Clear(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.values)
	return nil
}

func (m *mapCache) Fetch(ctx context.Context, key string, ttl time.Duration, compute func(context.Context) ([]byte, error)) ([]byte, bool, error) {
	m.mu.Lock()
	m.fetches++
	v, ok := m.values[key]
	m.mu.Unlock()
	if ok {
		return v, true, nil
	}
	v, err := compute(ctx)
	if err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[key], m.ttls[key] = v, ttl
	return v, false, nil
}

func (m *mapCache) Invalidate(ctx context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.values, key)
	m.invalidated = append(m.invalidated, key)
	return nil
}

func TestSharedCache_SecondLevelAcrossHosts(t *testing.T) {
	shared := &mapCache{values: map[string][]byte{}, ttls: map[string]time.Duration{}}
	cfg := host.NewConfig().WithSharedCache(shared).WithCache(0, 0, time.Minute)
	a, _ := newHost(t, cfg)
	b, _ := newHost(t, cfg)
	na, err := compute.New(loadGo(t, a, "plugins/core", host.PluginConfig{}))
	require.NoError(t, err)
	nb, err := compute.New(loadGo(t, b, "plugins/core", host.PluginConfig{}))
	require.NoError(t, err)
	in := abi.ComputeInput{ComputationType: "sum_numbers", Data: []byte("[1,2,3]")}

	out, err := na.Process(context.Background(), in)
	require.NoError(t, err)
	assert.False(t, out.CacheHit)
	assert.Equal(t, "miss", out.CacheOutcome)
	assert.JSONEq(t, "6", string(out.Result))
	require.Len(t, shared.values, 1)
	for _, ttl := range shared.ttls {
		assert.Equal(t, time.Minute, ttl, "a plugin without its own TTL stores for the host's")
	}

	// Host b has never computed it: its local miss is a shared hit.
	out, err = nb.Process(context.Background(), in)
	require.NoError(t, err)
	assert.True(t, out.CacheHit)
	assert.Equal(t, "shared_hit", out.CacheOutcome)
	assert.Zero(t, out.ProcessingTimeMS)
	assert.JSONEq(t, "6", string(out.Result))
	// Now it is in b's first level: the shared tier is not asked again.
	out, err = nb.Process(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, "hit", out.CacheOutcome)
	assert.Equal(t, 2, shared.fetches)
	s := b.CacheStats()
	assert.Equal(t, [4]uint64{1, 1, 0, 0}, [4]uint64{s.Hits, s.SharedHits, s.Joined, s.Misses}, "hits, shared_hits, joined, misses")

	// Invalidation removes it locally and from the shared tier; the key reaches the
	// other host through InvalidateCached.
	nb.Invalidate("sum_numbers", []byte("[1,2,3]"))
	require.Len(t, shared.invalidated, 1)
	require.NoError(t, a.InvalidateCached(shared.invalidated[0]))
	out, err = na.Process(context.Background(), in)
	require.NoError(t, err)
	assert.False(t, out.CacheHit, "invalidated on both levels: computed again")
	assert.Error(t, a.InvalidateCached("not-a-key"))
}

func TestCommitGuard_RefusalRollsBack(t *testing.T) {
	h := effectHost(t)
	dir := t.TempDir()
	n := scriptNode(t, h, dir, effect.Config{})
	data := []byte(`{"steps":[{"op":"kv.put","key":"k","value":"v"}]}`)

	var seen abi.EffectOutput
	ctx := effect.WithCommitGuard(context.Background(), func(ctx context.Context, out abi.EffectOutput) error {
		seen = out
		return errors.New("lease lost")
	})
	out, err := n.Process(ctx, abi.EffectInput{EffectType: "script", OperationData: data, OperationID: "op-1"})
	require.ErrorIs(t, err, host.ErrUnavailable)
	assert.ErrorContains(t, err, "lease lost")
	assert.Equal(t, abi.TransactionRolledBack, out.TransactionState)
	assert.Equal(t, 0, out.RetryCount, "a refused commit is not retried")
	assert.Equal(t, "op-1", seen.OperationID)
	assert.Equal(t, abi.TransactionCommitted, seen.TransactionState, "the guard sees the output it would commit")
	assert.NotEmpty(t, seen.Result)

	// Nothing was left behind, and a guard that agrees lets it commit.
	ctx = effect.WithCommitGuard(context.Background(), func(context.Context, abi.EffectOutput) error { return nil })
	out, err = n.Process(ctx, abi.EffectInput{EffectType: "script", OperationData: []byte(`{"steps":[{"op":"kv.get","key":"k"}]}`)})
	require.NoError(t, err)
	assert.Equal(t, abi.TransactionCommitted, out.TransactionState)
	assert.JSONEq(t, `{"steps":1}`, string(out.Result), "the refused attempt left no k")
}
