package reducer

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"sync"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNode_Apply_Exactness is the hammer: 64 goroutines × 1,000 events over 16 keys,
// 10% of them sent again with the same id by the same goroutines, concurrently with
// everything else.
func TestNode_Apply_Exactness(t *testing.T) {
	const goroutines, keys = 64, 16
	perG := 1000 // about 2 minutes under -race on a loaded 2-core machine (fsync-bound)
	if testing.Short() {
		perG = 100
	}
	s := openStore(t, t.TempDir(), NewConfig())
	defer s.Close()
	n := newNode(t, s, counterFold)
	ctx := testCtx(t)

	type got struct {
		key string
		res Result
		id  string
	}
	results := make([][]got, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var resend []int
			send := func(i int) {
				v := g*perG + i
				key := fmt.Sprintf("k%d", v%keys)
				id := fmt.Sprintf("e%d", v)
				res, err := n.Apply(ctx, key, counterEvent(id, int64(v+1)))
				if !assert.NoError(t, err) {
					return
				}
				results[g] = append(results[g], got{key, res, id})
			}
			for i := range perG {
				send(i)
				if i%10 == 0 {
					resend = append(resend, i)
				}
				if i%10 == 5 && len(resend) > 0 {
					send(resend[0])
					resend = resend[1:]
				}
			}
			for _, i := range resend {
				send(i)
			}
		}()
	}
	wg.Wait()

	want := map[string]int64{}
	count := map[string]uint64{}
	for v := range goroutines * perG {
		k := fmt.Sprintf("k%d", v%keys)
		want[k] += int64(v + 1)
		count[k]++
	}
	seqs := map[string][]uint64{}
	first := map[string]uint64{} // event id → sequence
	dups := 0
	for _, rs := range results {
		for _, r := range rs {
			if r.res.Duplicate {
				dups++
				continue
			}
			seqs[r.key] = append(seqs[r.key], r.res.Sequence)
			first[r.id] = r.res.Sequence
			require.Len(t, r.res.Intents, 1)
			assert.Equal(t, abi.IntentOperationID("counter", r.key, r.res.Sequence, 0), r.res.Intents[0].OperationID)
		}
	}
	for _, rs := range results {
		for _, r := range rs {
			if r.res.Duplicate {
				assert.Equal(t, first[r.id], r.res.Sequence, "a redelivery answers the recorded sequence")
			}
		}
	}
	assert.Equal(t, goroutines*perG/10, dups)
	for k, w := range want {
		ks, err := s.State("counter", k)
		require.NoError(t, err)
		assert.Equal(t, w, stateInt(t, ks.State), "key %s", k)
		assert.Equal(t, count[k], ks.Sequence, "key %s", k)
		sq := seqs[k]
		sort.Slice(sq, func(i, j int) bool { return sq[i] < sq[j] })
		for i, q := range sq {
			require.Equal(t, uint64(i+1), q, "key %s: sequences dense 1..n", k)
		}
	}
	pend, err := s.Pending(0)
	require.NoError(t, err)
	assert.Len(t, pend, goroutines*perG, "one outbox entry per applied event, none for a duplicate")
	assert.Zero(t, n.keys.Len(), "idle keys keep no lock entry")
}

// TestNode_Apply_PerKeyOrder: with one sender per key, the fold sees each key's events
// in the order they were sent.
func TestNode_Apply_PerKeyOrder(t *testing.T) {
	const keys, perKey = 8, 200
	s := openStore(t, t.TempDir(), NewConfig())
	defer s.Close()
	var mu sync.Mutex
	seen := map[string][]string{}
	n := newNode(t, s, func(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
		mu.Lock()
		seen[in.Key] = append(seen[in.Key], in.Event.EventID)
		mu.Unlock()
		return counterFold(ctx, in)
	})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perKey {
				_, err := n.Apply(ctx, fmt.Sprintf("k%d", k), counterEvent(fmt.Sprintf("k%d-%d", k, i), 1))
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	for k := range keys {
		key := fmt.Sprintf("k%d", k)
		want := make([]string, perKey)
		for i := range want {
			want[i] = fmt.Sprintf("k%d-%d", k, i)
		}
		assert.Equal(t, want, seen[key])
	}
}

// TestNode_Apply_ParallelKeys: two keys are folded at the same time — each fold waits
// until both are inside, so the test passes only if they overlap (no timing involved).
func TestNode_Apply_ParallelKeys(t *testing.T) {
	s := openStore(t, t.TempDir(), NewConfig().WithMaxParallel(2))
	defer s.Close()
	var mu sync.Mutex
	inside := 0
	both := make(chan struct{})
	ctx := testCtx(t)
	n := newNode(t, s, func(fctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
		mu.Lock()
		inside++
		if inside == 2 {
			close(both)
		}
		mu.Unlock()
		select {
		case <-both:
		case <-fctx.Done():
			return abi.ReduceOutput{}, fctx.Err()
		}
		return counterFold(fctx, in)
	})
	errs := make(chan error, 2)
	for i, k := range []string{"a", "b"} {
		go func() {
			_, err := n.Apply(ctx, k, counterEvent(fmt.Sprintf("e%d", i), 1))
			errs <- err
		}()
	}
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
}

// TestNode_Apply_OneKeySerialised: while a key's event is in the fold, its next event
// waits at the key's lock and is not folded until the first is committed.
func TestNode_Apply_OneKeySerialised(t *testing.T) {
	s := openStore(t, t.TempDir(), NewConfig().WithMaxParallel(4))
	defer s.Close()
	entered := make(chan string, 2)
	release := make(chan struct{})
	ctx := testCtx(t)
	n := newNode(t, s, func(fctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
		entered <- in.Event.EventID
		<-release
		return counterFold(fctx, in)
	})
	errs := make(chan error, 2)
	go func() { _, err := n.Apply(ctx, "a", counterEvent("first", 1)); errs <- err }()
	require.Equal(t, "first", <-entered)
	go func() { _, err := n.Apply(ctx, "a", counterEvent("second", 1)); errs <- err }()
	for { // wait until the second Apply holds a reference to the key's lock
		if n.keys.refs("a") == 2 {
			break
		}
		require.NoError(t, ctx.Err())
		runtime.Gosched()
	}
	assert.Empty(t, entered, "the second event is not folded while the first is")
	close(release)
	require.NoError(t, <-errs)
	require.Equal(t, "second", <-entered)
	require.NoError(t, <-errs)
	ks, err := s.State("counter", "a")
	require.NoError(t, err)
	assert.Equal(t, uint64(2), ks.Sequence)
}
