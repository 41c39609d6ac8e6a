package orchestrator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
)

// PlannerOf returns the Planner that runs workflow on the orchestrator plugin p: each
// call sets the input's Workflow to workflow (the export's name argument), marshals it
// (nil Steps sent as [], nil Input and Memo as null), calls p through onex_orchestrate
// (host.Plugin.Call; calls queue for p's instances and block until one serves them or
// ctx ends) and decodes the guest's output with abi.DecodeOrchestrateOutput. It is safe
// for concurrent use as p is.
//
// Every error of a decision wraps ErrPlan — the workflow fails — except when the call
// did not finish for reasons outside the guest (ctx ended, or p or its host closed:
// host.ErrCanceled, host.ErrClosed), which the engine retries when it runs again. The
// error also wraps the call's *host.PluginError (host.ErrFailed with the guest's code
// for an error the workflow returned, host.ErrUnknownComputation for a workflow p lacks,
// host.ErrTimeout, ...) or, for an output that is not a valid decision, both
// host.ErrInvalidOutput and abi.ErrInvalidEnvelope. A decision that runs or skips a step
// id already in the input's Steps is invalid output too. When p is not an orchestrator
// node every call fails with ErrPlan and host.ErrUnsupported. Only a nil error means the
// output may be applied.
func PlannerOf(p *host.Plugin, workflow string) Planner {
	name := p.Name()
	if k := p.Manifest().Kind; k != abi.KindOrchestrator {
		return func(context.Context, abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
			return abi.OrchestrateOutput{}, fmt.Errorf("orchestrator: plugin %q is a %s node, not an orchestrator: %w: %w",
				name, k, ErrPlan, host.ErrUnsupported)
		}
	}
	return func(ctx context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		in.Workflow = workflow
		if in.Steps == nil {
			in.Steps = []abi.StepState{}
		}
		b, err := json.Marshal(in)
		if err != nil {
			return abi.OrchestrateOutput{}, fmt.Errorf("orchestrator: %s: %s: %s: encode input: %w: %w", name, workflow, in.WorkflowID, ErrPlan, err)
		}
		out, err := p.Call(ctx, workflow, b)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, host.ErrCanceled) || errors.Is(err, host.ErrClosed) {
				return abi.OrchestrateOutput{}, err
			}
			return abi.OrchestrateOutput{}, fmt.Errorf("orchestrator: %s: %s: %s: %w: %w", name, workflow, in.WorkflowID, ErrPlan, err)
		}
		o, err := abi.DecodeOrchestrateOutput(out)
		if err == nil {
			err = decidedTwice(in.Steps, o)
		}
		if err != nil {
			return abi.OrchestrateOutput{}, fmt.Errorf("orchestrator: %s: %s: %s: %w: %w: %w", name, workflow, in.WorkflowID, ErrPlan, host.ErrInvalidOutput, err)
		}
		return o, nil
	}
}

// decidedTwice refuses a decision that runs or skips a step already decided on.
func decidedTwice(steps []abi.StepState, o abi.OrchestrateOutput) error {
	if len(o.Run)+len(o.Skip) == 0 {
		return nil
	}
	seen := make(map[string]struct{}, len(steps))
	for _, s := range steps {
		seen[s.Call.ID] = struct{}{}
	}
	ids := make([]string, 0, len(o.Run)+len(o.Skip))
	for _, c := range o.Run {
		ids = append(ids, c.ID)
	}
	for _, s := range o.Skip {
		ids = append(ids, s.Call.ID)
	}
	for _, id := range ids {
		if _, dup := seen[id]; dup {
			return fmt.Errorf("%w: orchestrate output: step id %q was decided on before", abi.ErrInvalidEnvelope, id)
		}
	}
	return nil
}
