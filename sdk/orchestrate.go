package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
)

// Orchestrator registers a workflow of an orchestrator node (abi/SPEC.md section 10): a
// pure decision function that, given the workflow's state (its input, every step decided
// on so far with its status and output, and the memo of the last decision), returns what
// happens next — steps to run or skip, or the end of the workflow. The host owns the
// state and runs the steps; it calls fn again after each step finishes, and may call it
// again with the same input (after a crash), so fn must be deterministic and do no I/O:
// an orchestrator node gets no capabilities.
//
// w names the workflow (also the export's name argument) and documents it: its
// InputSchema documents the workflow's input. The input reaches fn decoded with
// abi.DecodeOrchestrateInput; fn's output is encoded with encoding/json and checked with
// abi.DecodeOrchestrateOutput before it leaves the guest.
//
// Outcomes the host sees:
//   - an OrchestrateInput that is not valid, or names another workflow:
//     abi.StatusInvalidInput;
//   - fn returns an error: abi.StatusError with the error's code (see NewError) — the
//     host fails the workflow;
//   - fn panics: abi.StatusPanic, likewise;
//   - the output cannot be encoded or breaks a rule of abi.DecodeOrchestrateOutput (a
//     step id twice, run together with complete, ...): abi.StatusError with code
//     "invalid_output" and the rule in the message.
//
// A plugin is one kind of node: the first Orchestrator makes it an orchestrator node when
// Describe left Kind empty. Call Orchestrator from an init function. It panics on a
// programmer error: a name that abi.ValidName rejects, a name registered before, a nil
// fn, or a plugin that is already another kind of node.
func Orchestrator(w abi.Computation, fn func(ctx context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error)) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: Orchestrator %q: nil function", w.Name))
	}
	std.register(abi.KindOrchestrator, "Orchestrator", w, wrapOrchestrator(w.Name, fn))
}

// OrchestratorRaw registers a workflow whose function works on the JSON bytes directly:
// fn receives the OrchestrateInput JSON object exactly as the host sent it and returns
// the OrchestrateOutput JSON object, which the SDK does not check (the host does, and
// fails the workflow when it breaks a rule). data is a view, as for ComputeRaw. Errors
// and panics are reported as for Orchestrator, and it panics on the same programmer
// errors.
func OrchestratorRaw(w abi.Computation, fn func(ctx context.Context, data []byte) ([]byte, error)) {
	if fn == nil {
		panic(fmt.Sprintf("sdk: OrchestratorRaw %q: nil function", w.Name))
	}
	std.register(abi.KindOrchestrator, "OrchestratorRaw", w, wrapRaw(fn))
}

// wrapOrchestrator turns a decision function into a handler of OrchestrateInput bytes.
func wrapOrchestrator(name string, fn func(ctx context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error)) handler {
	return func(ctx context.Context, data []byte, e *encoder) (abi.Status, []byte) {
		in, err := abi.DecodeOrchestrateInput(data) // copies what it keeps
		if err == nil && in.Workflow != name {
			err = fmt.Errorf("the input names workflow %q", in.Workflow)
		}
		if err != nil {
			return e.failure(abi.StatusInvalidInput, abi.Error{
				Code:    abi.StatusInvalidInput.String(),
				Message: fmt.Sprintf("sdk: workflow %q: %v", name, err),
			})
		}
		out, err := fn(ctx, in)
		if err != nil {
			return e.failure(abi.StatusError, errorPayload(err))
		}
		b, err := e.encode(out)
		if err == nil {
			_, err = abi.DecodeOrchestrateOutput(b)
		}
		if err != nil {
			return e.failure(abi.StatusError, abi.Error{
				Code:    "invalid_output",
				Message: fmt.Sprintf("sdk: workflow %q: %v", name, err),
			})
		}
		return abi.StatusOK, b
	}
}

// DispatchOrchestrate runs the workflow called workflow on input (an OrchestrateInput
// JSON object), exactly as the onex_orchestrate export does, with the results and
// guarantees of Dispatch: abi.StatusOK and an OrchestrateOutput JSON object, or a status
// and an abi.Error payload. An unknown workflow gives abi.StatusUnknownComputation, and a
// plugin that is not an orchestrator node abi.StatusUnsupported. It is meant for native
// unit tests; Orchestrate is easier to use.
func DispatchOrchestrate(ctx context.Context, workflow string, input []byte) (abi.Status, []byte) {
	return std.dispatch(ctx, abi.ExportOrchestrate, []byte(workflow), input, newEncoder())
}

// Orchestrate runs a workflow's decision natively through DispatchOrchestrate, for unit
// tests: it encodes in (an empty in.Workflow means workflow; nil Input, Memo and Steps are
// sent as null, null and []) and decodes the output with abi.DecodeOrchestrateOutput. A
// failed decision returns an *abi.Error and the status.
func Orchestrate(ctx context.Context, workflow string, in abi.OrchestrateInput) (abi.OrchestrateOutput, abi.Status, error) {
	if in.Workflow == "" {
		in.Workflow = workflow
	}
	if in.Steps == nil {
		in.Steps = []abi.StepState{}
	}
	b, err := json.Marshal(in)
	if err != nil {
		return abi.OrchestrateOutput{}, abi.StatusInvalidInput, fmt.Errorf("sdk: Orchestrate %q: encode input: %w", workflow, err)
	}
	status, out := DispatchOrchestrate(ctx, workflow, b)
	if status != abi.StatusOK {
		e := abi.DecodeError(status, out)
		return abi.OrchestrateOutput{}, status, &e
	}
	o, err := abi.DecodeOrchestrateOutput(out)
	if err != nil {
		return abi.OrchestrateOutput{}, status, fmt.Errorf("sdk: Orchestrate %q: %w", workflow, err)
	}
	return o, status, nil
}
