package orchestrator_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/orchestrator"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// loadPlannerGuest builds (once per machine), warms and loads the Go guest in dir.
func loadPlannerGuest(t *testing.T, dir string, pc host.PluginConfig) *host.Plugin {
	t.Helper()
	path, err := plugintest.Path(dir)
	require.NoError(t, err)
	require.NoError(t, plugintest.Warm(path))
	h, err := host.New(context.Background(), host.Config{CacheDir: plugintest.CacheDir()})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, h.Close(ctx))
	})
	p, err := h.LoadFile(context.Background(), path, pc)
	require.NoError(t, err)
	return p
}

// effectStep is a completed (or failed) step of the saga's checkout.
func effectStep(t *testing.T, call abi.StepCall, status abi.StepStatus, output string) abi.StepState {
	t.Helper()
	s := abi.StepState{Call: call, Status: status, Attempt: 1}
	if output != "" {
		s.Output = json.RawMessage(output)
	}
	if status == abi.StepFailed {
		s.Error = &abi.StepError{Kind: "error", Message: "out of stock"}
	}
	return s
}

// TestPlannerOf_Saga drives the saga guest's checkout through onex_orchestrate: charge,
// reserve and ship one after another, then complete; a failed step fails the workflow
// with compensation; the decision is the same when asked again (pure).
func TestPlannerOf_Saga(t *testing.T) {
	p := loadPlannerGuest(t, "plugins/testdata/saga", host.PluginConfig{})
	require.Equal(t, abi.KindOrchestrator, p.Manifest().Kind)
	entry, ok := p.Entry("checkout")
	require.True(t, ok)
	assert.Equal(t, abi.ExportOrchestrate, entry.Export)

	plan := orchestrator.PlannerOf(p, "checkout")
	ctx := context.Background()
	in := abi.OrchestrateInput{Workflow: "ignored: PlannerOf names the workflow", WorkflowID: "order-1",
		Input: json.RawMessage(`{"order":"o1","amount":30}`)}
	var steps []abi.StepState
	for i, want := range []string{"charge", "reserve", "ship"} {
		in.Steps = steps
		out, err := plan(ctx, in)
		require.NoError(t, err, "step %d", i)
		require.Len(t, out.Run, 1)
		call := out.Run[0]
		assert.Equal(t, want, call.ID)
		assert.Equal(t, abi.StepEffect, call.Kind)
		require.NotNil(t, call.Compensate)
		again, err := plan(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, out, again, "the same input gives the same decision")
		// While the step runs, the guest waits.
		out, err = plan(ctx, abi.OrchestrateInput{WorkflowID: "order-1", Input: in.Input,
			Steps: append(steps[:len(steps):len(steps)], abi.StepState{Call: call, Status: abi.StepRunning, Attempt: 1})})
		require.NoError(t, err)
		assert.Empty(t, out.Run)
		assert.Nil(t, out.Complete)
		steps = append(steps, effectStep(t, call, abi.StepCompleted, `{"done":"`+want+`"}`))
	}
	in.Steps = steps
	out, err := plan(ctx, in)
	require.NoError(t, err)
	require.NotNil(t, out.Complete)
	assert.JSONEq(t, `{"done":"ship"}`, string(out.Complete.Output))

	// reserve fails: the workflow fails and compensates.
	in.Steps = []abi.StepState{steps[0], effectStep(t, steps[1].Call, abi.StepFailed, "")}
	out, err = plan(ctx, in)
	require.NoError(t, err)
	require.NotNil(t, out.Fail)
	assert.True(t, out.Fail.Compensate)
	assert.Contains(t, out.Fail.Message, "out of stock")

	// The guest's own error is the workflow's planning failure, with its code.
	_, err = plan(ctx, abi.OrchestrateInput{WorkflowID: "order-2", Input: json.RawMessage(`{}`)})
	require.ErrorIs(t, err, orchestrator.ErrPlan)
	require.ErrorIs(t, err, host.ErrFailed)
	pe, ok := errors.AsType[*host.PluginError](err)
	require.True(t, ok)
	assert.Equal(t, "bad_order", pe.Code)

	// A workflow the plugin lacks.
	_, err = orchestrator.PlannerOf(p, "refund")(ctx, abi.OrchestrateInput{WorkflowID: "w"})
	require.ErrorIs(t, err, orchestrator.ErrPlan)
	require.ErrorIs(t, err, host.ErrUnknownComputation)
}

// TestPlannerOf_HostileOutputs: outputs that are not valid decisions are typed errors
// (ErrPlan, host.ErrInvalidOutput, abi.ErrInvalidEnvelope), never applied, and the
// plugin keeps serving.
func TestPlannerOf_HostileOutputs(t *testing.T) {
	p := loadPlannerGuest(t, "plugins/testdata/saga", host.PluginConfig{})
	replay := orchestrator.PlannerOf(p, "replay")
	checkout := orchestrator.PlannerOf(p, "checkout")
	ctx := context.Background()
	step := `{"id":"a","kind":"compute","node":"n"}`
	decided := []abi.StepState{{Call: abi.StepCall{ID: "a", Kind: abi.StepCompute, Node: "n"}, Status: abi.StepCompleted, Attempt: 1}}
	for _, tc := range []struct {
		name  string
		reply string
		steps []abi.StepState
	}{
		{name: "invalid JSON", reply: `{"run":[`},
		{name: "not an object", reply: `[]`},
		{name: "unknown field", reply: `{"run":[],"next":"a"}`},
		{name: "unknown field in a step", reply: `{"run":[{"id":"a","kind":"compute","node":"n","when":1}]}`},
		{name: "duplicate id", reply: `{"run":[` + step + `,` + step + `]}`},
		{name: "run and complete", reply: `{"run":[` + step + `],"complete":{}}`},
		{name: "complete and fail", reply: `{"complete":{},"fail":{"message":"x"}}`},
		{name: "unknown kind", reply: `{"run":[{"id":"a","kind":"script","node":"n"}]}`},
		{name: "run of a step decided before", reply: `{"run":[` + step + `]}`, steps: decided},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := json.Marshal(map[string]string{"reply": tc.reply})
			require.NoError(t, err)
			_, err = replay(ctx, abi.OrchestrateInput{WorkflowID: "w", Input: in, Steps: tc.steps})
			require.ErrorIs(t, err, orchestrator.ErrPlan)
			require.ErrorIs(t, err, host.ErrInvalidOutput)
			require.ErrorIs(t, err, abi.ErrInvalidEnvelope)

			out, err := checkout(ctx, abi.OrchestrateInput{WorkflowID: "w", Input: json.RawMessage(`{"order":"o","amount":1}`)})
			require.NoError(t, err, "the plugin keeps serving")
			require.Len(t, out.Run, 1)
		})
	}
	// A valid reply passes through.
	in, _ := json.Marshal(map[string]string{"reply": `{"run":[` + step + `]}`})
	out, err := replay(ctx, abi.OrchestrateInput{WorkflowID: "w", Input: in})
	require.NoError(t, err)
	require.Len(t, out.Run, 1)
}

// TestPlannerOf_OtherKindsAndExtism: a plugin of another kind fails every decision with
// host.ErrUnsupported; an Extism plugin becomes an orchestrator through its node
// description, and its output (here the echoed input) is checked as strictly.
func TestPlannerOf_OtherKindsAndExtism(t *testing.T) {
	ctx := context.Background()
	_, err := orchestrator.PlannerOf(loadPlannerGuest(t, "plugins/testdata/counter", host.PluginConfig{}), "count")(ctx, abi.OrchestrateInput{})
	require.ErrorIs(t, err, orchestrator.ErrPlan)
	require.ErrorIs(t, err, host.ErrUnsupported)

	p := loadPlannerGuest(t, "plugins/testdata/extismecho", host.PluginConfig{Extism: host.ExtismConfig{
		Node: &host.ExtismNode{Name: "echo-orchestrator", Kind: abi.KindOrchestrator, Computations: []host.ExtismComputation{{Name: "echo"}}},
	}})
	require.Equal(t, abi.KindOrchestrator, p.Manifest().Kind)
	_, err = orchestrator.PlannerOf(p, "echo")(ctx, abi.OrchestrateInput{WorkflowID: "w"})
	require.ErrorIs(t, err, orchestrator.ErrPlan)
	require.ErrorIs(t, err, host.ErrInvalidOutput)
	assert.ErrorContains(t, err, `unknown field "workflow"`)
}
