package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

type schemaAddress struct {
	Street string `json:"street"`
	Zip    string `json:"zip,omitempty"`
}

type schemaBase struct {
	ID      string `json:"id"`
	Comment string `json:"comment,omitempty"` // shadowed by the outer Comment
}

type schemaOrder struct {
	schemaBase
	Comment  int                       `json:"comment"`
	Customer string                    `json:"customer"`
	Items    []schemaItem              `json:"items"`
	Tags     map[string]string         `json:"tags,omitempty"`
	Ship     *schemaAddress            `json:"ship"`
	Bill     schemaAddress             `json:"bill,omitzero"`
	Placed   time.Time                 `json:"placed"`
	Paid     *time.Time                `json:"paid,omitempty"`
	Blob     []byte                    `json:"blob,omitempty"`
	Count    int64                     `json:"count,string"`
	Small    int8                      `json:"small"`
	Unsigned uint                      `json:"unsigned"`
	Pair     [2]float64                `json:"pair"`
	Any      any                       `json:"any"`
	Raw      json.RawMessage           `json:"raw,omitempty"`
	Matrix   [][]int                   `json:"matrix,omitempty"`
	Nested   map[string][]schemaItem   `json:"nested,omitempty"`
	NoTag    bool                      //nolint:tagliatelle // the Go name is the JSON name
	Skipped  string                    `json:"-"`
	hidden   string                    //nolint:unused // unexported: never in the schema
	Ptrs     map[string]*schemaAddress `json:"ptrs,omitempty"`
}

type schemaItem struct {
	SKU string  `json:"sku"`
	Qty int     `json:"qty"`
	Fee float64 `json:"fee,omitempty"`
}

type schemaTree struct {
	Name     string       `json:"name"`
	Children []schemaTree `json:"children,omitempty"`
}

// TestSchemaOf_Golden derives the schemas of a set of types, input and output, and
// compares them with testdata/schema.golden.json (rewrite it with -update after a
// deliberate change, and review the diff).
func TestSchemaOf_Golden(t *testing.T) {
	_ = schemaOrder{}.hidden
	cases := []struct {
		name  string
		typ   reflect.Type
		input bool
	}{
		{"string input", reflect.TypeFor[string](), true},
		{"int output", reflect.TypeFor[int](), false},
		{"[]float64 input", reflect.TypeFor[[]float64](), true},
		{"map[string]int output", reflect.TypeFor[map[string]int](), false},
		{"order input", reflect.TypeFor[schemaOrder](), true},
		{"order output", reflect.TypeFor[schemaOrder](), false},
		{"*address input", reflect.TypeFor[*schemaAddress](), true},
		{"tree input (recursive)", reflect.TypeFor[schemaTree](), true},
		{"time input", reflect.TypeFor[time.Time](), true},
		{"any input", reflect.TypeFor[any](), true},
	}
	got := map[string]json.RawMessage{}
	for _, c := range cases {
		got[c.name] = deriveSchema(c.typ, c.input, c.input)
	}
	b, err := json.MarshalIndent(got, "", "  ")
	require.NoError(t, err)
	b = append(b, '\n')
	golden := filepath.Join("testdata", "schema.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, b, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(b))
	// Deterministic: a second derivation is byte for byte the same.
	assert.True(t, bytes.Equal(got["order input"], deriveSchema(reflect.TypeFor[schemaOrder](), true, true)))
}

func TestSchemaOf_RequiredAndClosed(t *testing.T) {
	var s struct {
		Required             []string       `json:"required"`
		AdditionalProperties *bool          `json:"additionalProperties"`
		Type                 []string       `json:"type"`
		Properties           map[string]any `json:"properties"`
	}
	require.NoError(t, json.Unmarshal(SchemaOf[schemaItem](true), &s))
	assert.Equal(t, []string{"sku", "qty"}, s.Required, "omitempty fields are optional")
	require.NotNil(t, s.AdditionalProperties)
	assert.False(t, *s.AdditionalProperties, "a typed input refuses unknown fields")
	assert.Equal(t, []string{"object", "null"}, s.Type, "null decodes as the zero value")

	s.AdditionalProperties, s.Type = nil, nil
	var out struct {
		AdditionalProperties *bool  `json:"additionalProperties"`
		Type                 string `json:"type"`
	}
	require.NoError(t, json.Unmarshal(SchemaOf[schemaItem](false), &out))
	assert.Nil(t, out.AdditionalProperties, "an output schema leaves objects open")
	assert.Equal(t, "object", out.Type)
}

func TestCompute_DerivesSchemasUnlessGiven(t *testing.T) {
	useRegistry(t)
	Describe(abi.Manifest{Name: "typed", Version: "1"})
	Compute(abi.Computation{Name: "typed"}, func(_ context.Context, in schemaItem) (int, error) { return in.Qty, nil })
	Compute(abi.Computation{Name: "loose"}, func(_ context.Context, in schemaItem) (int, error) { return in.Qty, nil }, AllowUnknownFields())
	given := abi.Computation{Name: "given"}
	given.InputSchema = json.RawMessage(`{"type":"string"}`)
	Compute(given, func(_ context.Context, in string) (string, error) { return in, nil })
	ComputeRaw(abi.Computation{Name: "raw"}, func(_ context.Context, data []byte) ([]byte, error) { return data, nil })
	m := Manifest()
	require.NoError(t, m.Validate())
	require.Len(t, m.Computations, 4)
	assert.JSONEq(t, string(SchemaOf[schemaItem](true)), string(m.Computations[0].InputSchema))
	assert.JSONEq(t, `{"type":"integer"}`, string(m.Computations[0].OutputSchema))
	assert.NotContains(t, string(m.Computations[1].InputSchema), "additionalProperties", "AllowUnknownFields leaves objects open")
	assert.JSONEq(t, `{"type":"string"}`, string(m.Computations[2].InputSchema), "a schema the author wrote is kept")
	assert.JSONEq(t, `{"type":"string"}`, string(m.Computations[2].OutputSchema))
	assert.Empty(t, m.Computations[3].InputSchema, "a raw computation has no type to derive from")
}

// BenchmarkSchemaOf is the init-time cost of deriving one computation's input schema
// (Compute does it once per registration), for a struct with nested types.
func BenchmarkSchemaOf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		SchemaOf[schemaOrder](true)
	}
}
