package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/reducer"
)

// counterFold adds the event's number to the state (a number; null is 0).
func counterFold(_ context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
	var n, add int64
	_ = json.Unmarshal(in.State, &n)
	if err := json.Unmarshal(in.Event.Data, &add); err != nil {
		return abi.ReduceOutput{}, err
	}
	out := abi.ReduceOutput{State: json.RawMessage(strconv.FormatInt(n+add, 10))}
	if add%5 == 0 {
		out.Intents = []abi.Intent{{Node: "effects", EffectType: "noop"}}
	}
	return out, nil
}

// reducerHost is one host of a reducer test cluster.
type reducerHost struct {
	id string
	nc *nats.Conn
	r  *cluster.Reducers
}

// kill stops h as a crash would: it stops answering and renewing, its connection closes.
func (h *reducerHost) kill() {
	cluster.HaltReducers(h.r)
	h.nc.Close()
}

func newReducerHost(t testing.TB, e *cluster.Embedded, id string, lease time.Duration) *reducerHost {
	t.Helper()
	nc, err := e.Connect(id)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	defer cancel()
	r, err := cluster.NewReducers(ctx, nc, id, map[string]reducer.Fold{"counter": counterFold},
		cluster.ReducersConfig{Lease: lease, Partitions: 16, Logger: quiet})
	require.NoError(t, err)
	h := &reducerHost{id: id, nc: nc, r: r}
	t.Cleanup(func() { h.r.Close(); h.nc.Close() })
	return h
}

func counterEvent(id string, add int) abi.ReduceEvent {
	return abi.ReduceEvent{EventID: id, Type: "add", Data: json.RawMessage(strconv.Itoa(add))}
}

// TestReducerClusterExact sends events for 16 keys to 3 hosts at random, from 16
// goroutines: every key's state is the sum of its events and its sequence their count;
// every event redelivered (to any host, or through a Client) changes nothing.
func TestReducerClusterExact(t *testing.T) {
	e := embedded(t)
	hosts := []*reducerHost{newReducerHost(t, e, "a", 0), newReducerHost(t, e, "b", 0), newReducerHost(t, e, "c", 0)}
	ctx := patientContext(t)
	const workers, perWorker, keys = 16, 60, 16
	type sent struct {
		key string
		ev  abi.ReduceEvent
	}
	var mu sync.Mutex
	var all []sent
	want := map[string]int64{}
	count := map[string]uint64{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				key := fmt.Sprintf("k%d", (w*perWorker+i)%keys)
				ev := counterEvent(fmt.Sprintf("w%d-%d", w, i), i%7+1)
				res, err := hosts[rand.IntN(len(hosts))].r.Apply(ctx, "counter", key, ev)
				if !assert.NoError(t, err) {
					return
				}
				assert.False(t, res.Duplicate)
				mu.Lock()
				all = append(all, sent{key, ev})
				want[key] += int64(i%7 + 1)
				count[key]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, all, workers*perWorker)
	check := func() {
		for key, sum := range want {
			seq, state, err := hosts[0].r.State(ctx, "counter", key)
			require.NoError(t, err)
			assert.Equal(t, count[key], seq, key)
			assert.JSONEq(t, strconv.FormatInt(sum, 10), string(state), key)
		}
	}
	check()
	nc, err := e.Connect("client")
	require.NoError(t, err)
	defer nc.Close()
	client := cluster.NewClient(nc, cluster.ClientConfig{})
	for i, s := range all {
		var res reducer.Result
		if i%2 == 0 {
			res, err = client.Reduce(ctx, "counter", s.key, s.ev)
		} else {
			res, err = hosts[rand.IntN(len(hosts))].r.Apply(ctx, "counter", s.key, s.ev)
		}
		require.NoError(t, err)
		require.True(t, res.Duplicate, "redelivered %s", s.ev.EventID)
	}
	check()
	// A new event through the client is applied.
	res, err := client.Reduce(ctx, "counter", "k0", counterEvent("fresh", 1000))
	require.NoError(t, err)
	assert.Equal(t, count["k0"]+1, res.Sequence)
	assert.JSONEq(t, strconv.FormatInt(want["k0"]+1000, 10), string(res.State))
	assert.Len(t, res.Intents, 1)
	assert.Equal(t, abi.IntentOperationID("counter", "k0", res.Sequence, 0), res.Intents[0].OperationID)
	pending, err := hosts[1].r.Pending(ctx, "counter", "k0")
	require.NoError(t, err)
	require.NotEmpty(t, pending)
	require.NoError(t, hosts[2].r.Done(ctx, "counter", "k0", res.Intents[0].OperationID))
	after, err := hosts[1].r.Pending(ctx, "counter", "k0")
	require.NoError(t, err)
	assert.Len(t, after, len(pending)-1)
	// Done wrote the record behind its owner's back: the owner's next write finds its
	// revision stale, reads the record again and folds onto it.
	res2, err := client.Reduce(ctx, "counter", "k0", counterEvent("fresh2", 3))
	require.NoError(t, err)
	assert.Equal(t, res.Sequence+1, res2.Sequence)
	assert.JSONEq(t, strconv.FormatInt(want["k0"]+1003, 10), string(res2.State))
	after2, err := hosts[1].r.Pending(ctx, "counter", "k0")
	require.NoError(t, err)
	assert.Len(t, after2, len(after))
}

// TestReducerClusterTakeover kills the owner of a busy key while events stream in to
// it and to other keys: another host takes the keys over, every event is applied once
// (each sender redelivers an event whose answer it did not get), and the final states
// equal a single-host run (host/reducer on bbolt) of the same events.
func TestReducerClusterTakeover(t *testing.T) {
	e := embedded(t)
	hosts := []*reducerHost{newReducerHost(t, e, "a", 0), newReducerHost(t, e, "b", 0), newReducerHost(t, e, "c", 0)}
	ctx := patientContext(t)
	// Host a takes the busy key's partition with the first event.
	_, err := hosts[0].r.Apply(ctx, "counter", "busy", counterEvent("busy-0", 1))
	require.NoError(t, err)
	owner, err := hosts[1].r.Owner(ctx, "counter", "busy")
	require.NoError(t, err)
	require.Equal(t, "a", owner)

	const n = 240
	keys := []string{"busy", "busy", "busy", "x", "y"}
	var killed atomic.Bool
	alive := func() []*reducerHost {
		if killed.Load() {
			return hosts[1:]
		}
		return hosts
	}
	type sent struct {
		key string
		ev  abi.ReduceEvent
	}
	logs := make([][]sent, len(keys))
	var wg sync.WaitGroup
	for s, key := range keys {
		wg.Go(func() {
			for i := range n {
				if s == 0 && i == n/3 {
					killed.Store(true)
					hosts[0].kill()
				}
				ev := counterEvent(fmt.Sprintf("s%d-%d", s, i), i%9+1)
				if key == "busy" && s == 0 && i == 0 {
					ev.EventID = "busy-0" // redelivered: applied once already
				}
				for { // redeliver until answered
					hs := alive()
					_, err := hs[rand.IntN(len(hs))].r.Apply(ctx, "counter", key, ev)
					if err == nil {
						break
					}
					if !assert.NoError(t, ctx.Err(), "last error: %v", err) {
						return
					}
				}
				logs[s] = append(logs[s], sent{key, ev})
			}
		})
	}
	wg.Wait()
	owner, err = hosts[1].r.Owner(ctx, "counter", "busy")
	require.NoError(t, err)
	assert.Contains(t, []string{"b", "c"}, owner)

	// The same events on a single host.
	store, err := reducer.OpenStore(filepath.Join(t.TempDir(), "r.db"), reducer.NewConfig())
	require.NoError(t, err)
	defer store.Close()
	node, err := reducer.NewNode("counter", "", counterFold, store)
	require.NoError(t, err)
	_, err = node.Apply(ctx, "busy", counterEvent("busy-0", 1))
	require.NoError(t, err)
	for _, l := range logs {
		for _, s := range l {
			_, err := node.Apply(ctx, s.key, s.ev)
			require.NoError(t, err)
		}
	}
	for _, key := range []string{"busy", "x", "y"} {
		seq, state, err := hosts[2].r.State(ctx, "counter", key)
		require.NoError(t, err)
		ks, err := store.State("counter", key)
		require.NoError(t, err)
		assert.Equal(t, ks.Sequence, seq, key)
		assert.JSONEq(t, string(ks.State), string(state), key)
	}
}
