package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// result is what an attempt's goroutine hands back to the loop.
type result struct {
	i        int
	out      json.RawMessage
	err      error
	timedOut bool
	took     time.Duration
}

// launch runs the recorded attempt of step i (already written as running) in a
// goroutine bounded by the step's timeout: call.TimeoutMS, else Definition.StepTimeout.
func (r *run) launch(i int) {
	s := r.rec.Steps[i]
	timeout := r.def.StepTimeout
	if s.Call.TimeoutMS > 0 {
		timeout = time.Duration(s.Call.TimeoutMS) * time.Millisecond
	}
	req := StepRequest{
		WorkflowID: r.rec.ID, Workflow: r.rec.Workflow, Call: s.Call, Attempt: s.Attempt,
		OperationID: abi.StepOperationID(r.rec.ID, s.Call.ID, s.Attempt),
	}
	actx, cancel := context.WithTimeout(r.ctx, timeout)
	r.attempts[i] = cancel
	go func() {
		start := time.Now()
		out, err := r.e.cfg.Runner.RunStep(actx, req)
		timedOut := err != nil && errors.Is(actx.Err(), context.DeadlineExceeded)
		cancel()
		r.res <- result{i: i, out: out, err: err, timedOut: timedOut, took: time.Since(start)}
	}()
}

// stopAttempts cancels the running attempts and waits for them without recording
// anything: the engine is closing (or the store failed), and they run again at Open.
func (r *run) stopAttempts() {
	for _, cancel := range r.attempts {
		cancel()
	}
	for range len(r.attempts) {
		<-r.res
	}
	clear(r.attempts)
}

// onResult records an attempt's end: completed; cancelled (the workflow is ending);
// failed (ErrPermanent, or its last attempt); or scheduled again after the retry delay.
func (r *run) onResult(res result) {
	delete(r.attempts, res.i)
	if r.ctx.Err() != nil {
		return // closing: not recorded, the attempt runs again at Open
	}
	s := &r.rec.Steps[res.i]
	now := r.now()
	r.dirty = true
	s.EndedAt = now
	switch {
	case res.err == nil:
		out := res.out
		if len(out) == 0 {
			out = json.RawMessage("null")
		}
		r.rec.DoneSeq++
		s.Status, s.Output, s.Done = abi.StepCompleted, out, r.rec.DoneSeq
		r.rec.NeedPlan = true
		r.event("step.completed", s.Call.ID, s.Attempt, string(s.Status), res.took, "")
		return
	case r.rec.Ending != nil:
		se := r.rec.Ending.StepError
		if se == nil {
			se = &abi.StepError{Kind: "cancelled", Message: "the workflow ended"}
		}
		s.Status, s.Error = abi.StepCancelled, se
		r.event("step.cancelled", s.Call.ID, s.Attempt, string(s.Status), res.took, se.Message)
		return
	}
	se := &abi.StepError{Kind: "error", Message: res.err.Error(), Code: codeOf(res.err)}
	if res.timedOut {
		se.Kind = "timeout"
	}
	s.Error = se
	maxAttempts := 1
	if s.Call.Retry != nil {
		maxAttempts = s.Call.Retry.MaxAttempts
	}
	if errors.Is(res.err, ErrPermanent) || s.Attempt >= maxAttempts {
		s.Status = abi.StepFailed
		r.rec.NeedPlan = true
		r.event("step.failed", s.Call.ID, s.Attempt, string(s.Status), res.took, se.Message)
		return
	}
	s.Status, s.Due = abi.StepScheduled, now.Add(retryDelay(s.Call.Retry, s.Attempt))
	r.event("step.retrying", s.Call.ID, s.Attempt, string(s.Status), res.took, se.Message)
}

// retryDelay is the wait after attempt n failed: DelayMS·2^(n-1), capped at MaxDelayMS
// when that is above 0.
func retryDelay(p *abi.RetryPolicy, n int) time.Duration {
	if p == nil || p.DelayMS <= 0 {
		return 0
	}
	d := time.Duration(p.DelayMS) * time.Millisecond
	for k := 1; k < n && d < 24*time.Hour; k++ {
		d *= 2
	}
	if p.MaxDelayMS > 0 {
		d = min(d, time.Duration(p.MaxDelayMS)*time.Millisecond)
	}
	return d
}

// cancelRecordedRunning ends, as cancelled, the steps recorded as running when a
// workflow that was ending is resumed: its attempts are not run again.
func (r *run) cancelRecordedRunning() {
	for i := range r.rec.Steps {
		s := &r.rec.Steps[i]
		if s.Status == abi.StepRunning {
			s.Status, s.Error, s.EndedAt = abi.StepCancelled, r.rec.Ending.StepError, r.now()
			r.event("step.cancelled", s.Call.ID, s.Attempt, string(s.Status), 0, "")
			r.dirty = true
		}
	}
}
