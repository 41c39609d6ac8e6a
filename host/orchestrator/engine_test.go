package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEngine_Sequential(t *testing.T) {
	t.Parallel()
	c := &counter{}
	e := openEngine(t, t.TempDir(), c, Definition{Name: "seq", Plan: seqPlanner(4, false, nil)})
	events, stop := e.Subscribe(100)
	defer stop()
	w, created, err := e.Start(testCtx(t), "wf-1", "seq", json.RawMessage(`{"a": 1}`))
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, abi.WorkflowRunning, w.Status)
	w, err = e.Wait(testCtx(t), "wf-1")
	require.NoError(t, err)
	require.Equal(t, abi.WorkflowCompleted, w.Status, w.Error)
	assert.JSONEq(t, `{"steps":4}`, string(w.Output))
	require.Len(t, w.Steps, 4)
	for i, s := range w.Steps {
		assert.Equal(t, fmt.Sprintf("s%d", i+1), s.Call.ID)
		assert.Equal(t, abi.StepCompleted, s.Status)
		assert.Equal(t, 1, s.Attempt)
		assert.Equal(t, 1, c.count(abi.StepOperationID("wf-1", s.Call.ID, 1)))
	}
	assert.False(t, w.EndedAt.IsZero())
	assert.Equal(t, map[abi.WorkflowStatus]int{abi.WorkflowCompleted: 1}, e.Counts())

	var types []string
	for ev := range events {
		types = append(types, ev.Type+" "+ev.Step)
		if ev.Type == "workflow.completed" {
			break
		}
	}
	assert.Equal(t, "workflow.started ", types[0])
	assert.Equal(t, "step.started s1", types[1])
	assert.Equal(t, "step.completed s1", types[2])
	assert.Equal(t, "workflow.completed ", types[len(types)-1])
	assert.Len(t, types, 2+2*4)

	// Idempotent start: the same id and input (any spacing) answer the finished one.
	w2, created, err := e.Start(testCtx(t), "wf-1", "seq", json.RawMessage(`{"a":1}`))
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, abi.WorkflowCompleted, w2.Status)
	_, _, err = e.Start(testCtx(t), "wf-1", "seq", json.RawMessage(`{"a":2}`))
	assert.ErrorIs(t, err, ErrConflict)
	_, _, err = e.Start(testCtx(t), "wf-1", "nope", nil)
	assert.ErrorIs(t, err, ErrUnknownWorkflow)
	for _, id := range []string{"", strings.Repeat("x", 129), "a\nb", "\xff"} {
		_, _, err = e.Start(testCtx(t), id, "seq", nil)
		assert.ErrorIs(t, err, ErrInvalidID, "%q", id)
	}
	_, err = e.Get("nope")
	assert.ErrorIs(t, err, ErrNotFound)
	_, err = e.Cancel(testCtx(t), "wf-1")
	assert.ErrorIs(t, err, ErrFinished)
}

func TestEngine_DAGParallelLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	running, peak := 0, 0
	order := map[string]int{}
	n := 0
	c := &counter{fn: func(ctx context.Context, req StepRequest) (json.RawMessage, error) {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(time.Millisecond) // lets siblings overlap; the assertions do not depend on it
		mu.Lock()
		running--
		n++
		order[req.Call.ID] = n
		mu.Unlock()
		return nil, nil
	}}
	ids := []string{"a", "b1", "b2", "b3", "b4", "b5", "c"}
	deps := map[string][]string{"b1": {"a"}, "b2": {"a"}, "b3": {"a"}, "b4": {"a"}, "b5": {"a"}, "c": {"b1", "b2", "b3", "b4", "b5"}}
	e := openEngine(t, t.TempDir(), c, Definition{Name: "dag", Plan: dagPlanner(ids, deps), MaxParallel: 2})
	_, _, err := e.Start(testCtx(t), "d", "dag", nil)
	require.NoError(t, err)
	w, err := e.Wait(testCtx(t), "d")
	require.NoError(t, err)
	require.Equal(t, abi.WorkflowCompleted, w.Status, w.Error)
	assert.LessOrEqual(t, peak, 2, "MaxParallel")
	for _, b := range []string{"b1", "b2", "b3", "b4", "b5"} {
		assert.Less(t, order["a"], order[b])
		assert.Less(t, order[b], order["c"])
	}
}

func TestEngine_PlannerErrors(t *testing.T) {
	t.Parallel()
	again := func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		return abi.OrchestrateOutput{Run: []abi.StepCall{{ID: "x", Kind: abi.StepCompute, Node: "n"}}}, nil
	}
	invalid := func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		return abi.OrchestrateOutput{Run: []abi.StepCall{{ID: "x", Kind: "bogus", Node: "n"}}}, nil
	}
	failing := func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		return abi.OrchestrateOutput{}, errors.New("boom")
	}
	stall := func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		return abi.OrchestrateOutput{}, nil
	}
	e := openEngine(t, t.TempDir(), &counter{},
		Definition{Name: "again", Plan: again}, Definition{Name: "invalid", Plan: invalid},
		Definition{Name: "failing", Plan: failing}, Definition{Name: "stall", Plan: stall})
	for name, want := range map[string]string{
		"again":   `run[0]: step "x" is already decided on`,
		"invalid": `kind "bogus"`,
		"failing": "boom",
		"stall":   "stalled",
	} {
		_, _, err := e.Start(testCtx(t), name, name, nil)
		require.NoError(t, err)
		w, err := e.Wait(testCtx(t), name)
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowFailed, w.Status, name)
		assert.Contains(t, w.Error, want, name)
		if name != "stall" {
			assert.Contains(t, w.Error, ErrPlan.Error(), name)
		}
	}
}

func TestEngine_ListAndCounts(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	c := &counter{fn: func(ctx context.Context, req StepRequest) (json.RawMessage, error) {
		if strings.Contains(req.WorkflowID, "block") {
			select {
			case <-block:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return nil, nil
	}}
	e := openEngine(t, t.TempDir(), c, Definition{Name: "seq", Plan: seqPlanner(1, false, nil)})
	for i := range 5 {
		_, _, err := e.Start(testCtx(t), fmt.Sprintf("done-%d", i), "seq", nil)
		require.NoError(t, err)
		_, err = e.Wait(testCtx(t), fmt.Sprintf("done-%d", i))
		require.NoError(t, err)
	}
	_, _, err := e.Start(testCtx(t), "block-1", "seq", nil)
	require.NoError(t, err)
	p, err := e.Pause(testCtx(t), "block-1")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowPaused, p.Status)
	assert.Equal(t, map[abi.WorkflowStatus]int{abi.WorkflowCompleted: 5, abi.WorkflowPaused: 1}, e.Counts())

	var all []string
	after := ""
	for {
		page, next, err := e.List(ListOptions{After: after, Limit: 2})
		require.NoError(t, err)
		for _, s := range page {
			all = append(all, s.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	assert.Equal(t, []string{"block-1", "done-0", "done-1", "done-2", "done-3", "done-4"}, all)
	paused, next, err := e.List(ListOptions{Status: abi.WorkflowPaused})
	require.NoError(t, err)
	assert.Empty(t, next)
	require.Len(t, paused, 1)
	assert.Equal(t, "block-1", paused[0].ID)

	_, err = e.Resume(testCtx(t), "block-1")
	require.NoError(t, err)
	close(block)
	w, err := e.Wait(testCtx(t), "block-1")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowCompleted, w.Status)
	assert.Equal(t, map[abi.WorkflowStatus]int{abi.WorkflowCompleted: 6}, e.Counts())
}

// TestEngine_ResumeMany: workflows whose first step was running when the engine closed
// resume at Open and run that step again with the same attempt (same operation id).
func TestEngine_ResumeMany(t *testing.T) {
	t.Parallel()
	const n = 20
	dir := t.TempDir()
	def := Definition{Name: "seq", Plan: seqPlanner(3, false, nil)}
	var started sync.WaitGroup
	started.Add(n)
	blocked := &counter{fn: func(ctx context.Context, req StepRequest) (json.RawMessage, error) {
		started.Done()
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	e := openEngine(t, dir, blocked, def)
	for i := range n {
		_, _, err := e.Start(testCtx(t), fmt.Sprintf("m%02d", i), "seq", nil)
		require.NoError(t, err)
	}
	started.Wait()
	require.NoError(t, e.Close())
	_, err := e.Get("m00")
	assert.ErrorIs(t, err, ErrClosed)

	c := &counter{}
	e = openEngine(t, dir, c, def)
	for i := range n {
		id := fmt.Sprintf("m%02d", i)
		w, err := e.Wait(testCtx(t), id)
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowCompleted, w.Status)
		assert.Equal(t, 1, w.Steps[0].Attempt)
		assert.Equal(t, 1, c.count(abi.StepOperationID(id, "s1", 1)), "run again with attempt 1")
		assert.Equal(t, 1, blocked.count(abi.StepOperationID(id, "s1", 1)))
	}
	assert.Equal(t, map[abi.WorkflowStatus]int{abi.WorkflowCompleted: n}, e.Counts())
}

// TestEngine_PauseHoldsNewAttempts: a paused workflow's running step finishes and is
// recorded, but the planner is not asked for the next one until Resume.
func TestEngine_PauseHoldsNewAttempts(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	c := &counter{fn: func(ctx context.Context, req StepRequest) (json.RawMessage, error) {
		if req.Call.ID == "s1" {
			<-release
		}
		return nil, nil
	}}
	e := openEngine(t, t.TempDir(), c, Definition{Name: "seq", Plan: seqPlanner(2, false, nil)})
	ev, stop := e.Subscribe(64)
	defer stop()
	_, _, err := e.Start(testCtx(t), "p", "seq", nil)
	require.NoError(t, err)
	for x := range ev {
		if x.Type == "step.started" {
			break
		}
	}
	_, err = e.Pause(testCtx(t), "p")
	require.NoError(t, err)
	close(release)
	for x := range ev {
		if x.Type == "step.completed" {
			break
		}
	}
	w, err := e.Get("p")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowPaused, w.Status)
	require.Len(t, w.Steps, 1, "no decision while paused")
	assert.Equal(t, abi.StepCompleted, w.Steps[0].Status)
	_, err = e.Resume(testCtx(t), "p")
	require.NoError(t, err)
	w, err = e.Wait(testCtx(t), "p")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowCompleted, w.Status)
	assert.Len(t, w.Steps, 2)
}

// TestEngine_SubscribeAfterClose: Close closes subscriptions; ending one afterwards is
// harmless, and a full buffer drops events rather than blocking.
func TestEngine_SubscribeAfterClose(t *testing.T) {
	t.Parallel()
	e := openEngine(t, t.TempDir(), &counter{}, Definition{Name: "seq", Plan: seqPlanner(2, false, nil)})
	ev, stop := e.Subscribe(0)
	_, _, err := e.Start(testCtx(t), "x", "seq", nil)
	require.NoError(t, err)
	_, err = e.Wait(testCtx(t), "x")
	require.NoError(t, err)
	assert.EqualValues(t, 6, e.Dropped(), "started, 2×(step started, completed), completed")
	require.NoError(t, e.Close())
	_, open := <-ev
	assert.False(t, open)
	stop()
	_, _, err = e.Start(testCtx(t), "y", "seq", nil)
	assert.ErrorIs(t, err, ErrClosed)
}
