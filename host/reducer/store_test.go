package reducer

import (
	"context"
	"errors"
	"fmt"
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

// TestStore_DedupeWindow: only the last DedupeWindow event ids of a key are kept.
func TestStore_DedupeWindow(t *testing.T) {
	s := openStore(t, t.TempDir(), NewConfig().WithDedupeWindow(4))
	defer s.Close()
	n := newNode(t, s, counterFold)
	ctx := testCtx(t)
	for i := range 10 {
		_, err := n.Apply(ctx, "k", counterEvent(fmt.Sprintf("e%d", i), 1))
		require.NoError(t, err)
	}
	var seen, seenSeq int
	require.NoError(t, s.db.View(func(tx *bolt.Tx) error {
		seen, seenSeq = tx.Bucket(bucketSeen).Stats().KeyN, tx.Bucket(bucketSeenSeq).Stats().KeyN
		return nil
	}))
	assert.Equal(t, 4, seen)
	assert.Equal(t, 4, seenSeq)
	res, err := n.Apply(ctx, "k", counterEvent("e6", 1))
	require.NoError(t, err)
	assert.True(t, res.Duplicate, "inside the window")
	res, err = n.Apply(ctx, "k", counterEvent("e5", 1))
	require.NoError(t, err)
	assert.False(t, res.Duplicate, "outside the window: applied again, as documented")
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
