package cluster_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/reducer"
)

// A fold that fails leaves a dead letter that every host lists; a retry through any host
// applies it on the key's owner once the fold succeeds and removes it, as does a
// redelivery of the same event; a key whose only events failed is not listed as a key.
func TestReducers_DeadLetters(t *testing.T) {
	t.Parallel()
	e := embedded(t)
	var failing atomic.Bool
	fold := func(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
		if failing.Load() {
			return abi.ReduceOutput{}, errors.New("refused for now")
		}
		return counterFold(ctx, in)
	}
	var hosts []*cluster.Reducers
	for _, id := range []string{"a", "b"} {
		nc, err := e.Connect(id)
		require.NoError(t, err)
		r, err := cluster.NewReducers(patientContext(t), nc, id, map[string]reducer.Fold{"counter": fold},
			cluster.ReducersConfig{Partitions: 4, Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { r.Close(); nc.Close() })
		hosts = append(hosts, r)
	}
	a, b := hosts[0], hosts[1]
	ctx := patientContext(t)

	failing.Store(true)
	for _, k := range []string{"k2", "k1"} {
		_, err := b.Apply(ctx, "counter", k, counterEvent("e-"+k, 1))
		var fe *reducer.FoldError
		require.ErrorAs(t, err, &fe, k)
	}
	// A second failure of the same event updates its dead letter.
	_, err := a.Apply(ctx, "counter", "k1", counterEvent("e-k1", 1))
	require.ErrorIs(t, err, reducer.ErrFold)
	for _, h := range hosts {
		ds, err := h.DeadLetters(ctx, "counter")
		require.NoError(t, err)
		require.Len(t, ds, 2)
		assert.Equal(t, []string{"k1", "k2"}, []string{ds[0].Key, ds[1].Key}, "ordered by key")
		assert.Equal(t, "e-k1", ds[0].Event.EventID)
		assert.Equal(t, "counter", ds[0].Node)
		assert.Contains(t, ds[0].Error, "refused for now")
		assert.False(t, ds[0].Time.IsZero())
	}
	keys, more, err := a.Keys(ctx, "counter", "", 10)
	require.NoError(t, err)
	assert.Empty(t, keys, "no event applied: no key")
	assert.False(t, more)
	seq, _, err := a.State(ctx, "counter", "k1")
	require.NoError(t, err)
	assert.Zero(t, seq)

	// A retry while the fold still fails keeps the dead letter.
	_, err = a.RetryDeadLetter(ctx, "counter", "k1", "e-k1")
	require.ErrorIs(t, err, reducer.ErrFold)

	failing.Store(false)
	res, err := a.RetryDeadLetter(ctx, "counter", "k1", "e-k1")
	require.NoError(t, err)
	assert.Equal(t, uint64(1), res.Sequence)
	assert.JSONEq(t, "1", string(res.State))
	ds, err := b.DeadLetters(ctx, "counter")
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, "k2", ds[0].Key)
	_, err = b.RetryDeadLetter(ctx, "counter", "k1", "e-k1")
	require.ErrorIs(t, err, reducer.ErrNotFound, "retried: gone")

	// A redelivery of the event applies it and removes its dead letter too.
	res, err = b.Apply(ctx, "counter", "k2", counterEvent("e-k2", 1))
	require.NoError(t, err)
	assert.False(t, res.Duplicate)
	ds, err = a.DeadLetters(ctx, "counter")
	require.NoError(t, err)
	assert.Empty(t, ds)
	keys, _, err = a.Keys(ctx, "counter", "", 10)
	require.NoError(t, err)
	assert.Equal(t, []reducer.KeyInfo{{Key: "k1", Sequence: 1}, {Key: "k2", Sequence: 1}}, keys)

	// An entry whose id its key's record does not hold (a crash between the two writes)
	// is not listed.
	nc, err := e.Connect("raw")
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	kv, err := js.KeyValue(ctx, "onex_reducer_dead")
	require.NoError(t, err)
	b64 := base64.RawURLEncoding.EncodeToString
	stale, _ := json.Marshal(reducer.DeadLetter{Node: "counter", Key: "k1", Event: counterEvent("e-lost", 1), Error: "x"})
	_, err = kv.Put(ctx, "d."+b64([]byte("counter"))+"."+b64([]byte("k1"))+"."+b64([]byte("e-lost")), stale)
	require.NoError(t, err)
	ds, err = a.DeadLetters(ctx, "counter")
	require.NoError(t, err)
	assert.Empty(t, ds)
}
