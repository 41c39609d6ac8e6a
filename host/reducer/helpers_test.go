package reducer

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/require"
)

// counterFold adds the event's data {"n": int} to the key's integer state and emits one
// intent per event.
func counterFold(_ context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
	var st int64
	if err := json.Unmarshal(in.State, &st); err != nil {
		return abi.ReduceOutput{}, fmt.Errorf("state: %w", err)
	}
	var d struct{ N int64 }
	if err := json.Unmarshal(in.Event.Data, &d); err != nil {
		return abi.ReduceOutput{}, fmt.Errorf("data: %w", err)
	}
	st += d.N
	b, _ := json.Marshal(st)
	return abi.ReduceOutput{State: b, Intents: []abi.Intent{{Node: "sink", EffectType: "count"}}}, nil
}

func counterEvent(id string, n int64) abi.ReduceEvent {
	return abi.ReduceEvent{EventID: id, Type: "add", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, n))}
}

func stateInt(tb testing.TB, b []byte) int64 {
	tb.Helper()
	var v int64
	require.NoError(tb, json.Unmarshal(b, &v))
	return v
}

func openStore(tb testing.TB, dir string, cfg Config) *Store {
	tb.Helper()
	s, err := OpenStore(filepath.Join(dir, "reducer.db"), cfg)
	require.NoError(tb, err)
	return s
}

func newNode(tb testing.TB, s *Store, fold Fold) *Node {
	tb.Helper()
	n, err := NewNode("counter", "count", fold, s)
	require.NoError(tb, err)
	return n
}

// testCtx is the test's own deadline, or Background without one.
func testCtx(t *testing.T) context.Context {
	ctx := context.Background()
	if d, ok := t.Deadline(); ok {
		c, cancel := context.WithDeadline(ctx, d)
		t.Cleanup(cancel)
		ctx = c
	}
	return ctx
}
