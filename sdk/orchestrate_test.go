package sdk

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// registerTwoSteps registers "pipeline": a then b, then complete with b's output.
func registerTwoSteps(tb testing.TB) {
	tb.Helper()
	useRegistry(tb)
	Describe(abi.Manifest{Name: "pipeline", Version: "1.0.0", Deterministic: true})
	Orchestrator(abi.Computation{Name: "pipeline"}, func(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
		switch len(in.Steps) {
		case 0:
			return abi.OrchestrateOutput{Run: []abi.StepCall{{ID: "a", Kind: abi.StepCompute, Node: "n"}}}, nil
		case 1:
			return abi.OrchestrateOutput{Run: []abi.StepCall{{ID: "b", Kind: abi.StepCompute, Node: "n"}}}, nil
		}
		return abi.OrchestrateOutput{Complete: &abi.Completion{Output: in.Steps[1].Output}}, nil
	})
}

func TestOrchestrator_Decides(t *testing.T) {
	registerTwoSteps(t)
	m := Manifest()
	require.NoError(t, m.Validate())
	assert.Equal(t, abi.KindOrchestrator, m.Kind)

	ctx := context.Background()
	out, status, err := Orchestrate(ctx, "pipeline", abi.OrchestrateInput{WorkflowID: "w"})
	require.NoError(t, err)
	require.Equal(t, abi.StatusOK, status)
	require.Len(t, out.Run, 1)
	assert.Equal(t, "a", out.Run[0].ID)

	steps := []abi.StepState{
		{Call: abi.StepCall{ID: "a", Kind: abi.StepCompute, Node: "n"}, Status: abi.StepCompleted, Attempt: 1},
		{Call: abi.StepCall{ID: "b", Kind: abi.StepCompute, Node: "n"}, Status: abi.StepCompleted, Attempt: 1, Output: []byte(`{"x":1}`)},
	}
	out, _, err = Orchestrate(ctx, "pipeline", abi.OrchestrateInput{WorkflowID: "w", Steps: steps})
	require.NoError(t, err)
	require.NotNil(t, out.Complete)
	assert.JSONEq(t, `{"x":1}`, string(out.Complete.Output))

	// Another workflow's input is refused; so is an unknown one, and input that is not an
	// OrchestrateInput.
	status, _ = DispatchOrchestrate(ctx, "pipeline", []byte(`{"workflow":"other","workflow_id":"w","input":null,"steps":[],"memo":null}`))
	assert.Equal(t, abi.StatusInvalidInput, status)
	status, _ = DispatchOrchestrate(ctx, "nope", []byte(`{}`))
	assert.Equal(t, abi.StatusUnknownComputation, status)
	status, _ = DispatchOrchestrate(ctx, "pipeline", []byte(`{"workflow":"pipeline"}`))
	assert.Equal(t, abi.StatusInvalidInput, status)
	// An orchestrator is not run through onex_compute.
	status, _ = Dispatch(ctx, "pipeline", []byte(`{}`))
	assert.Equal(t, abi.StatusUnsupported, status)
}

func TestOrchestrator_InvalidOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		out  abi.OrchestrateOutput
	}{
		{"duplicate id", abi.OrchestrateOutput{Run: []abi.StepCall{{ID: "a", Kind: abi.StepCompute, Node: "n"}, {ID: "a", Kind: abi.StepCompute, Node: "n"}}}},
		{"run and complete", abi.OrchestrateOutput{Run: []abi.StepCall{{ID: "a", Kind: abi.StepCompute, Node: "n"}}, Complete: &abi.Completion{}}},
		{"empty fail message", abi.OrchestrateOutput{Fail: &abi.Failure{}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			useRegistry(t)
			Orchestrator(abi.Computation{Name: "w"}, func(context.Context, abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
				return tc.out, nil
			})
			_, status, err := Orchestrate(context.Background(), "w", abi.OrchestrateInput{})
			assert.Equal(t, abi.StatusError, status)
			var e *abi.Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, "invalid_output", e.Code)
		})
	}
}

func TestOrchestrator_RefusesMixing(t *testing.T) {
	useRegistry(t)
	Reducer(abi.Computation{Name: "r"}, func(_ context.Context, s int, _ Event[int]) (int, []Intent, error) { return s, nil, nil })
	assert.PanicsWithValue(t, `sdk: Orchestrator "w": this plugin is already a reducer node (made one by Reducer "r"); `+
		"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two", func() {
		Orchestrator(abi.Computation{Name: "w"}, func(context.Context, abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
			return abi.OrchestrateOutput{}, nil
		})
	})
}
