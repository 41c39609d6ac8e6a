package reducer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestNode_Apply_FoldFailure: a failing fold leaves state and sequence untouched,
// records a dead letter, and Retry applies it once the fold succeeds.
func TestNode_Apply_FoldFailure(t *testing.T) {
	tests := []struct {
		name string
		bad  func(abi.ReduceInput) (abi.ReduceOutput, error)
	}{
		{name: "fold error", bad: func(abi.ReduceInput) (abi.ReduceOutput, error) {
			return abi.ReduceOutput{}, errors.New("boom")
		}},
		{name: "invalid intent", bad: func(abi.ReduceInput) (abi.ReduceOutput, error) {
			return abi.ReduceOutput{State: []byte(`1`), Intents: []abi.Intent{{Node: "Not A Name", EffectType: "x"}}}, nil
		}},
		{name: "invalid state JSON", bad: func(abi.ReduceInput) (abi.ReduceOutput, error) {
			return abi.ReduceOutput{State: []byte(`{`)}, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
			s := openStore(t, t.TempDir(), NewConfig().WithNow(func() time.Time { return at }))
			defer s.Close()
			failing := true
			n := newNode(t, s, func(ctx context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
				if failing && in.Event.EventID == "bad" {
					return tt.bad(in)
				}
				return counterFold(ctx, in)
			})
			ctx := testCtx(t)
			_, err := n.Apply(ctx, "k", counterEvent("good", 5))
			require.NoError(t, err)

			_, err = n.Apply(ctx, "k", counterEvent("bad", 7))
			require.ErrorIs(t, err, ErrFold)
			var fe *FoldError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, "bad", fe.EventID)
			ks, err := s.State("counter", "k")
			require.NoError(t, err)
			assert.Equal(t, uint64(1), ks.Sequence)
			assert.Equal(t, int64(5), stateInt(t, ks.State))
			pend, err := s.Pending(0)
			require.NoError(t, err)
			assert.Len(t, pend, 1, "a failed fold adds no intent")

			dl, err := s.DeadLetters("counter")
			require.NoError(t, err)
			require.Len(t, dl, 1)
			assert.Equal(t, "k", dl[0].Key)
			assert.Equal(t, "bad", dl[0].Event.EventID)
			assert.NotEmpty(t, dl[0].Error)
			assert.True(t, at.Equal(dl[0].Time))

			_, err = n.Retry(ctx, "k", "bad")
			require.ErrorIs(t, err, ErrFold, "still failing")
			failing = false
			res, err := n.Retry(ctx, "k", "bad")
			require.NoError(t, err)
			assert.Equal(t, uint64(2), res.Sequence)
			assert.Equal(t, int64(12), stateInt(t, res.State))
			dl, err = s.DeadLetters("counter")
			require.NoError(t, err)
			assert.Empty(t, dl, "the successful retry removed the dead letter")
			_, err = n.Retry(ctx, "k", "bad")
			require.ErrorIs(t, err, ErrNotFound)

			// A dead letter whose event then succeeded by redelivery is dropped by the
			// next delivery that finds the event applied.
			failing = true
			_, err = n.Apply(ctx, "k", counterEvent("bad2", 1))
			require.NoError(t, err, "only the id \"bad\" fails")
			require.NoError(t, s.putDeadLetter(DeadLetter{Node: "counter", Key: "k", Event: counterEvent("bad2", 1), Error: "stale", Time: at}))
			res, err = n.Apply(ctx, "k", counterEvent("bad2", 1))
			require.NoError(t, err)
			assert.True(t, res.Duplicate)
			dl, err = s.DeadLetters("counter")
			require.NoError(t, err)
			assert.Empty(t, dl, "the stale dead letter was dropped")
		})
	}
}

// TestStore_Reopen: close and open the store; the node continues from the persisted
// state, and an event id applied before the close is still a duplicate.
func TestStore_Reopen(t *testing.T) {
	dir := t.TempDir()
	ctx := testCtx(t)
	s := openStore(t, dir, NewConfig())
	n := newNode(t, s, counterFold)
	for i := range 10 {
		_, err := n.Apply(ctx, "k", counterEvent(fmt.Sprintf("e%d", i), 1))
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	_, err := n.Apply(ctx, "k", counterEvent("late", 1))
	require.ErrorIs(t, err, ErrClosed)

	s = openStore(t, dir, NewConfig())
	defer s.Close()
	n = newNode(t, s, counterFold)
	res, err := n.Apply(ctx, "k", counterEvent("e3", 1))
	require.NoError(t, err)
	assert.True(t, res.Duplicate)
	assert.Equal(t, uint64(4), res.Sequence)
	res, err = n.Apply(ctx, "k", counterEvent("e10", 1))
	require.NoError(t, err)
	assert.False(t, res.Duplicate)
	assert.Equal(t, uint64(11), res.Sequence)
	assert.Equal(t, int64(11), stateInt(t, res.State))
}

// TestStore_DedupeWindow: a key remembers at least its last DedupeWindow event ids and
// fewer than twice as many; older ones are forgotten (applied again if redelivered).
func TestStore_DedupeWindow(t *testing.T) {
	const window = 4
	s := openStore(t, t.TempDir(), NewConfig().WithDedupeWindow(window))
	defer s.Close()
	n := newNode(t, s, counterFold)
	ctx := testCtx(t)
	seen := func() int {
		var keys int
		require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
			keys = tx.Bucket(bucketSeen).Stats().KeyN
			return nil
		}))
		return keys
	}
	for i := range 30 {
		_, err := n.Apply(ctx, "k", counterEvent(fmt.Sprintf("e%d", i), 1))
		require.NoError(t, err)
		remembered := seen()
		assert.GreaterOrEqual(t, remembered, min(i+1, window), "after event %d", i)
		assert.Less(t, remembered, 2*window, "after event %d", i)
	}
	// 30 events: e0..e29 got sequences 1..30; the last prune (at 28) kept 25..28.
	for _, id := range []string{"e29", "e26", "e24"} {
		res, err := n.Apply(ctx, "k", counterEvent(id, 1))
		require.NoError(t, err)
		assert.True(t, res.Duplicate, "%s is inside the window", id)
	}
	res, err := n.Apply(ctx, "k", counterEvent("e23", 1))
	require.NoError(t, err)
	assert.False(t, res.Duplicate, "e23 is outside the window: applied again, as documented")
	assert.Equal(t, uint64(31), res.Sequence)
}

// TestOpenStore_DropsSeenSeqIndex: a store written before dedupe records were pruned in
// passes had a "seenseq" index bucket; OpenStore deletes it, and the records it indexed
// are still found (and pruned later by the pass).
func TestOpenStore_DropsSeenSeqIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reducer.db")
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	nk := nodeKey("counter", "k")
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		old, err := tx.CreateBucket([]byte("seenseq"))
		require.NoError(t, err)
		require.NoError(t, old.Put(join(nk, u64(1)), []byte("e0")))
		seen, err := tx.CreateBucket(bucketSeen)
		require.NoError(t, err)
		require.NoError(t, seen.Put(join(nk, []byte("e0")), u64(1)))
		state, err := tx.CreateBucket(bucketState)
		require.NoError(t, err)
		return state.Put(nk, append(u64(1), "1"...))
	}))
	require.NoError(t, db.Close())

	s, err := OpenStore(path, NewConfig())
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		assert.Nil(t, tx.Bucket([]byte("seenseq")))
		return nil
	}))
	res, err := newNode(t, s, counterFold).Apply(testCtx(t), "k", counterEvent("e0", 1))
	require.NoError(t, err)
	assert.True(t, res.Duplicate)
	assert.Equal(t, uint64(1), res.Sequence)
}

// TestStore_DedupeWindow_OtherKeysKept: pruning one key's ids leaves another key's
// alone, including a key whose name extends the pruned one's.
func TestStore_DedupeWindow_OtherKeysKept(t *testing.T) {
	s := openStore(t, t.TempDir(), NewConfig().WithDedupeWindow(2))
	defer s.Close()
	n := newNode(t, s, counterFold)
	ctx := testCtx(t)
	_, err := n.Apply(ctx, "kx", counterEvent("first", 1))
	require.NoError(t, err)
	for i := range 8 {
		_, err := n.Apply(ctx, "k", counterEvent(fmt.Sprintf("e%d", i), 1))
		require.NoError(t, err)
	}
	res, err := n.Apply(ctx, "kx", counterEvent("first", 1))
	require.NoError(t, err)
	assert.True(t, res.Duplicate)
	assert.Equal(t, uint64(1), res.Sequence)
}

// TestNode_Apply_Invalid: events without id or type, or an empty key, are refused.
func TestNode_Apply_Invalid(t *testing.T) {
	s := openStore(t, t.TempDir(), NewConfig())
	defer s.Close()
	n := newNode(t, s, counterFold)
	tests := []struct {
		name string
		key  string
		ev   abi.ReduceEvent
	}{
		{name: "no key", ev: counterEvent("e", 1)},
		{name: "no id", key: "k", ev: abi.ReduceEvent{Type: "add"}},
		{name: "no type", key: "k", ev: abi.ReduceEvent{EventID: "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := n.Apply(testCtx(t), tt.key, tt.ev)
			require.ErrorIs(t, err, ErrInvalidEvent)
		})
	}
}
