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

func TestManifest_EffectAssembly(t *testing.T) {
	tests := []struct {
		name     string
		register func()
	}{
		{
			name: "describe as effect first",
			register: func() {
				Describe(abi.Manifest{Name: "files", Version: "1.0.0", Kind: abi.KindEffect,
					Capabilities: []abi.Capability{abi.CapabilityFS}})
				Effect(abi.Computation{Name: "write", InputSchema: json.RawMessage(`{"type":"object"}`)}, upper)
				EffectRaw(abi.Computation{Name: "touch"}, echo)
				Compensation("undo_touch", undo)
			},
		},
		{
			name: "empty kind set by the first effect",
			register: func() {
				Effect(abi.Computation{Name: "write", InputSchema: json.RawMessage(`{"type":"object"}`)}, upper)
				Describe(abi.Manifest{Name: "files", Version: "1.0.0", Capabilities: []abi.Capability{abi.CapabilityFS}})
				EffectRaw(abi.Computation{Name: "touch"}, echo)
			},
		},
		{
			name: "empty kind set by a compensation",
			register: func() {
				Compensation("undo_touch", undo)
				Describe(abi.Manifest{Name: "files", Version: "1.0.0", Capabilities: []abi.Capability{abi.CapabilityFS}})
				Effect(abi.Computation{Name: "write", InputSchema: json.RawMessage(`{"type":"object"}`)}, upper)
				EffectRaw(abi.Computation{Name: "touch"}, echo)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			useRegistry(t)
			tt.register()
			m := Manifest()
			require.NoError(t, m.Validate())
			assert.Equal(t, abi.KindEffect, m.Kind)
			assert.Empty(t, m.Computations, "an effect node lists effects, not computations")
			require.Len(t, m.Effects, 2)
			assert.Equal(t, "write", m.Effects[0].Name)
			assert.JSONEq(t, `{"type":"object"}`, string(m.Effects[0].InputSchema))
			assert.Equal(t, "touch", m.Effects[1].Name)
			assert.Equal(t, []abi.Capability{abi.CapabilityFS}, m.Capabilities)

			m.Effects[0].InputSchema[0] = 'X'
			assert.JSONEq(t, `{"type":"object"}`, string(Manifest().Effects[0].InputSchema), "Manifest returns a copy")
		})
	}
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
			want: "sdk: Describe: leave Manifest.Computations and Manifest.Effects empty; the registrations fill them",
		},
		{
			name: "describe listing effects",
			call: func() {
				Describe(abi.Manifest{Name: "a", Version: "1", Kind: abi.KindEffect, Effects: []abi.Computation{{Name: "x"}}})
			},
			want: "sdk: Describe: leave Manifest.Computations and Manifest.Effects empty; the registrations fill them",
		},
		{
			name:  "effect after compute",
			setup: func() { Compute(abi.Computation{Name: "c"}, upper) },
			call:  func() { Effect(abi.Computation{Name: "e"}, upper) },
			want: `sdk: Effect "e": this plugin is already a compute node (made one by Compute "c"); ` +
				"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two",
		},
		{
			name:  "raw compute after raw effect",
			setup: func() { EffectRaw(abi.Computation{Name: "e"}, echo) },
			call:  func() { ComputeRaw(abi.Computation{Name: "c"}, echo) },
			want: `sdk: ComputeRaw "c": this plugin is already an effect node (made one by EffectRaw "e"); ` +
				"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two",
		},
		{
			name:  "effect in a node described as compute",
			setup: func() { Describe(abi.Manifest{Name: "a", Version: "1", Kind: abi.KindCompute}) },
			call:  func() { EffectRaw(abi.Computation{Name: "e"}, echo) },
			want: `sdk: EffectRaw "e": this plugin is already a compute node (made one by Describe); ` +
				"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two",
		},
		{
			name:  "compute in a node described as effect",
			setup: func() { Describe(abi.Manifest{Name: "a", Version: "1", Kind: abi.KindEffect}) },
			call:  func() { Compute(abi.Computation{Name: "c"}, upper) },
			want: `sdk: Compute "c": this plugin is already an effect node (made one by Describe); ` +
				"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two",
		},
		{
			name:  "describe as compute after an effect",
			setup: func() { Effect(abi.Computation{Name: "e"}, upper) },
			call:  func() { Describe(abi.Manifest{Name: "a", Version: "1", Kind: abi.KindCompute}) },
			want: `sdk: Describe: this plugin is already an effect node (made one by Effect "e"); ` +
				"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two",
		},
		{
			name:  "compensation in a compute node",
			setup: func() { Compute(abi.Computation{Name: "c"}, upper) },
			call:  func() { Compensation("undo", undo) },
			want: `sdk: Compensation "undo": this plugin is already a compute node (made one by Compute "c"); ` +
				"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two",
		},
		{
			name:  "compute after a compensation",
			setup: func() { Compensation("undo", undo) },
			call:  func() { Compute(abi.Computation{Name: "c"}, upper) },
			want: `sdk: Compute "c": this plugin is already an effect node (made one by Compensation "undo"); ` +
				"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two",
		},
		{
			name:  "duplicate effect",
			setup: func() { Effect(abi.Computation{Name: "dup"}, upper) },
			call:  func() { EffectRaw(abi.Computation{Name: "dup"}, echo) },
			want:  `sdk: effect "dup" registered twice`,
		},
		{
			name: "invalid effect name",
			call: func() { EffectRaw(abi.Computation{Name: "Write File"}, echo) },
			want: `sdk: effect name "Write File" must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit`,
		},
		{
			name: "nil typed effect",
			call: func() { Effect[string, string](abi.Computation{Name: "x"}, nil) },
			want: `sdk: Effect "x": nil function`,
		},
		{
			name: "nil raw effect",
			call: func() { EffectRaw(abi.Computation{Name: "x"}, nil) },
			want: `sdk: EffectRaw "x": nil function`,
		},
		{
			name:  "duplicate compensation",
			setup: func() { Compensation("undo", undo) },
			call:  func() { Compensation("undo", undo) },
			want:  `sdk: compensation "undo" registered twice`,
		},
		{
			name: "invalid compensation name",
			call: func() { Compensation("", undo) },
			want: `sdk: compensation name "" must be 1-64 characters of [a-z0-9_.-] starting with a letter or digit`,
		},
		{
			name: "nil compensation",
			call: func() { Compensation("undo", nil) },
			want: `sdk: Compensation "undo": nil function`,
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
