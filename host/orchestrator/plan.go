package orchestrator

import (
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
)

// plan calls the planner with the steps in decision order and the last memo, checks
// its output (abi.DecodeOrchestrateOutput's rules, and no id decided on before) and
// applies it to the record: steps to run become scheduled, skipped ones skipped; a
// completion, a failure, a planner error, an invalid output or a stall set the ending.
// It reports false when the engine is closing (nothing is changed then).
func (r *run) plan() bool {
	in := abi.OrchestrateInput{
		Workflow: r.rec.Workflow, WorkflowID: r.rec.ID, Input: r.rec.Input, Memo: r.rec.Memo,
		Steps: make([]abi.StepState, len(r.rec.Steps)),
	}
	for i, s := range r.rec.Steps {
		in.Steps[i] = s.StepState
	}
	out, err := r.def.Plan(r.ctx, in)
	if r.ctx.Err() != nil {
		return false
	}
	r.dirty = true
	r.rec.NeedPlan = false
	if err == nil {
		err = r.checkDecision(out)
	}
	if err != nil {
		r.end(abi.WorkflowFailed, nil, fmt.Sprintf("%v: %v", ErrPlan, err), false)
		return true
	}
	r.rec.Memo = out.Memo
	if len(r.rec.Memo) == 0 {
		r.rec.Memo = json.RawMessage("null")
	}
	now := r.now()
	for _, sk := range out.Skip {
		r.rec.Steps = append(r.rec.Steps, stepRecord{StepState: abi.StepState{Call: sk.Call, Status: abi.StepSkipped, Reason: sk.Reason}, EndedAt: now})
		r.event("step.skipped", sk.Call.ID, 0, string(abi.StepSkipped), 0, sk.Reason)
	}
	for _, c := range out.Run {
		r.rec.Steps = append(r.rec.Steps, stepRecord{StepState: abi.StepState{Call: c, Status: abi.StepScheduled}})
	}
	switch {
	case out.Complete != nil:
		o := out.Complete.Output
		if len(o) == 0 {
			o = json.RawMessage("null")
		}
		r.end(abi.WorkflowCompleted, o, "", false)
	case out.Fail != nil:
		r.end(abi.WorkflowFailed, nil, out.Fail.Message, out.Fail.Compensate)
	case len(out.Run) == 0 && len(r.attempts) == 0 && !r.anyScheduled():
		r.end(abi.WorkflowFailed, nil, "orchestrator: workflow stalled: the planner started nothing and ended nothing while no step was running or waiting", false)
	}
	return true
}

// checkDecision applies abi.DecodeOrchestrateOutput's rules to a decision the planner
// returned as a value (each call as StepCall.Check wants it, no id twice, not both
// complete and fail, neither with run, a fail message), and refuses a run or skip of
// an id decided on before.
func (r *run) checkDecision(out abi.OrchestrateOutput) error {
	const what = "orchestrate output"
	seen := make(map[string]string, len(r.rec.Steps)+len(out.Run)+len(out.Skip))
	for _, s := range r.rec.Steps {
		seen[s.Call.ID] = "already decided on"
	}
	check := func(c abi.StepCall, where string) error {
		if err := c.Check(what + ": " + where); err != nil {
			return err
		}
		if (len(c.Input) > 0 && !json.Valid(c.Input)) || (c.Compensate != nil && len(c.Compensate.OperationData) > 0 && !json.Valid(c.Compensate.OperationData)) {
			return fmt.Errorf("%w: %s: %s: input or compensate.operation_data is not JSON", abi.ErrInvalidEnvelope, what, where)
		}
		if first, dup := seen[c.ID]; dup {
			return fmt.Errorf("%w: %s: %s: step %q is %s", abi.ErrInvalidEnvelope, what, where, c.ID, first)
		}
		seen[c.ID] = "also " + where
		return nil
	}
	for i, c := range out.Run {
		if err := check(c, fmt.Sprintf("run[%d]", i)); err != nil {
			return err
		}
	}
	for i, sk := range out.Skip {
		if err := check(sk.Call, fmt.Sprintf("skip[%d].call", i)); err != nil {
			return err
		}
	}
	switch {
	case out.Complete != nil && out.Fail != nil:
		return fmt.Errorf("%w: %s: complete and fail both given", abi.ErrInvalidEnvelope, what)
	case (out.Complete != nil || out.Fail != nil) && len(out.Run) > 0:
		return fmt.Errorf("%w: %s: run given with complete or fail", abi.ErrInvalidEnvelope, what)
	case out.Fail != nil && out.Fail.Message == "":
		return fmt.Errorf("%w: %s: fail.message is empty", abi.ErrInvalidEnvelope, what)
	}
	for _, raw := range []json.RawMessage{out.Memo, completionOutput(out)} {
		if len(raw) > 0 && !json.Valid(raw) {
			return fmt.Errorf("%w: %s: memo or output is not JSON", abi.ErrInvalidEnvelope, what)
		}
	}
	return nil
}

func completionOutput(out abi.OrchestrateOutput) json.RawMessage {
	if out.Complete == nil {
		return nil
	}
	return out.Complete.Output
}

func (r *run) anyScheduled() bool {
	for _, s := range r.rec.Steps {
		if s.Status == abi.StepScheduled || s.Status == abi.StepRunning {
			return true
		}
	}
	return false
}
