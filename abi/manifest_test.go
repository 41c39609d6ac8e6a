package abi_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

// manifestDoc returns a valid compute manifest that uses every field, as a generic JSON
// document a test case can break one rule of.
func manifestDoc() map[string]any {
	return map[string]any{
		"name":        "core",
		"version":     "1.0.0",
		"kind":        "compute",
		"description": "ONEX built-in computations",
		"computations": []any{
			map[string]any{
				"name":          "sum_numbers",
				"description":   "Sum a list of numbers",
				"input_schema":  map[string]any{"type": "array", "items": map[string]any{"type": "number"}},
				"output_schema": map[string]any{"type": "number"},
			},
			map[string]any{"name": "default"},
		},
		"deterministic": true,
		"idempotent":    true,
		"timeout_ms":    1000,
		"capabilities":  []any{"kv", "events"},
		"publishes":     []any{"onex.evt.core.summed.v1"},
	}
}

// manifestJSON encodes manifestDoc after edit (which may be nil) has changed it.
func manifestJSON(tb testing.TB, edit func(doc map[string]any)) []byte {
	tb.Helper()
	doc := manifestDoc()
	if edit != nil {
		edit(doc)
	}
	b, err := json.Marshal(doc)
	require.NoError(tb, err)
	return b
}

// computation returns the i-th computation of a manifestDoc for editing.
func computation(doc map[string]any, i int) map[string]any {
	return doc["computations"].([]any)[i].(map[string]any)
}

func TestDecodeManifest(t *testing.T) {
	full := abi.Manifest{
		Name:        "core",
		Version:     "1.0.0",
		Kind:        abi.KindCompute,
		Description: "ONEX built-in computations",
		Computations: []abi.Computation{
			{
				Name:         "sum_numbers",
				Description:  "Sum a list of numbers",
				InputSchema:  json.RawMessage(`{"items":{"type":"number"},"type":"array"}`),
				OutputSchema: json.RawMessage(`{"type":"number"}`),
			},
			{Name: "default"},
		},
		Deterministic: true,
		Idempotent:    true,
		TimeoutMS:     1000,
		Capabilities:  []abi.Capability{abi.CapabilityKV, abi.CapabilityEvents},
		Publishes:     []string{"onex.evt.core.summed.v1"},
	}
	valid := manifestJSON(t, nil)

	// padTo pads b with trailing whitespace (which DecodeManifest ignores) to n bytes.
	padTo := func(b []byte, n int) []byte {
		return append(bytes.Clone(b), bytes.Repeat([]byte(" "), n-len(b))...)
	}

	tests := []struct {
		name  string
		input []byte
		want  *abi.Manifest // checked when non-nil and wantErr is empty
		// wantErr is a fragment the error message must contain (the field it names);
		// empty means the manifest is valid.
		wantErr string
	}{
		{name: "valid full manifest", input: valid, want: &full},
		{
			name:  "valid spec example",
			input: []byte(`{"name": "core", "version": "1.0.0", "kind": "compute", "computations": [{"name": "sum_numbers"}], "capabilities": [], "publishes": []}`),
		},
		{
			name:  "valid effect",
			input: []byte(`{"name":"mailer","version":"0.1","kind":"effect","effects":[{"name":"send"}],"capabilities":["http"]}`),
			want: &abi.Manifest{Name: "mailer", Version: "0.1", Kind: abi.KindEffect, Effects: []abi.Computation{{Name: "send"}},
				Capabilities: []abi.Capability{abi.CapabilityHTTP}},
		},
		{name: "valid timeout zero", input: manifestJSON(t, func(d map[string]any) { d["timeout_ms"] = 0 })},
		{name: "valid timeout max", input: manifestJSON(t, func(d map[string]any) { d["timeout_ms"] = 86_400_000 })},
		{name: "valid surrounding whitespace", input: append(append([]byte("\n\t "), valid...), "\r\n "...)},
		{name: "valid at exactly the size limit", input: padTo(valid, abi.MaxManifestSize)},

		{name: "not UTF-8", input: []byte(`{"name":"core","version":"1` + "\xff" + `","kind":"compute","computations":[{"name":"default"}]}`), wantErr: "UTF-8 (at byte 27)"},
		{name: "bad name uppercase", input: manifestJSON(t, func(d map[string]any) { d["name"] = "Core" }), wantErr: "name"},
		{name: "bad name empty", input: manifestJSON(t, func(d map[string]any) { d["name"] = "" }), wantErr: "name"},
		{name: "bad name missing", input: manifestJSON(t, func(d map[string]any) { delete(d, "name") }), wantErr: "name"},
		{name: "bad name leading dash", input: manifestJSON(t, func(d map[string]any) { d["name"] = "-core" }), wantErr: "name"},
		{name: "bad name too long", input: manifestJSON(t, func(d map[string]any) { d["name"] = strings.Repeat("a", 65) }), wantErr: "name"},
		{name: "bad name type", input: manifestJSON(t, func(d map[string]any) { d["name"] = 7 }), wantErr: "name"},
		{name: "empty version", input: manifestJSON(t, func(d map[string]any) { d["version"] = "" }), wantErr: "version"},
		{name: "missing version", input: manifestJSON(t, func(d map[string]any) { delete(d, "version") }), wantErr: "version"},
		{name: "version too long", input: manifestJSON(t, func(d map[string]any) { d["version"] = strings.Repeat("1", 65) }), wantErr: "version"},
		{name: "bad kind", input: manifestJSON(t, func(d map[string]any) { d["kind"] = "source" }), wantErr: "kind"},
		{name: "bad kind case", input: manifestJSON(t, func(d map[string]any) { d["kind"] = "Compute" }), wantErr: "kind"},
		{name: "missing kind", input: manifestJSON(t, func(d map[string]any) { delete(d, "kind") }), wantErr: "kind"},
		{name: "compute with no computations", input: manifestJSON(t, func(d map[string]any) { delete(d, "computations") }), wantErr: "computation"},
		{name: "compute with empty computations", input: manifestJSON(t, func(d map[string]any) { d["computations"] = []any{} }), wantErr: "computation"},
		{
			name:    "duplicate computation names",
			input:   manifestJSON(t, func(d map[string]any) { computation(d, 1)["name"] = "sum_numbers" }),
			wantErr: "computations[1].name",
		},
		{name: "bad computation name", input: manifestJSON(t, func(d map[string]any) { computation(d, 0)["name"] = "Sum Numbers" }), wantErr: "computations[0].name"},
		{name: "empty computation name", input: manifestJSON(t, func(d map[string]any) { computation(d, 1)["name"] = "" }), wantErr: "computations[1].name"},
		{name: "input schema a string", input: manifestJSON(t, func(d map[string]any) { computation(d, 0)["input_schema"] = "number" }), wantErr: "computations[0].input_schema"},
		{name: "output schema an array", input: manifestJSON(t, func(d map[string]any) { computation(d, 0)["output_schema"] = []any{1} }), wantErr: "computations[0].output_schema"},
		{name: "schema a boolean", input: manifestJSON(t, func(d map[string]any) { computation(d, 1)["input_schema"] = true }), wantErr: "computations[1].input_schema"},
		{name: "negative timeout", input: manifestJSON(t, func(d map[string]any) { d["timeout_ms"] = -1 }), wantErr: "timeout_ms"},
		{name: "too large timeout", input: manifestJSON(t, func(d map[string]any) { d["timeout_ms"] = 86_400_001 }), wantErr: "timeout_ms"},
		{name: "fractional timeout", input: manifestJSON(t, func(d map[string]any) { d["timeout_ms"] = 1.5 }), wantErr: "timeout_ms"},
		{name: "unknown capability", input: manifestJSON(t, func(d map[string]any) { d["capabilities"] = []any{"net"} }), wantErr: "capabilities[0]"},
		{name: "capability wrong case", input: manifestJSON(t, func(d map[string]any) { d["capabilities"] = []any{"events", "KV"} }), wantErr: "capabilities[1]"},
		{
			name:    "duplicate capability",
			input:   manifestJSON(t, func(d map[string]any) { d["capabilities"] = []any{"kv", "events", "kv"} }),
			wantErr: "capabilities[2]",
		},
		{name: "bad topic without version", input: manifestJSON(t, func(d map[string]any) { d["publishes"] = []any{"onex.evt.core.summed"} }), wantErr: "publishes[0]"},
		{
			name:    "bad topic version zero",
			input:   manifestJSON(t, func(d map[string]any) { d["publishes"] = []any{"onex.evt.core.summed.v1", "onex.evt.core.summed.v0"} }),
			wantErr: "publishes[1]",
		},
		{name: "bad topic prefix", input: manifestJSON(t, func(d map[string]any) { d["publishes"] = []any{"evt.core.summed.v1"} }), wantErr: "publishes[0]"},
		{name: "bad topic uppercase", input: manifestJSON(t, func(d map[string]any) { d["publishes"] = []any{"onex.evt.Core.summed.v1"} }), wantErr: "publishes[0]"},
		{
			name:    "publishes without events capability",
			input:   manifestJSON(t, func(d map[string]any) { d["capabilities"] = []any{"kv"} }),
			wantErr: "publishes",
		},
		{name: "unknown field", input: manifestJSON(t, func(d map[string]any) { d["purity"] = true }), wantErr: "purity"},
		{name: "unknown computation field", input: manifestJSON(t, func(d map[string]any) { computation(d, 0)["schema"] = map[string]any{} }), wantErr: "schema"},
		{name: "trailing object", input: append(bytes.Clone(valid), " {}"...), wantErr: "trailing data"},
		{name: "trailing garbage", input: append(bytes.Clone(valid), "x"...), wantErr: "trailing data"},
		{
			name:    "trailing closing brace",
			input:   append(bytes.Clone(valid), "}"...),
			wantErr: "trailing data",
		},
		{
			name:    "trailing closing bracket",
			input:   append(bytes.Clone(valid), " ]"...),
			wantErr: "trailing data",
		},
		{name: "oversize", input: padTo(valid, abi.MaxManifestSize+1), wantErr: "limit"},
		{name: "empty input", input: nil, wantErr: "EOF"},
		{name: "not an object", input: []byte(`["core"]`), wantErr: "cannot unmarshal"},
		{name: "truncated object", input: valid[:len(valid)-1], wantErr: "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := abi.DecodeManifest(tt.input)
			if tt.wantErr != "" {
				require.ErrorIs(t, err, abi.ErrInvalidManifest)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Equal(t, abi.Manifest{}, got, "a failed decode returns the zero Manifest")
				return
			}
			require.NoError(t, err)
			require.NoError(t, got.Validate())
			if tt.want != nil {
				assert.Equal(t, *tt.want, got)
			}
		})
	}
}

func TestManifest_Validate(t *testing.T) {
	fx := []abi.Computation{{Name: "write"}}
	tests := []struct {
		name    string
		m       abi.Manifest
		wantErr string
	}{
		{name: "minimal effect", m: abi.Manifest{Name: "fx", Version: "1", Kind: abi.KindEffect, Effects: fx}},
		{name: "effect without effects", m: abi.Manifest{Name: "fx", Version: "1", Kind: abi.KindEffect}, wantErr: "at least one effect"},
		{name: "effect with computations", m: abi.Manifest{Name: "fx", Version: "1", Kind: abi.KindEffect, Effects: fx,
			Computations: []abi.Computation{{Name: "c"}}}, wantErr: "not computations"},
		{name: "compute with effects", m: abi.Manifest{Name: "c", Version: "1", Kind: abi.KindCompute,
			Computations: []abi.Computation{{Name: "c"}}, Effects: fx}, wantErr: "not effects"},
		{name: "effect named twice", m: abi.Manifest{Name: "fx", Version: "1", Kind: abi.KindEffect,
			Effects: []abi.Computation{{Name: "a"}, {Name: "a"}}}, wantErr: "effects[1].name"},
		{name: "minimal compute", m: abi.Manifest{Name: "c", Version: "1", Kind: abi.KindCompute, Computations: []abi.Computation{{Name: "default"}}}},
		{name: "zero value", m: abi.Manifest{}, wantErr: "name"},
		{name: "version of 64 bytes", m: abi.Manifest{Name: "fx", Version: strings.Repeat("v", 64), Kind: abi.KindEffect, Effects: fx}},
		{
			name:    "publishes with events granted",
			m:       abi.Manifest{Name: "fx", Version: "1", Kind: abi.KindEffect, Effects: fx, Capabilities: []abi.Capability{abi.CapabilityEvents}, Publishes: []string{"onex.evt.a-b.c_d.v10"}},
			wantErr: "",
		},
		{
			name:    "schema not an object",
			m:       abi.Manifest{Name: "c", Version: "1", Kind: abi.KindCompute, Computations: []abi.Computation{{Name: "x", OutputSchema: json.RawMessage(`"number"`)}}},
			wantErr: "computations[0].output_schema",
		},
		{
			name:    "schema not JSON",
			m:       abi.Manifest{Name: "c", Version: "1", Kind: abi.KindCompute, Computations: []abi.Computation{{Name: "x", InputSchema: json.RawMessage(`{`)}}},
			wantErr: "computations[0].input_schema",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.Validate()
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, abi.ErrInvalidManifest)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
}

func TestManifest_Computation(t *testing.T) {
	m := abi.Manifest{Computations: []abi.Computation{
		{Name: "sum_numbers", Description: "first"},
		{Name: "default"},
		{Name: "sum_numbers", Description: "shadowed"}, // invalid, but Computation returns the first
	}}
	tests := []struct {
		name   string
		m      abi.Manifest
		lookup string
		want   abi.Computation
		wantOK bool
	}{
		{name: "first", m: m, lookup: "sum_numbers", want: abi.Computation{Name: "sum_numbers", Description: "first"}, wantOK: true},
		{name: "second", m: m, lookup: "default", want: abi.Computation{Name: "default"}, wantOK: true},
		{name: "absent", m: m, lookup: "mean", wantOK: false},
		{name: "empty name", m: m, lookup: "", wantOK: false},
		{name: "case sensitive", m: m, lookup: "Default", wantOK: false},
		{name: "no computations", m: abi.Manifest{}, lookup: "default", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.m.Computation(tt.lookup)
			assert.Equal(t, tt.wantOK, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestManifest_Timeout(t *testing.T) {
	tests := []struct {
		name      string
		timeoutMS int64
		want      time.Duration
	}{
		{name: "unset", timeoutMS: 0, want: 0},
		{name: "one second", timeoutMS: 1000, want: time.Second},
		{name: "max", timeoutMS: 86_400_000, want: 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := abi.Manifest{TimeoutMS: tt.timeoutMS}
			assert.Equal(t, tt.want, m.Timeout())
		})
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{name: "one letter", in: "a", want: true},
		{name: "one digit", in: "0", want: true},
		{name: "word", in: "sum_numbers", want: true},
		{name: "all punctuation", in: "a.b-c_d", want: true},
		{name: "digit first", in: "3d.render", want: true},
		{name: "64 characters", in: strings.Repeat("a", 64), want: true},
		{name: "65 characters", in: strings.Repeat("a", 65), want: false},
		{name: "empty", in: "", want: false},
		{name: "uppercase", in: "Sum", want: false},
		{name: "leading underscore", in: "_a", want: false},
		{name: "leading dot", in: ".a", want: false},
		{name: "leading dash", in: "-a", want: false},
		{name: "space", in: "a b", want: false},
		{name: "slash", in: "a/b", want: false},
		{name: "non-ASCII", in: "café", want: false},
		{name: "trailing newline", in: "a\n", want: false},
		{name: "NUL", in: "a\x00", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, abi.ValidName(tt.in))
		})
	}
}
