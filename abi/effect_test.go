package abi_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestEffectInput_JSON(t *testing.T) {
	in, err := abi.DecodeEffectInput([]byte(`{"effect_type":"file_operation","operation_data":{"path":"/x"},
		"operation_id":"op-1","transaction_enabled":false,"max_retries":5,"retry_delay_ms":10,"timeout_ms":2000}`))
	require.NoError(t, err)
	five, ten := 5, int64(10)
	assert.Equal(t, abi.EffectInput{EffectType: "file_operation", OperationData: json.RawMessage(`{"path":"/x"}`),
		OperationID: "op-1", NoTransaction: true, MaxRetries: &five, RetryDelayMS: &ten, TimeoutMS: 2000}, in)

	// Missing *_enabled fields mean true, as in ONEX.
	in, err = abi.DecodeEffectInput([]byte(`{"effect_type":"default"}`))
	require.NoError(t, err)
	assert.False(t, in.NoTransaction || in.NoRetry || in.NoCircuitBreaker)
	assert.Equal(t, abi.DefaultEffect, in.Effect())

	b, err := json.Marshal(abi.EffectInput{NoRetry: true})
	require.NoError(t, err)
	assert.JSONEq(t, `{"effect_type":"default","operation_data":null,"transaction_enabled":true,"retry_enabled":false,"circuit_breaker_enabled":true}`, string(b))
	back, err := abi.DecodeEffectInput(b)
	require.NoError(t, err)
	assert.True(t, back.NoRetry)

	_, err = abi.DecodeEffectInput([]byte(`{"effect_type":"x"} {}`))
	assert.ErrorContains(t, err, "trailing data")
	_, err = abi.DecodeEffectInput([]byte(`{"operation_data":1}`))
	assert.ErrorIs(t, err, abi.ErrInvalidEnvelope)
	assert.ErrorContains(t, err, "effect_type is missing")
	_, err = abi.DecodeEffectInput([]byte(`{"effect_type":"x","data":1}`))
	assert.ErrorIs(t, err, abi.ErrInvalidEnvelope)
	assert.ErrorContains(t, err, `unknown field "data"`)
	_, err = abi.DecodeEffectInput([]byte("{\"effect_type\":\"x\",\"operation_data\":\"\xff\"}"))
	assert.ErrorIs(t, err, abi.ErrInvalidEnvelope)
	_, err = abi.DecodeEffectInput([]byte(`[`))
	assert.Error(t, err)
}

func TestCapabilityOf(t *testing.T) {
	for op, want := range map[string]abi.Capability{
		abi.OpFSRead: abi.CapabilityFS, abi.OpFSMkdir: abi.CapabilityFS, abi.OpKVList: abi.CapabilityKV,
		abi.OpHTTPRequest: abi.CapabilityHTTP, abi.OpEventsPublish: abi.CapabilityEvents,
	} {
		c, ok := abi.CapabilityOf(op)
		assert.True(t, ok, op)
		assert.Equal(t, want, c, op)
	}
	_, ok := abi.CapabilityOf(abi.OpTxCompensate)
	assert.False(t, ok)
	_, ok = abi.CapabilityOf("fs.format")
	assert.False(t, ok)
}
