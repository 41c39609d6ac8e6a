package journal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onexhost/onex-host/host/internal/tx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Many goroutines drive transactions with random outcomes through one
// journaled Manager; after a close and reopen the journal accounts for each
// exactly.
func TestJournal_hammer(t *testing.T) {
	const goroutines, perGoroutine = 32, 25
	path := journalPath(t)
	j, err := Open(path, Options{NoSync: true}) // durability is not what is tested here
	require.NoError(t, err)
	fail := map[string]error{}
	for g := range goroutines {
		fail[fmt.Sprintf("/fail/%d", g)] = errBoom
	}
	m := newManager(t, j, &compensator{fail: fail}, discard)

	var committed, published, rolledBack, failed, abandoned atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(uint64(g), 42))
			for i := range perGoroutine {
				live, err := m.Begin(fmt.Sprintf("node%d", g%4), 1, "")
				if !assert.NoError(t, err) {
					return
				}
				for k := range 1 + rng.IntN(3) {
					assert.NoError(t, live.Apply(write(fmt.Sprintf("/srv/%d/%d/%d", g, i, k)), func() error { return nil }))
				}
				switch rng.IntN(5) {
				case 0:
					_, err := live.Commit(ctx)
					assert.NoError(t, err)
					committed.Add(1)
					published.Add(1) // empty outbox
				case 1:
					assert.NoError(t, live.Hold(event("k")))
					_, err := live.Commit(ctx)
					assert.NoError(t, err)
					committed.Add(1)
					if rng.IntN(2) == 0 {
						assert.NoError(t, j.MarkPublished(live.ID()))
						published.Add(1)
					}
				case 2:
					_, err := live.Rollback(ctx)
					assert.NoError(t, err)
					rolledBack.Add(1)
				case 3:
					assert.NoError(t, live.Apply(write(fmt.Sprintf("/fail/%d", g)), func() error { return nil }))
					_, err := live.Rollback(ctx)
					assert.ErrorIs(t, err, errBoom)
					failed.Add(1)
				case 4:
					abandoned.Add(1) // left active, as by a crash
				}
			}
		})
	}
	wg.Wait()
	st := m.Stats()
	require.EqualValues(t, goroutines*perGoroutine, st.Begun)
	require.EqualValues(t, committed.Load(), st.Committed)
	require.NoError(t, j.Close())

	j = openJournal(t, path, Options{})
	count := func(s tx.State) int {
		recs, err := j.List(Filter{States: []tx.State{s}})
		require.NoError(t, err)
		return len(recs)
	}
	incomplete, err := j.Incomplete()
	require.NoError(t, err)
	unpublished, err := j.Unpublished()
	require.NoError(t, err)
	all, err := j.List(Filter{})
	require.NoError(t, err)

	assert.Len(t, all, goroutines*perGoroutine)
	assert.EqualValues(t, abandoned.Load(), len(incomplete))
	assert.EqualValues(t, committed.Load(), count(tx.StateCommitted))
	assert.EqualValues(t, committed.Load()-published.Load(), len(unpublished))
	assert.EqualValues(t, rolledBack.Load(), count(tx.StateRolledBack))
	assert.EqualValues(t, failed.Load(), count(tx.StateFailed))
	for _, s := range incomplete {
		require.NotEmpty(t, s.Operations)
		for i, op := range s.Operations {
			assert.Equal(t, i+1, op.Seq)
		}
	}

	// Rolling back every incomplete one leaves none, and compaction keeps
	// exactly the failed and the unpublished.
	for _, s := range incomplete {
		res, err := Replay(context.Background(), s, compensators(&compensator{}), 0)
		require.NoError(t, err)
		require.NoError(t, j.Resolve(res))
	}
	incomplete, err = j.Incomplete()
	require.NoError(t, err)
	assert.Empty(t, incomplete)
	_, err = j.Compact(0)
	require.NoError(t, err)
	all, err = j.List(Filter{})
	require.NoError(t, err)
	assert.EqualValues(t, failed.Load()+committed.Load()-published.Load(), len(all))
}
