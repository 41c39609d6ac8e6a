package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/reducer"
)

// carrier is a Carry that records what it carried and refuses, for good, the intents
// of refused sequences while refusing is on.
type carrier struct {
	mu      sync.Mutex
	carried map[string]int // operation id → times carried out
	refuse  bool
}

func (c *carrier) carry(_ context.Context, e reducer.OutboxEntry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse && e.Sequence%10 == 0 {
		return reducer.Permanent(errors.New("refused"))
	}
	c.carried[e.OperationID]++
	return nil
}

func (c *carrier) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.carried))
	for k, v := range c.carried {
		out[k] = v
	}
	return out
}

// TestReducers_CarryIntents: events sent to two hosts; the owner of each key carries
// its intents out (every intent once), removes them from the record, moves those the
// carrier refuses for good to the failed intents, and RetryFailed brings them back.
func TestReducers_CarryIntents(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	c := &carrier{carried: map[string]int{}, refuse: true}
	var hosts []*cluster.Reducers
	for _, id := range []string{"a", "b"} {
		nc, err := e.Connect(id)
		require.NoError(t, err)
		r, err := cluster.NewReducers(patientContext(t), nc, id, map[string]reducer.Fold{"counter": counterFold},
			cluster.ReducersConfig{Partitions: 4, Logger: quiet, Carry: c.carry})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close(); nc.Close() })
		hosts = append(hosts, r)
	}
	ctx := patientContext(t)
	want := map[string]bool{} // operation ids of every intent
	for k := range 4 {
		key := fmt.Sprintf("k%d", k)
		for i := range 20 {
			res, err := hosts[i%2].Apply(ctx, "counter", key, counterEvent(fmt.Sprintf("%s-%d", key, i), 5)) // 5: an intent each
			require.NoError(t, err)
			require.Len(t, res.Intents, 1)
			want[res.Intents[0].OperationID] = true
		}
	}
	pendingEmpty := func() bool {
		for k := range 4 {
			p, err := hosts[0].Pending(ctx, "counter", fmt.Sprintf("k%d", k))
			if err != nil || len(p) > 0 {
				return false
			}
		}
		return true
	}
	eventually(t, pendingEmpty, "every intent left the records")
	eventually(t, func() bool { return pendingIntents(hosts) == 0 }, "no intent counted pending")
	failed, err := hosts[1].FailedIntents(ctx, "counter")
	require.NoError(t, err)
	assert.Len(t, failed, 4*2, "sequences 10 and 20 of each key were refused")
	carried := c.snapshot()
	assert.Len(t, carried, len(want)-len(failed))
	for id, n := range carried {
		assert.True(t, want[id], id)
		assert.Equal(t, 1, n, "carried once: %s", id)
	}

	c.mu.Lock()
	c.refuse = false
	c.mu.Unlock()
	for _, f := range failed {
		require.NoError(t, hosts[0].RetryFailed(ctx, "counter", f.Entry.OperationID))
	}
	eventually(t, func() bool { return len(c.snapshot()) == len(want) && pendingEmpty() }, "the retried intents were carried out")
	failed, err = hosts[0].FailedIntents(ctx, "counter")
	require.NoError(t, err)
	assert.Empty(t, failed)
	err = hosts[0].RetryFailed(ctx, "counter", "nope")
	assert.ErrorIs(t, err, reducer.ErrNotFound)

	keys, more, err := hosts[1].Keys(ctx, "counter", "", 3)
	require.NoError(t, err)
	assert.True(t, more)
	require.Len(t, keys, 3)
	assert.Equal(t, reducer.KeyInfo{Key: "k0", Sequence: 20}, keys[0])
	keys, more, err = hosts[1].Keys(ctx, "counter", keys[2].Key, 3)
	require.NoError(t, err)
	assert.False(t, more)
	assert.Equal(t, []reducer.KeyInfo{{Key: "k3", Sequence: 20}}, keys)
}

// TestReducers_IntentsOutliveTheirOwner: the owner of a key dies with the key's intents
// pending (its effects kept failing); with no further event for the key, another host
// takes the partition over at its next sweep and carries every intent out.
func TestReducers_IntentsOutliveTheirOwner(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	const lease = time.Second // the smallest per-key TTL JetStream takes
	failing := func(context.Context, reducer.OutboxEntry) error { return errors.New("the effect node is down") }
	ncA, err := e.Connect("a")
	require.NoError(t, err)
	a, err := cluster.NewReducers(patientContext(t), ncA, "a", map[string]reducer.Fold{"counter": counterFold},
		cluster.ReducersConfig{Partitions: 4, Lease: lease, Logger: quiet, Carry: failing})
	require.NoError(t, err)
	ctx := patientContext(t)
	want := map[string]bool{}
	for i := range 6 {
		res, err := a.Apply(ctx, "counter", "k", counterEvent(fmt.Sprintf("e%d", i), 5))
		require.NoError(t, err)
		want[res.Intents[0].OperationID] = true
	}
	cluster.HaltReducers(a) // a crash: the lease is not released, it expires
	ncA.Close()

	c := &carrier{carried: map[string]int{}}
	ncB, err := e.Connect("b")
	require.NoError(t, err)
	b, err := cluster.NewReducers(patientContext(t), ncB, "b", map[string]reducer.Fold{"counter": counterFold},
		cluster.ReducersConfig{Partitions: 4, Lease: lease, Logger: quiet, Carry: c.carry})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close(); ncB.Close() })
	eventually(t, func() bool {
		p, err := b.Pending(ctx, "counter", "k")
		return err == nil && len(p) == 0
	}, "b carried a's pending intents")
	got := c.snapshot()
	assert.Len(t, got, len(want))
	for id, n := range got {
		assert.True(t, want[id], id)
		assert.Equal(t, 1, n, id)
	}
}

// pendingIntents is the counter node's PendingIntents summed over hosts.
func pendingIntents(hosts []*cluster.Reducers) int {
	n := 0
	for _, h := range hosts {
		n += h.PendingIntents()["counter"]
	}
	return n
}

// TestReducers_PendingIntents: without a Carry every intent stays pending; the owners'
// counts add up to the intents in the records, and Done takes one off.
func TestReducers_PendingIntents(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	var hosts []*cluster.Reducers
	byID := map[string]*cluster.Reducers{}
	for _, id := range []string{"a", "b"} {
		nc, err := e.Connect(id)
		require.NoError(t, err)
		r, err := cluster.NewReducers(patientContext(t), nc, id, map[string]reducer.Fold{"counter": counterFold},
			cluster.ReducersConfig{Partitions: 4, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close(); nc.Close() })
		hosts = append(hosts, r)
		byID[id] = r
	}
	ctx := patientContext(t)
	var last reducer.OutboxEntry
	for k := range 6 {
		for i := range 3 {
			key := fmt.Sprintf("k%d", k)
			res, err := hosts[(k+i)%2].Apply(ctx, "counter", key, counterEvent(fmt.Sprintf("%s-%d", key, i), 5)) // an intent each
			require.NoError(t, err)
			last = res.Intents[0]
		}
	}
	// Eventually: a lease that a loaded machine renewed late is not counted meanwhile.
	eventually(t, func() bool { return pendingIntents(hosts) == 6*3 }, "every intent counted once")
	owner, err := hosts[0].Owner(ctx, "counter", last.Key)
	require.NoError(t, err)
	require.NoError(t, byID[owner].Done(ctx, "counter", last.Key, last.OperationID))
	eventually(t, func() bool { return pendingIntents(hosts) == 6*3-1 }, "the intent done is not counted")
}
