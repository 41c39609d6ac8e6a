package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/onexhost/onex-host/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests of retries, timeouts and backoff run in a synctest bubble: time is fake and
// advances only when every goroutine waits, so delays are exact and cost nothing.

func TestEngine_RetryBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counter{fn: func(_ context.Context, req StepRequest) (json.RawMessage, error) {
			if req.Attempt < 3 {
				return nil, errors.New("flaky")
			}
			return json.RawMessage(`1`), nil
		}}
		retry := &abi.RetryPolicy{MaxAttempts: 3, DelayMS: 1000}
		e := openEngine(t, t.TempDir(), c, Definition{Name: "seq", Plan: seqPlanner(1, false, retry)})
		defer e.Close()
		start := time.Now()
		_, _, err := e.Start(t.Context(), "r", "seq", nil)
		require.NoError(t, err)
		w, err := e.Wait(t.Context(), "r")
		require.NoError(t, err)
		require.Equal(t, abi.WorkflowCompleted, w.Status, w.Error)
		assert.Equal(t, 3*time.Second, w.EndedAt.Sub(start), "1 s, then 2 s")
		assert.Equal(t, 3, w.Steps[0].Attempt)
		for a := 1; a <= 3; a++ {
			assert.Equal(t, 1, c.count(abi.StepOperationID("r", "s1", a)))
		}
	})
}

func TestEngine_RetryExhaustedAndPermanent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counter{fn: func(_ context.Context, req StepRequest) (json.RawMessage, error) {
			if req.WorkflowID == "perm" {
				return nil, Permanent(errors.New("refused"))
			}
			return nil, errors.New("down")
		}}
		retry := &abi.RetryPolicy{MaxAttempts: 4, DelayMS: 100, MaxDelayMS: 150}
		e := openEngine(t, t.TempDir(), c, Definition{Name: "seq", Plan: seqPlanner(1, false, retry)})
		defer e.Close()
		start := time.Now()
		for _, id := range []string{"perm", "down"} {
			_, _, err := e.Start(t.Context(), id, "seq", nil)
			require.NoError(t, err)
		}
		w, err := e.Wait(t.Context(), "perm")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowFailed, w.Status)
		assert.Equal(t, 1, w.Steps[0].Attempt, "a permanent error is not retried")
		assert.Equal(t, "refused", w.Steps[0].Error.Message)
		w, err = e.Wait(t.Context(), "down")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowFailed, w.Status)
		assert.Equal(t, 4, w.Steps[0].Attempt)
		assert.Equal(t, abi.StepFailed, w.Steps[0].Status)
		assert.Equal(t, 400*time.Millisecond, w.EndedAt.Sub(start), "100 + 150 + 150 (capped)")
	})
}

func blockRunner() *counter {
	return &counter{fn: func(ctx context.Context, req StepRequest) (json.RawMessage, error) {
		if req.Call.ID == "s2" && req.Attempt > 0 {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return nil, nil
	}}
}

func TestEngine_StepTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := openEngine(t, t.TempDir(), blockRunner(), Definition{Name: "seq", Plan: seqPlanner(3, false, nil), StepTimeout: 2 * time.Second})
		defer e.Close()
		start := time.Now()
		_, _, err := e.Start(t.Context(), "st", "seq", nil)
		require.NoError(t, err)
		w, err := e.Wait(t.Context(), "st")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowFailed, w.Status)
		require.Len(t, w.Steps, 2)
		assert.Equal(t, abi.StepFailed, w.Steps[1].Status)
		assert.Equal(t, "timeout", w.Steps[1].Error.Kind)
		assert.Equal(t, 2*time.Second, w.EndedAt.Sub(start))
	})
}

func TestEngine_GlobalTimeoutCompensates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := blockRunner()
		e := openEngine(t, t.TempDir(), c, Definition{Name: "saga", Plan: seqPlanner(3, true, nil), Timeout: 5 * time.Second})
		defer e.Close()
		start := time.Now()
		_, _, err := e.Start(t.Context(), "gt", "saga", nil)
		require.NoError(t, err)
		w, err := e.Wait(t.Context(), "gt")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowFailed, w.Status)
		assert.Contains(t, w.Error, "timed out")
		assert.Equal(t, 5*time.Second, w.EndedAt.Sub(start))
		assert.Equal(t, abi.StepCompensated, w.Steps[0].Status)
		assert.Equal(t, "done", w.Steps[0].Compensation)
		assert.Equal(t, abi.StepCancelled, w.Steps[1].Status)
		assert.Equal(t, "timeout", w.Steps[1].Error.Kind)
		assert.Equal(t, 1, c.count(abi.StepOperationID("gt", "s1", 0)))
	})
}

// TestEngine_RetryDueSurvivesRestart: a retry's due time is recorded, so an engine
// closed and opened again waits only for what is left of it.
func TestEngine_RetryDueSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		c := &counter{fn: func(_ context.Context, req StepRequest) (json.RawMessage, error) {
			if req.Attempt == 1 {
				return nil, errors.New("once")
			}
			return nil, nil
		}}
		def := Definition{Name: "seq", Plan: seqPlanner(1, false, &abi.RetryPolicy{MaxAttempts: 2, DelayMS: 10_000})}
		e := openEngine(t, dir, c, def)
		ev, stop := e.Subscribe(16)
		start := time.Now()
		_, _, err := e.Start(t.Context(), "due", "seq", nil)
		require.NoError(t, err)
		for x := range ev {
			if x.Type == "step.retrying" {
				break
			}
		}
		stop()
		require.NoError(t, e.Close())
		time.Sleep(3 * time.Second)
		e = openEngine(t, dir, c, def)
		defer e.Close()
		w, err := e.Wait(t.Context(), "due")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowCompleted, w.Status)
		assert.Equal(t, 10*time.Second, w.EndedAt.Sub(start))
	})
}

func TestEngine_CompensationFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &counter{fn: func(_ context.Context, req StepRequest) (json.RawMessage, error) {
			switch {
			case req.Call.ID == "s3" && req.Attempt > 0:
				return nil, Permanent(errors.New("no"))
			case req.Call.ID == "s2" && req.Attempt == 0:
				return nil, errors.New("undo unavailable")
			}
			return nil, nil
		}}
		e := openEngine(t, t.TempDir(), c, Definition{Name: "saga", Plan: seqPlanner(5, true, nil)})
		defer e.Close()
		start := time.Now()
		_, _, err := e.Start(t.Context(), "cf", "saga", nil)
		require.NoError(t, err)
		w, err := e.Wait(t.Context(), "cf")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowFailed, w.Status)
		assert.Equal(t, "step s3 failed", w.Error)
		assert.Equal(t, abi.StepCompensated, w.Steps[0].Status)
		assert.Equal(t, abi.StepCompleted, w.Steps[1].Status)
		assert.Equal(t, "failed: undo unavailable", w.Steps[1].Compensation)
		assert.Equal(t, 3, c.count(abi.StepOperationID("cf", "s2", 0)), "compensationAttempts tries, one op id")
		assert.Equal(t, 300*time.Millisecond, w.EndedAt.Sub(start), "backoff 100 + 200 ms")
	})
}

// noCompensate is seqPlanner with compensations declared but a failure strategy that
// does not compensate (fail_fast).
func noCompensate(n int) Planner {
	p := seqPlanner(n, true, nil)
	return func(ctx context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		out, err := p(ctx, in)
		if out.Fail != nil {
			out.Fail.Compensate = false
		}
		return out, err
	}
}

// TestEngine_EndingAsksPlanner: the timeout and Cancel compensate as the planner's
// failure would: not for a fail_fast planner; and when the planner would go on
// (nothing failed: cancelled while paused between steps), they compensate.
func TestEngine_EndingAsksPlanner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hold := make(chan struct{})
		c := &counter{fn: func(ctx context.Context, req StepRequest) (json.RawMessage, error) {
			switch {
			case req.Call.ID == "s2" && req.Attempt > 0:
				<-ctx.Done()
				return nil, ctx.Err()
			case req.WorkflowID == "between" && req.Attempt > 0:
				<-hold
			}
			return nil, nil
		}}
		e := openEngine(t, t.TempDir(), c, Definition{Name: "ff", Plan: noCompensate(3), Timeout: 5 * time.Second})
		defer e.Close()
		_, _, err := e.Start(t.Context(), "timeout", "ff", nil)
		require.NoError(t, err)
		w, err := e.Wait(t.Context(), "timeout")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowFailed, w.Status)
		assert.Equal(t, abi.StepCompleted, w.Steps[0].Status, "fail_fast: not compensated")
		assert.Equal(t, 0, c.count(abi.StepOperationID("timeout", "s1", 0)))

		_, _, err = e.Start(t.Context(), "cancel", "ff", nil)
		require.NoError(t, err)
		synctest.Wait() // s2 is running (blocked)
		w, err = e.Cancel(t.Context(), "cancel")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowCancelled, w.Status)
		assert.Equal(t, abi.StepCompleted, w.Steps[0].Status, "fail_fast: not compensated")
		assert.Equal(t, abi.StepCancelled, w.Steps[1].Status)

		// Paused while s1 runs; s1 ends; nothing failed and nothing runs: the fail_fast
		// planner would go on, so the cancel compensates.
		_, _, err = e.Start(t.Context(), "between", "ff", nil)
		require.NoError(t, err)
		synctest.Wait() // s1 waits for hold
		_, err = e.Pause(t.Context(), "between")
		require.NoError(t, err)
		close(hold)
		synctest.Wait()
		w, err = e.Cancel(t.Context(), "between")
		require.NoError(t, err)
		assert.Equal(t, abi.WorkflowCancelled, w.Status)
		require.Len(t, w.Steps, 1)
		assert.Equal(t, abi.StepCompensated, w.Steps[0].Status)
	})
}
