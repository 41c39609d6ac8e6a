package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/onexhost/onex-host/abi"
)

// Compensations are tried compensationAttempts times, compensationBackoff·2^(n-1)
// apart, before the step is recorded with Compensation "failed: …" (a compensation
// that fails with ErrPermanent is not tried again). Every try has the operation id
// abi.StepOperationID(workflow, step, 0): an effect node applies it once.
const (
	compensationAttempts = 3
	compensationBackoff  = 100 * time.Millisecond
)

// end records the decision to end the workflow; the loop carries it out (running
// attempts cancelled, then compensations if asked, then the final status).
func (r *run) end(status abi.WorkflowStatus, output json.RawMessage, msg string, compensate bool) {
	r.rec.Ending = &ending{Status: status, Output: output, Error: msg, Compensate: compensate}
	r.rec.NeedPlan = false
	r.dirty = true
}

// timedOut ends a workflow past its Definition.Timeout as failed; its running steps are
// cancelled with a "timeout" error and, as for Cancel, the planner is asked whether
// its failure would compensate.
func (r *run) timedOut() {
	if r.rec.Status == abi.WorkflowPaused {
		r.rec.Status = abi.WorkflowRunning
	}
	r.end(abi.WorkflowFailed, nil, fmt.Sprintf("orchestrator: workflow timed out after %v", r.def.Timeout), false)
	r.rec.Ending.Ask = true
	r.rec.Ending.StepError = &abi.StepError{Kind: "timeout", Message: "the workflow timed out"}
}

// finish runs the compensations the ending asks for, then writes the final status. It
// returns early, writing nothing more, when the engine closes; the next Open goes on.
func (r *run) finish() {
	en := r.rec.Ending
	for i := range r.rec.Steps { // waiting for a retry, or never started
		if st := &r.rec.Steps[i]; st.Status == abi.StepScheduled {
			se := en.StepError
			if se == nil {
				se = &abi.StepError{Kind: "cancelled", Message: "the workflow ended"}
			}
			st.Status, st.Error, st.EndedAt, st.Due = abi.StepCancelled, se, r.now(), time.Time{}
			r.event("step.cancelled", st.Call.ID, st.Attempt, string(st.Status), 0, se.Message)
			r.dirty = true
		}
	}
	if en.Ask {
		c, ok := r.askCompensate()
		if !ok {
			return
		}
		en.Compensate, en.Ask, r.dirty = c, false, true
	}
	if !r.flush() {
		return
	}
	if en.Compensate {
		var order []int
		for i, s := range r.rec.Steps {
			if s.Status == abi.StepCompleted && s.Call.Compensate != nil && s.Compensation == "" {
				order = append(order, i)
			}
		}
		sort.Slice(order, func(a, b int) bool { return r.rec.Steps[order[a]].Done > r.rec.Steps[order[b]].Done })
		for _, i := range order {
			if !r.compensate(i) {
				return
			}
		}
	}
	now := r.now()
	r.rec.Status, r.rec.Output, r.rec.Error, r.rec.EndedAt, r.rec.Ending = en.Status, en.Output, en.Error, now, nil
	r.event("workflow."+string(en.Status), "", 0, string(en.Status), 0, en.Error)
	r.dirty = true
	r.flush()
}

// askCompensate asks the planner, with the steps as recorded (the running ones now
// cancelled), whether its failure would compensate: a Fail answer's Compensate, true
// for any other answer (the planner would go on: nothing it counts as a failure). ok is
// false when the engine is closing.
func (r *run) askCompensate() (compensate, ok bool) {
	in := abi.OrchestrateInput{
		Workflow: r.rec.Workflow, WorkflowID: r.rec.ID, Input: r.rec.Input, Memo: r.rec.Memo,
		Steps: make([]abi.StepState, len(r.rec.Steps)),
	}
	for i, s := range r.rec.Steps {
		in.Steps[i] = s.StepState
	}
	out, err := r.def.Plan(r.ctx, in)
	if r.ctx.Err() != nil {
		return false, false
	}
	if err == nil && out.Fail != nil {
		return out.Fail.Compensate, true
	}
	return true, true
}

// compensate runs step i's compensation with retries, writing each try's start (its
// count) before it and its outcome after. False: the engine is closing or a write
// failed.
func (r *run) compensate(i int) bool {
	s := &r.rec.Steps[i]
	p := s.Call.Compensate
	call := abi.StepCall{ID: s.Call.ID, Kind: abi.StepEffect, Node: p.Node, Operation: p.EffectType, Input: p.OperationData, TimeoutMS: s.Call.TimeoutMS}
	req := StepRequest{WorkflowID: r.rec.ID, Workflow: r.rec.Workflow, Call: call, Attempt: 0, OperationID: abi.StepOperationID(r.rec.ID, s.Call.ID, 0)}
	timeout := r.def.StepTimeout
	if call.TimeoutMS > 0 {
		timeout = time.Duration(call.TimeoutMS) * time.Millisecond
	}
	pending := s.CompAttempts > 0 // a try recorded as started, its outcome not: run it again
	for {
		if !pending {
			if s.CompAttempts > 0 {
				t := time.NewTimer(compensationBackoff << (s.CompAttempts - 1))
				select {
				case <-r.ctx.Done():
					t.Stop()
					return false
				case <-t.C:
				}
			}
			s.CompAttempts++
			r.dirty = true
			if !r.flush() {
				return false
			}
		}
		pending = false
		ctx, cancel := context.WithTimeout(r.ctx, timeout)
		_, err := r.e.cfg.Runner.RunStep(ctx, req)
		cancel()
		if r.ctx.Err() != nil {
			return false
		}
		if err == nil {
			s.Status, s.Compensation = abi.StepCompensated, "done"
			r.event("step.compensated", s.Call.ID, 0, string(s.Status), 0, "")
			break
		}
		if errors.Is(err, ErrPermanent) || s.CompAttempts >= compensationAttempts {
			s.Compensation = "failed: " + err.Error()
			r.event("step.compensation_failed", s.Call.ID, 0, string(s.Status), 0, err.Error())
			break
		}
	}
	r.dirty = true
	return r.flush()
}
