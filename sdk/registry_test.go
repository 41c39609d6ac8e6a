package sdk

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// useRegistry gives the test an empty package registry and restores the previous one
// (holding, for instance, example_test.go's registrations) when the test ends. Tests that
// use it must not run in parallel.
func useRegistry(tb testing.TB) *registry {
	tb.Helper()
	old := std
	std = newRegistry()
	tb.Cleanup(func() { std = old })
	return std
}

func TestManifest_Assembly(t *testing.T) {
	useRegistry(t)
	ComputeRaw(abi.Computation{Name: "first", Description: "one"}, echo)
	Describe(abi.Manifest{Name: "demo", Version: "0.1.0", Description: "a demo", Deterministic: true})
	Compute(abi.Computation{
		Name:        "second",
		InputSchema: json.RawMessage(`{"type":"string"}`),
	}, upper)

	m := Manifest()
	require.NoError(t, m.Validate())
	assert.Equal(t, "demo", m.Name)
	assert.Equal(t, abi.KindCompute, m.Kind, "empty Kind defaults to compute")
	assert.True(t, m.Deterministic)
	require.Len(t, m.Computations, 2)
	assert.Equal(t, "first", m.Computations[0].Name, "registration order, whatever Describe's place")
	assert.Equal(t, "one", m.Computations[0].Description)
	assert.Equal(t, "second", m.Computations[1].Name)
	assert.JSONEq(t, `{"type":"string"}`, string(m.Computations[1].InputSchema))

	m.Computations[1].InputSchema[0] = 'X'
	m.Computations = append(m.Computations, abi.Computation{Name: "third"})
	again := Manifest()
	assert.Len(t, again.Computations, 2, "Manifest returns a copy")
	assert.JSONEq(t, `{"type":"string"}`, string(again.Computations[1].InputSchema))
}

func TestManifest_BeforeDescribe(t *testing.T) {
	useRegistry(t)
	ComputeRaw(abi.Computation{Name: "only"}, echo)
	m := Manifest()
	assert.Empty(t, m.Name)
	require.Len(t, m.Computations, 1)
	assert.Equal(t, "only", m.Computations[0].Name)
}

func TestRegistration_Panics(t *testing.T) {
	tests := []struct {
		name  string
		setup func()
		call  func()
		want  string
	}{
		{
			name:  "duplicate typed",
			setup: func() { Compute(abi.Computation{Name: "dup"}, upper) },
			call:  func() { Compute(abi.Computation{Name: "dup"}, upper) },
			want:  `sdk: computation "dup" registered twice`,
		},
		{
			name:  "duplicate raw after typed",
			setup: func() { Compute(abi.Computation{Name: "dup"}, upper) },
			call:  func() { ComputeRaw(abi.Computation{Name: "dup"}, echo) },
			want:  `sdk: computation "dup" registered twice`,
		},
		{
			name: "invalid name",
			call: func() { Compute(abi.Computation{Name: "Bad Name"}, upper) },
			want: `sdk: computation name "Bad Name" must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit`,
		},
		{
			name: "empty name",
			call: func() { ComputeRaw(abi.Computation{}, echo) },
			want: `sdk: computation name "" must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit`,
		},
		{
			name: "nil typed function",
			call: func() { Compute[string, string](abi.Computation{Name: "x"}, nil) },
			want: `sdk: Compute "x": nil function`,
		},
		{
			name: "nil raw function",
			call: func() { ComputeRaw(abi.Computation{Name: "x"}, nil) },
			want: `sdk: ComputeRaw "x": nil function`,
		},
		{
			name:  "describe twice",
			setup: func() { Describe(abi.Manifest{Name: "a", Version: "1"}) },
			call:  func() { Describe(abi.Manifest{Name: "a", Version: "1"}) },
			want:  "sdk: Describe called twice",
		},
		{
			name: "describe listing computations",
			call: func() {
				Describe(abi.Manifest{Name: "a", Version: "1", Computations: []abi.Computation{{Name: "x"}}})
			},
			want: "sdk: Describe: leave Manifest.Computations empty; Compute and ComputeRaw fill it",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useRegistry(t)
			if tt.setup != nil {
				tt.setup()
			}
			assert.PanicsWithValue(t, tt.want, tt.call)
		})
	}
}
