package sdk

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

type order struct {
	ID    string `json:"id"`
	Items []item `json:"items"`
}

type item struct {
	SKU string `json:"sku"`
	N   int    `json:"n"`
}

type stamped struct {
	At time.Time `json:"at"`
}

// inputDoorCases are the typed-input cases shared by Compute and Effect: name is the
// registered handler, data its input.
var inputDoorCases = []struct {
	name, handler, data string
	status              abi.Status
	out                 string   // the result, with StatusOK
	contains            []string // parts of the error message otherwise
}{
	{name: "exact struct", handler: "order", data: `{"id":"o1","items":[{"sku":"a","n":2}]}`, out: `"o1:1"`},
	{name: "misspelled field", handler: "order", data: `{"ID":"o1","itemz":[]}`, status: abi.StatusInvalidInput, contains: []string{`unknown field "itemz"`, "sdk.order"}},
	{name: "unknown nested field", handler: "order", data: `{"id":"o1","items":[{"sku":"a","count":2}]}`, status: abi.StatusInvalidInput, contains: []string{`unknown field "count"`}},
	{name: "unknown field in a slice of structs", handler: "orders", data: `[{"id":"o1","extra":1}]`, status: abi.StatusInvalidInput, contains: []string{`unknown field "extra"`}},
	{name: "trailing data", handler: "order", data: `{"id":"o1"} {}`, status: abi.StatusInvalidInput, contains: []string{"trailing data"}},
	{name: "opt-out ignores unknown fields", handler: "lenient", data: `{"id":"o1","itemz":[]}`, out: `"o1:0"`},
	{name: "map input takes any key", handler: "map", data: `{"anything":1}`, out: `1`},
	{name: "a type that decodes itself", handler: "stamped", data: `{"at":"2026-12-05T00:00:00Z"}`, out: `2026`},
	{name: "a type that decodes itself, unknown field", handler: "stamped", data: `{"at":"2026-12-05T00:00:00Z","zone":"x"}`, status: abi.StatusInvalidInput, contains: []string{`unknown field "zone"`}},
	{name: "null leaves the zero value", handler: "order", data: ``, out: `":0"`},
	{name: "string input", handler: "upper", data: `"abc"`, out: `"ABC"`},
	{name: "string input of the wrong type", handler: "upper", data: `{"s":"abc"}`, status: abi.StatusInvalidInput, contains: []string{"decode input as string"}},
}

func registerInputDoor(register func(name string, fn any, opts ...Option)) {
	register("order", func(_ context.Context, o order) (string, error) {
		return o.ID + ":" + string(rune('0'+len(o.Items))), nil
	})
	register("orders", func(_ context.Context, os []order) (int, error) { return len(os), nil })
	register("lenient", func(_ context.Context, o order) (string, error) {
		return o.ID + ":" + string(rune('0'+len(o.Items))), nil
	}, AllowUnknownFields())
	register("map", func(_ context.Context, m map[string]int) (int, error) { return len(m), nil })
	register("stamped", func(_ context.Context, s stamped) (int, error) { return s.At.Year(), nil })
	register("upper", upper)
}

func TestCompute_InputDoor(t *testing.T) {
	useRegistry(t)
	registerInputDoor(func(name string, fn any, opts ...Option) {
		c := abi.Computation{Name: name}
		switch f := fn.(type) {
		case func(context.Context, order) (string, error):
			Compute(c, f, opts...)
		case func(context.Context, []order) (int, error):
			Compute(c, f, opts...)
		case func(context.Context, map[string]int) (int, error):
			Compute(c, f, opts...)
		case func(context.Context, stamped) (int, error):
			Compute(c, f, opts...)
		case func(context.Context, string) (string, error):
			Compute(c, f, opts...)
		}
	})
	for _, tt := range inputDoorCases {
		t.Run(tt.name, func(t *testing.T) {
			status, out := Dispatch(context.Background(), tt.handler, []byte(tt.data))
			checkInputDoor(t, tt.status, tt.out, tt.contains, status, out)
		})
	}
}

func TestEffect_InputDoor(t *testing.T) {
	useRegistry(t)
	registerInputDoor(func(name string, fn any, opts ...Option) {
		c := abi.Computation{Name: name}
		switch f := fn.(type) {
		case func(context.Context, order) (string, error):
			Effect(c, f, opts...)
		case func(context.Context, []order) (int, error):
			Effect(c, f, opts...)
		case func(context.Context, map[string]int) (int, error):
			Effect(c, f, opts...)
		case func(context.Context, stamped) (int, error):
			Effect(c, f, opts...)
		case func(context.Context, string) (string, error):
			Effect(c, f, opts...)
		}
	})
	for _, tt := range inputDoorCases {
		t.Run(tt.name, func(t *testing.T) {
			status, out := DispatchEffect(context.Background(), tt.handler, []byte(tt.data))
			checkInputDoor(t, tt.status, tt.out, tt.contains, status, out)
		})
	}
}

func checkInputDoor(t *testing.T, wantStatus abi.Status, wantOut string, contains []string, status abi.Status, out []byte) {
	t.Helper()
	require.Equal(t, wantStatus, status, "%s", out)
	if wantStatus == abi.StatusOK {
		assert.JSONEq(t, wantOut, string(out))
		return
	}
	var e abi.Error
	require.NoError(t, json.Unmarshal(out, &e), "%s", out)
	assert.Equal(t, "invalid_input", e.Code)
	for _, c := range contains {
		assert.Contains(t, e.Message, c)
	}
}
