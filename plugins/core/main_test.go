package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

func TestManifest(t *testing.T) {
	m := sdk.Manifest()
	b, err := json.Marshal(m)
	require.NoError(t, err)
	decoded, err := abi.DecodeManifest(b)
	require.NoError(t, err, "the manifest the host reads is valid")
	assert.Equal(t, "core", decoded.Name)
	assert.Equal(t, "1.0.0", decoded.Version)
	assert.Equal(t, abi.KindCompute, decoded.Kind)
	assert.True(t, decoded.Deterministic)
	assert.True(t, decoded.Idempotent)
	var names []string
	for _, c := range decoded.Computations {
		names = append(names, c.Name)
		assert.NotEmpty(t, c.Description, c.Name)
		assert.NotEmpty(t, c.InputSchema, c.Name)
		assert.NotEmpty(t, c.OutputSchema, c.Name)
	}
	assert.Equal(t, []string{"default", "string_uppercase", "sum_numbers", "stats", "sha256"}, names)
}

// TestDispatch runs each computation through the sdk, as the host would.
func TestDispatch(t *testing.T) {
	tests := []struct {
		name, computation, data string
		status                  abi.Status
		out                     string
	}{
		{name: "default", computation: "default", data: `{"k":[1,"two",null]}`, out: `{"k":[1,"two",null]}`},
		{name: "default null", computation: "default", data: ``, out: `null`},
		{name: "uppercase", computation: "string_uppercase", data: `"héllo"`, out: `"HÉLLO"`},
		{name: "sum", computation: "sum_numbers", data: `[1,2,3,4,5]`, out: `15`},
		{name: "sum rejects strings", computation: "sum_numbers", data: `["1"]`, status: abi.StatusInvalidInput},
		{name: "sha256", computation: "sha256", data: `"abc"`, out: `"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"`},
		{
			name: "stats", computation: "stats", data: `[5,4,3,2,1]`,
			out: `{"count":5,"sum":15,"min":1,"max":5,"mean":3,"median":3,"stddev":1.4142135623730951,"p90":4.6,"p99":4.96}`,
		},
		{
			name: "stats empty", computation: "stats", data: `[]`, status: abi.StatusError,
			out: `{"code":"invalid_input","message":"stats: needs a non-empty array of numbers, got an empty one"}`,
		},
		{name: "unknown", computation: "string_lowercase", data: `"x"`, status: abi.StatusUnknownComputation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := sdk.Dispatch(context.Background(), tt.computation, []byte(tt.data))
			assert.Equal(t, tt.status, status, string(out))
			if tt.out != "" {
				assert.Equal(t, tt.out, string(out))
			}
		})
	}
}
