package orchestrator

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEngine_Hammer: 64 goroutines start 200 workflows of 3 steps (each twice, the
// second Start answering the first) on one engine and wait for them; every workflow
// completes and each (workflow, step, attempt) ran exactly once.
func TestEngine_Hammer(t *testing.T) {
	t.Parallel()
	const workflows, steps, workers = 200, 3, 64
	c := &counter{}
	e := openEngine(t, t.TempDir(), c, Definition{Name: "seq", Plan: seqPlanner(steps, false, nil)})
	var created atomic.Int64
	var wg sync.WaitGroup
	ctx := testCtx(t)
	for g := range workers {
		wg.Go(func() {
			for i := g; i < 2*workflows; i += workers {
				id := fmt.Sprintf("h%03d", i%workflows)
				_, c, err := e.Start(ctx, id, "seq", json.RawMessage(`{}`))
				if !assert.NoError(t, err) {
					return
				}
				if c {
					created.Add(1)
				}
				w, err := e.Wait(ctx, id)
				if assert.NoError(t, err) {
					assert.Equal(t, abi.WorkflowCompleted, w.Status, "%s: %s", id, w.Error)
				}
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, workflows, created.Load())
	assert.Equal(t, map[abi.WorkflowStatus]int{abi.WorkflowCompleted: workflows}, e.Counts())
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Len(t, c.runs, workflows*steps)
	for i := range workflows {
		for s := 1; s <= steps; s++ {
			assert.Equal(t, 1, c.runs[abi.StepOperationID(fmt.Sprintf("h%03d", i), fmt.Sprintf("s%d", s), 1)])
		}
	}
}

// TestEngine_CancelCompensates: a cancelled workflow's running step is cancelled and
// its completed steps compensated, newest first.
func TestEngine_CancelCompensates(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var mu sync.Mutex
	var undone []string
	c := &counter{fn: func(ctx context.Context, req StepRequest) (json.RawMessage, error) {
		switch {
		case req.Attempt == 0:
			mu.Lock()
			undone = append(undone, req.Call.ID)
			mu.Unlock()
		case req.Call.ID == "s3":
			close(started)
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, nil
	}}
	e := openEngine(t, t.TempDir(), c, Definition{Name: "saga", Plan: seqPlanner(5, true, nil)})
	_, _, err := e.Start(testCtx(t), "c", "saga", nil)
	require.NoError(t, err)
	<-started
	w, err := e.Cancel(testCtx(t), "c")
	require.NoError(t, err)
	assert.Equal(t, abi.WorkflowCancelled, w.Status)
	require.Len(t, w.Steps, 3)
	assert.Equal(t, abi.StepCompensated, w.Steps[0].Status)
	assert.Equal(t, abi.StepCompensated, w.Steps[1].Status)
	assert.Equal(t, abi.StepCancelled, w.Steps[2].Status)
	assert.Equal(t, []string{"s2", "s1"}, undone)
	_, err = e.Pause(testCtx(t), "c")
	assert.ErrorIs(t, err, ErrFinished)
}
