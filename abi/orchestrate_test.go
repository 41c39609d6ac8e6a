package abi_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestDecodeOrchestrateInput(t *testing.T) {
	in, err := abi.DecodeOrchestrateInput([]byte(`{"workflow":"w","workflow_id":"id-1","input":{"n":1},
		"steps":[{"call":{"id":"a","kind":"compute","node":"echo"},"status":"completed","attempt":1,"output":2}],
		"memo":null}`))
	require.NoError(t, err)
	assert.Equal(t, "id-1", in.WorkflowID)
	require.Len(t, in.Steps, 1)
	assert.Equal(t, abi.StepCompleted, in.Steps[0].Status)
	assert.JSONEq(t, `2`, string(in.Steps[0].Output))

	for name, doc := range map[string]string{
		"no memo":        `{"workflow":"w","workflow_id":"i","input":null,"steps":[]}`,
		"no steps":       `{"workflow":"w","workflow_id":"i","input":null,"memo":null}`,
		"unknown field":  `{"workflow":"w","workflow_id":"i","input":null,"steps":[],"memo":null,"x":1}`,
		"unknown nested": `{"workflow":"w","workflow_id":"i","input":null,"steps":[{"call":{"id":"a","kind":"compute","node":"n","x":1},"status":"running","attempt":1}],"memo":null}`,
		"not an object":  `[]`,
	} {
		_, err := abi.DecodeOrchestrateInput([]byte(doc))
		assert.ErrorIs(t, err, abi.ErrInvalidEnvelope, name)
	}
}

func TestDecodeOrchestrateOutput(t *testing.T) {
	out, err := abi.DecodeOrchestrateOutput([]byte(`{"run":[
		{"id":"charge","kind":"effect","node":"payments","operation":"charge","input":{"cents":5},
		 "retry":{"max_attempts":3,"delay_ms":100},"compensate":{"node":"payments","effect_type":"refund"}},
		{"id":"count","kind":"reduce","node":"orders","key":"o-1","operation":"paid"}],
		"skip":[{"call":{"id":"notify","kind":"effect","node":"mail"},"reason":"if_false"}],"memo":{"round":1}}`))
	require.NoError(t, err)
	require.Len(t, out.Run, 2)
	assert.Equal(t, 3, out.Run[0].Retry.MaxAttempts)
	assert.Equal(t, "refund", out.Run[0].Compensate.EffectType)
	assert.Equal(t, "if_false", out.Skip[0].Reason)

	out, err = abi.DecodeOrchestrateOutput([]byte(`{"complete":{"output":[1,2]}}`))
	require.NoError(t, err)
	assert.JSONEq(t, `[1,2]`, string(out.Complete.Output))

	for name, c := range map[string]struct{ doc, says string }{
		"both ends":        {`{"complete":{},"fail":{"message":"x"}}`, "both"},
		"run and end":      {`{"run":[{"id":"a","kind":"compute","node":"n"}],"complete":{}}`, "run given"},
		"empty failure":    {`{"fail":{"message":""}}`, "fail.message"},
		"duplicate id":     {`{"run":[{"id":"a","kind":"compute","node":"n"}],"skip":[{"call":{"id":"a","kind":"compute","node":"n"},"reason":"r"}]}`, `"a" is also run[0]`},
		"bad kind":         {`{"run":[{"id":"a","kind":"script","node":"n"}]}`, `run[0]: kind "script"`},
		"reduce sans key":  {`{"run":[{"id":"a","kind":"reduce","node":"n"}]}`, "key is missing"},
		"bad id":           {`{"run":[{"id":"A B","kind":"compute","node":"n"}]}`, `id "A B"`},
		"no attempts":      {`{"run":[{"id":"a","kind":"compute","node":"n","retry":{"max_attempts":0}}]}`, "max_attempts"},
		"compensate nodes": {`{"run":[{"id":"a","kind":"compute","node":"n","compensate":{"node":"n","effect_type":"u"}}]}`, "effect steps only"},
		"unknown field":    {`{"run":[],"next":[]}`, `unknown field "next"`},
	} {
		_, err := abi.DecodeOrchestrateOutput([]byte(c.doc))
		require.ErrorIs(t, err, abi.ErrInvalidEnvelope, name)
		assert.Contains(t, err.Error(), c.says, name)
	}
}

func TestStepOperationID(t *testing.T) {
	assert.Equal(t, "workflow:order-7:charge:2", abi.StepOperationID("order-7", "charge", 2))
	// A colon in the workflow id cannot make two different steps share an id.
	assert.NotEqual(t, abi.StepOperationID("a:b", "c", 1), abi.StepOperationID("a", "b:c", 1))
	assert.Equal(t, "workflow:a%3Ab%25:c:0", abi.StepOperationID("a:b%", "c", 0))
}

func TestManifest_Orchestrator(t *testing.T) {
	m := abi.Manifest{Name: "orders", Version: "1", Kind: abi.KindOrchestrator,
		Computations: []abi.Computation{{Name: "checkout"}}}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	_, err = abi.DecodeManifest(b)
	require.NoError(t, err)

	m.Computations = nil
	b, err = json.Marshal(m)
	require.NoError(t, err)
	_, err = abi.DecodeManifest(b)
	assert.ErrorContains(t, err, "at least one workflow")
}
