package reducer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDispatcher_Run: every intent is carried out, failures are retried, entries are
// removed only after success, and Run stops on ctx.
func TestDispatcher_Run(t *testing.T) {
	s := openStore(t, t.TempDir(), NewConfig())
	defer s.Close()
	n := newNode(t, s, counterFold)
	ctx := testCtx(t)
	const events = 20
	var mu sync.Mutex
	carried := map[string]int{}
	fails := 3
	all := make(chan struct{})
	d := NewDispatcher(s, func(_ context.Context, e OutboxEntry) error {
		mu.Lock()
		defer mu.Unlock()
		if fails > 0 {
			fails--
			return errors.New("effect unavailable")
		}
		carried[e.OperationID]++
		if len(carried) == events {
			close(all)
		}
		return nil
	}, DispatchConfig{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	for i := range events {
		_, err := n.Apply(ctx, fmt.Sprintf("k%d", i%3), counterEvent(fmt.Sprintf("e%d", i), 1))
		require.NoError(t, err)
	}
	select {
	case <-all:
	case <-ctx.Done():
		t.Fatal("intents not carried out before the test's deadline")
	}
	stop()
	require.ErrorIs(t, <-done, context.Canceled)
	mu.Lock()
	defer mu.Unlock()
	for id, c := range carried {
		assert.Equal(t, 1, c, "%s carried once when nothing crashed", id)
	}
	pend, err := s.Pending(0)
	require.NoError(t, err)
	assert.Empty(t, pend)
	require.NoError(t, s.Done("reduce:counter:k0:1:0"), "Done of an entry already done is not an error")
}

// TestDispatcher_Permanent: a permanent Carry failure moves the entry to the failed
// intents and does not hold back the entries behind it; a retryable one is retried;
// RetryFailed puts a failed intent back and it is carried out.
func TestDispatcher_Permanent(t *testing.T) {
	at := time.Date(2026, 12, 5, 17, 0, 0, 0, time.UTC)
	s := openStore(t, t.TempDir(), NewConfig().WithNow(func() time.Time { return at }))
	defer s.Close()
	n := newNode(t, s, counterFold)
	ctx := testCtx(t)
	var mu sync.Mutex
	carried := map[string]int{}
	attempts := map[string]int{}
	healed := false // after it, "bad" intents succeed
	progress := make(chan struct{}, 100)
	d := NewDispatcher(s, func(_ context.Context, e OutboxEntry) error {
		mu.Lock()
		defer func() {
			mu.Unlock()
			select {
			case progress <- struct{}{}:
			default:
			}
		}()
		attempts[e.OperationID]++
		switch {
		case e.Key == "bad" && !healed:
			return Permanent(errors.New("invalid_input"))
		case e.Key == "flaky" && attempts[e.OperationID] == 1:
			return errors.New("effect unavailable")
		}
		carried[e.OperationID]++
		return nil
	}, DispatchConfig{MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	// Bad entries first, so a blocking dispatcher would never reach the others.
	for i, key := range []string{"bad", "bad", "flaky", "good", "good"} {
		_, err := n.Apply(ctx, key, counterEvent(fmt.Sprintf("e%d", i), 1))
		require.NoError(t, err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	// Carry's progress signal comes before the dispatcher's Done, so the condition is
	// also re-checked on a tick; the only bound is the test's deadline.
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for {
			mu.Lock()
			ok := cond()
			mu.Unlock()
			if ok {
				return
			}
			select {
			case <-progress:
			case <-tick.C:
			case <-ctx.Done():
				t.Fatalf("%s: not before the test's deadline", what)
			}
		}
	}
	pendingNone := func() bool { p, err := s.Pending(0); return err == nil && len(p) == 0 }
	waitFor("good and flaky carried", func() bool { return len(carried) == 3 && pendingNone() })
	failed, err := s.FailedIntents("counter")
	require.NoError(t, err)
	require.Len(t, failed, 2)
	for i, f := range failed {
		assert.Equal(t, "bad", f.Entry.Key)
		assert.Equal(t, uint64(i+1), f.Entry.Sequence)
		assert.Equal(t, "invalid_input", f.Error)
		assert.True(t, at.Equal(f.Time))
	}
	other, err := s.FailedIntents("other")
	require.NoError(t, err)
	assert.Empty(t, other)
	pend, err := s.Pending(0)
	require.NoError(t, err)
	assert.Empty(t, pend, "failed intents left the outbox")
	mu.Lock()
	for id, c := range attempts {
		want := 1
		if id == "reduce:counter:flaky:1:0" {
			want = 2
		}
		assert.Equal(t, want, c, "%s attempts", id)
	}
	healed = true
	mu.Unlock()

	require.ErrorIs(t, s.RetryFailed("reduce:counter:nope:1:0"), ErrNotFound)
	require.NoError(t, s.RetryFailed(failed[0].Entry.OperationID))
	waitFor("retried intent carried", func() bool { return carried[failed[0].Entry.OperationID] == 1 && pendingNone() })
	left, err := s.FailedIntents("")
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Equal(t, failed[1].Entry.OperationID, left[0].Entry.OperationID)
	stop()
	require.ErrorIs(t, <-done, context.Canceled)
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, carried, 4)
	for id, c := range carried {
		assert.Equal(t, 1, c, "%s carried once", id)
	}
}
