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
