package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/require"
)

// patience is the time left before the test's deadline, less a margin.
func patience(t testing.TB) time.Duration {
	if tt, ok := t.(*testing.T); ok {
		if d, ok := tt.Deadline(); ok {
			left := time.Until(d)
			return left - min(max(left/10, time.Second), 30*time.Second)
		}
	}
	return 10 * time.Minute
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience(t))
	t.Cleanup(cancel)
	return ctx
}

// seqPlanner runs steps s1..sn one after another (an effect with a compensation when
// compensate is set); on a failed step it fails, compensating when compensate is set.
func seqPlanner(n int, compensate bool, retry *abi.RetryPolicy) Planner {
	return func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		for _, s := range in.Steps {
			switch s.Status {
			case abi.StepFailed, abi.StepCancelled:
				return abi.OrchestrateOutput{Fail: &abi.Failure{Message: "step " + s.Call.ID + " failed", Compensate: compensate}}, nil
			case abi.StepCompleted:
			default:
				return abi.OrchestrateOutput{}, nil // one is running or waiting
			}
		}
		if len(in.Steps) == n {
			return abi.OrchestrateOutput{Complete: &abi.Completion{Output: json.RawMessage(fmt.Sprintf(`{"steps":%d}`, n))}}, nil
		}
		c := abi.StepCall{ID: fmt.Sprintf("s%d", len(in.Steps)+1), Kind: abi.StepEffect, Node: "fx", Operation: "append", Retry: retry}
		if compensate {
			c.Compensate = &abi.Compensation{Node: "fx", EffectType: "undo"}
		}
		return abi.OrchestrateOutput{Run: []abi.StepCall{c}}, nil
	}
}

// dagPlanner runs every step whose dependencies completed; deps maps a step to the ones
// it depends on (steps in order of the slice ids).
func dagPlanner(ids []string, deps map[string][]string) Planner {
	return func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		st := map[string]abi.StepStatus{}
		for _, s := range in.Steps {
			st[s.Call.ID] = s.Status
			if s.Status == abi.StepFailed {
				return abi.OrchestrateOutput{Fail: &abi.Failure{Message: s.Call.ID + " failed"}}, nil
			}
		}
		var out abi.OrchestrateOutput
		done := 0
		for _, id := range ids {
			if st[id] == abi.StepCompleted {
				done++
			}
			if _, decided := st[id]; decided {
				continue
			}
			ready := true
			for _, d := range deps[id] {
				ready = ready && st[d] == abi.StepCompleted
			}
			if ready {
				out.Run = append(out.Run, abi.StepCall{ID: id, Kind: abi.StepCompute, Node: "calc", Operation: id})
			}
		}
		if done == len(ids) {
			out.Complete = &abi.Completion{}
		}
		return out, nil
	}
}

// counter is a Runner counting runs per operation id.
type counter struct {
	mu   sync.Mutex
	runs map[string]int
	fn   func(ctx context.Context, req StepRequest) (json.RawMessage, error)
}

func (c *counter) RunStep(ctx context.Context, req StepRequest) (json.RawMessage, error) {
	c.mu.Lock()
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	c.runs[req.OperationID]++
	c.mu.Unlock()
	if c.fn != nil {
		return c.fn(ctx, req)
	}
	return json.RawMessage(`{"ok":true}`), nil
}

func (c *counter) count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[op]
}

func openEngine(t testing.TB, dir string, r Runner, defs ...Definition) *Engine {
	t.Helper()
	e, err := Open(filepath.Join(dir, "workflows.db"), Config{Definitions: defs, Runner: r, NoSync: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}
