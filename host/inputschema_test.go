package host_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/plugins/plugintest"
)

// orderSchema is a hand-written input schema, as a plugin in another language declares
// it in its manifest.
const orderSchema = `{"type":"object","required":["items"],"properties":{"items":{"type":"array",
	"items":{"type":"object","required":["qty"],"properties":{"qty":{"type":"integer"}}}}}}`

// typedEcho is the WAT echo plugin with a manifest section whose "default" declares
// schema by hand.
func typedEcho(t *testing.T, schema string) []byte {
	t.Helper()
	m := abi.Manifest{Name: "typed-echo", Version: "1.0.0", Kind: abi.KindCompute,
		Computations: []abi.Computation{{Name: "default", InputSchema: json.RawMessage(schema)}, {Name: "length"}}}
	section, err := json.Marshal(m)
	require.NoError(t, err)
	return abi.AppendCustomSection(append([]byte(nil), plugintest.Fixture(t, "wat/echo.wasm")...), abi.ManifestSection, section)
}

// TestInputSchema_DoorRefusesWithThePath: an input the hand-written schema refuses fails
// before the guest runs, as ErrInvalidInput with code invalid_input and the JSON Pointer
// of the value; the plugin goes on serving, a computation without a schema takes
// anything, and SkipInputValidation lets the input through to the guest.
func TestInputSchema_DoorRefusesWithThePath(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	p, err := h.Load(ctx, typedEcho(t, orderSchema), host.PluginConfig{})
	require.NoError(t, err)

	acquired := p.Stats().Acquired // the load's first instance
	tests := []struct {
		name, data, want string
	}{
		{"wrong type deep inside", `{"items":[{"qty":1},{"qty":2},{"qty":3},{"qty":"4"}]}`, `/items/3/qty: want integer, got string`},
		{"missing required", `{"items":[{}]}`, `/items/0: missing property 'qty'`},
		{"wrong top-level type", `[1]`, `/: want object, got array`},
		{"null", `null`, `/: want object, got null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Call(ctx, "default", []byte(tt.data))
			require.ErrorIs(t, err, host.ErrInvalidInput)
			var pe *host.PluginError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, host.CodeInvalidInput, pe.Code)
			assert.Zero(t, pe.Status, "the guest never ran")
			assert.Contains(t, pe.Message, tt.want)
			assert.Equal(t, "default", pe.Op)
		})
	}
	assert.Equal(t, acquired, p.Stats().Acquired, "no input the schema refuses reached the guest")

	good := `{"items":[{"qty":1}],"note":"kept"}`
	out, err := p.Call(ctx, "default", []byte(good))
	require.NoError(t, err, "the plugin keeps serving")
	assert.Equal(t, good, string(out))
	out, err = p.Call(ctx, "length", []byte(`"anything"`))
	require.NoError(t, err, "a computation without a schema takes any input")
	assert.Equal(t, "10", string(out))

	open, err := h.Load(ctx, typedEcho(t, orderSchema), host.PluginConfig{SkipInputValidation: true})
	require.NoError(t, err)
	bad := `{"items":[{"qty":"4"}]}`
	out, err = open.Call(ctx, "default", []byte(bad))
	require.NoError(t, err, "the opt-out lets the input through to the guest")
	assert.Equal(t, bad, string(out))
}

// TestInputSchema_LoadRefusesBadSchemas: a schema that is not a valid JSON Schema, refers
// to another document, or is past the size or depth limit fails the load (even with
// validation off), naming the computation.
func TestInputSchema_LoadRefusesBadSchemas(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	deep := strings.Repeat(`{"items":`, host.MaxSchemaDepth) + `{}` + strings.Repeat(`}`, host.MaxSchemaDepth)
	big := `{"description":"` + strings.Repeat("x", host.MaxSchemaBytes) + `"}`
	tests := []struct {
		name, schema, want string
		cfg                host.PluginConfig
	}{
		{name: "unknown type", schema: `{"type":"integr"}`, want: `computations[0] "default": input_schema:`},
		{name: "minimum not a number", schema: `{"minimum":"1"}`, want: "input_schema"},
		{name: "remote $ref", schema: `{"$ref":"https://schemas.example.com/order.json"}`, want: "only references inside it"},
		{name: "file $ref", schema: `{"$ref":"file:///etc/passwd"}`, want: "only references inside it"},
		{name: "dangling local $ref", schema: `{"$ref":"#/$defs/missing"}`, want: "input_schema"},
		{name: "too deep", schema: deep, want: "more than the limit of 64"},
		{name: "too big", schema: big, want: "-byte limit"},
		{name: "invalid with validation off", schema: `{"type":"integr"}`, want: "input_schema", cfg: host.PluginConfig{SkipInputValidation: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.Load(context.Background(), typedEcho(t, tt.schema), tt.cfg)
			require.ErrorIs(t, err, host.ErrInvalidManifest)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	// A schema just within both limits loads.
	ok := strings.Repeat(`{"items":`, host.MaxSchemaDepth-1) + `{}` + strings.Repeat(`}`, host.MaxSchemaDepth-1)
	_, err := h.Load(context.Background(), typedEcho(t, ok), host.PluginConfig{})
	require.NoError(t, err)
}

// TestInputSchema_GoGuests: the schemas the SDK derives from Go types are enforced at
// the door of a compute node and of a reducer's event data.
func TestInputSchema_GoGuests(t *testing.T) {
	h, _ := newHost(t, host.NewConfig())
	ctx := context.Background()
	core := loadGo(t, h, "plugins/core", host.PluginConfig{})
	m := core.Manifest()
	c, ok := m.Computation("sum_numbers")
	require.True(t, ok)
	assert.Contains(t, string(c.InputSchema), `"items":{"type":"number"}`)
	_, err := core.Call(ctx, "sum_numbers", []byte(`[1,"2",3]`))
	require.ErrorIs(t, err, host.ErrInvalidInput)
	assert.ErrorContains(t, err, `/1: want number, got string`)
	out, err := core.Call(ctx, "sum_numbers", []byte(`[1,2,3]`))
	require.NoError(t, err)
	assert.Equal(t, "6", string(out))

	counter := loadGo(t, h, "plugins/testdata/counter", host.PluginConfig{})
	_, err = reduce(t, counter, "sum", abi.ReduceInput{Reduction: "sum", Key: "k", Sequence: 1, State: json.RawMessage("null"),
		Event: abi.ReduceEvent{EventID: "e1", Type: "add", Data: json.RawMessage(`"7"`)}})
	require.ErrorIs(t, err, host.ErrInvalidInput)
	assert.ErrorContains(t, err, `event data does not match the input schema: /: want null or integer, got string`)
	o, err := reduce(t, counter, "sum", abi.ReduceInput{Reduction: "sum", Key: "k", Sequence: 1, State: json.RawMessage("null"),
		Event: abi.ReduceEvent{EventID: "e1", Type: "add", Data: json.RawMessage(`7`)}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"count":7}`, string(o.State))
}
