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

func (r *run) checkDecision(out abi.OrchestrateOutput) error {
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode decision: %w", err)
	}
	if _, err := abi.DecodeOrchestrateOutput(b); err != nil {
		return err
	}
	decided := make(map[string]bool, len(r.rec.Steps))
	for _, s := range r.rec.Steps {
		decided[s.Call.ID] = true
	}
	for _, c := range out.Run {
		if decided[c.ID] {
			return fmt.Errorf("run of step %q, which was already decided on", c.ID)
		}
	}
	for _, s := range out.Skip {
		if decided[s.Call.ID] {
			return fmt.Errorf("skip of step %q, which was already decided on", s.Call.ID)
		}
	}
	return nil
}

func (r *run) anyScheduled() bool {
	for _, s := range r.rec.Steps {
		if s.Status == abi.StepScheduled || s.Status == abi.StepRunning {
			return true
		}
	}
	return false
}
