package abi_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestComputeInput_MarshalJSON(t *testing.T) {
	tests := []struct {
		name string
		in   abi.ComputeInput
		want string
	}{
		{name: "zero value", in: abi.ComputeInput{}, want: `{"computation_type":"default","data":null,"cache_enabled":true}`},
		{name: "empty data is null", in: abi.ComputeInput{Data: json.RawMessage{}}, want: `{"computation_type":"default","data":null,"cache_enabled":true}`},
		{name: "no cache", in: abi.ComputeInput{NoCache: true}, want: `{"computation_type":"default","data":null,"cache_enabled":false}`},
		{
			name: "every field",
			in: abi.ComputeInput{
				ComputationType: "sum_numbers",
				Data:            json.RawMessage(`[1,2,3]`),
				OperationID:     "6f1c2a1e-8a5b-4b61-9d1f-1f0b9f7c2a10",
				ParallelEnabled: true,
				Metadata:        map[string]any{"trace": "abc"},
			},
			want: `{"computation_type":"sum_numbers","data":[1,2,3],"operation_id":"6f1c2a1e-8a5b-4b61-9d1f-1f0b9f7c2a10",` +
				`"cache_enabled":true,"parallel_enabled":true,"metadata":{"trace":"abc"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.in)
			require.NoError(t, err)
			assert.JSONEq(t, tt.want, string(got))
		})
	}
}

func TestComputeInput_roundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   abi.ComputeInput
	}{
		{name: "data only", in: abi.ComputeInput{Data: json.RawMessage(`{"a":1}`)}},
		{name: "no cache", in: abi.ComputeInput{Data: json.RawMessage(`null`), NoCache: true}},
		{
			name: "every field",
			in: abi.ComputeInput{
				ComputationType: "sum_numbers",
				Data:            json.RawMessage(`{"numbers":[1,2.5,-3e2],"label":"ünï"}`),
				OperationID:     "6f1c2a1e-8a5b-4b61-9d1f-1f0b9f7c2a10",
				NoCache:         true,
				ParallelEnabled: true,
				Metadata:        map[string]any{"trace": "abc", "depth": float64(2), "tags": []any{"x"}, "nested": map[string]any{"ok": true}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			require.NoError(t, err)
			got, err := abi.DecodeComputeInput(b)
			require.NoError(t, err)
			assert.Equal(t, tt.in.Computation(), got.ComputationType)
			assert.Equal(t, tt.in.OperationID, got.OperationID)
			assert.Equal(t, tt.in.NoCache, got.NoCache)
			assert.Equal(t, tt.in.ParallelEnabled, got.ParallelEnabled)
			assert.Equal(t, tt.in.Metadata, got.Metadata)
			assert.JSONEq(t, string(tt.in.Data), string(got.Data))
		})
	}
}

func TestComputeInput_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  abi.ComputeInput
	}{
		{name: "cache_enabled missing", input: `{"data":1}`, want: abi.ComputeInput{Data: json.RawMessage(`1`), NoCache: false}},
		{name: "cache_enabled true", input: `{"data":1,"cache_enabled":true}`, want: abi.ComputeInput{Data: json.RawMessage(`1`), NoCache: false}},
		{name: "cache_enabled false", input: `{"data":1,"cache_enabled":false}`, want: abi.ComputeInput{Data: json.RawMessage(`1`), NoCache: true}},
		{name: "cache_enabled null", input: `{"data":1,"cache_enabled":null}`, want: abi.ComputeInput{Data: json.RawMessage(`1`), NoCache: false}},
		{name: "data missing", input: `{}`, want: abi.ComputeInput{}},
		{name: "data null", input: `{"data":null}`, want: abi.ComputeInput{Data: json.RawMessage(`null`)}},
		{name: "data kept verbatim", input: `{"data": { "b" : [ 1 ] }}`, want: abi.ComputeInput{Data: json.RawMessage(`{ "b" : [ 1 ] }`)}},
		{name: "unknown fields ignored", input: `{"computation_type":"x","node_id":"n1","data":"s"}`, want: abi.ComputeInput{ComputationType: "x", Data: json.RawMessage(`"s"`)}},
		{
			name:  "every field",
			input: `{"computation_type":"sum","data":[1],"operation_id":"op","cache_enabled":false,"parallel_enabled":true,"metadata":{"k":"v"}}`,
			want: abi.ComputeInput{
				ComputationType: "sum", Data: json.RawMessage(`[1]`), OperationID: "op",
				NoCache: true, ParallelEnabled: true, Metadata: map[string]any{"k": "v"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got abi.ComputeInput
			require.NoError(t, json.Unmarshal([]byte(tt.input), &got))
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeComputeInput(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    abi.ComputeInput
		wantErr bool
		errHas  string
	}{
		{name: "valid", input: `{"computation_type":"sum","data":[1,2]}`, want: abi.ComputeInput{ComputationType: "sum", Data: json.RawMessage(`[1,2]`)}},
		{name: "surrounding whitespace", input: " \n{\"computation_type\":\"x\",\"data\":true}\t\r\n", want: abi.ComputeInput{ComputationType: "x", Data: json.RawMessage(`true`)}},
		{name: "explicit default", input: `{"computation_type":"default","data":1}`, want: abi.ComputeInput{ComputationType: "default", Data: json.RawMessage(`1`)}},
		{name: "no data is allowed", input: `{"computation_type":"x"}`, want: abi.ComputeInput{ComputationType: "x"}},
		{name: "missing computation_type", input: `{"data":[1,2]}`, wantErr: true, errHas: "computation_type is missing"},
		{name: "empty computation_type", input: `{"computation_type":"","data":1}`, wantErr: true, errHas: "computation_type is missing"},
		{name: "unknown field", input: `{"type":"sum_numbers","data":[1,2]}`, wantErr: true, errHas: `unknown field "type"`},
		{name: "unknown field beside a type", input: `{"computation_type":"x","node_id":"n1"}`, wantErr: true, errHas: `unknown field "node_id"`},
		{name: "invalid UTF-8 in data", input: "{\"computation_type\":\"x\",\"data\":\"a\xffb\"}", wantErr: true, errHas: "not valid UTF-8 at byte 33"},
		{name: "invalid UTF-8 in a key", input: "{\"computation_type\":\"x\",\"\xc3\":1}", wantErr: true, errHas: "not valid UTF-8"},
		{name: "trailing object", input: `{"data":1} {"data":2}`, wantErr: true},
		{name: "trailing number", input: `{"data":1} 2`, wantErr: true},
		{name: "trailing garbage", input: `{"data":1}x`, wantErr: true},
		{
			name: "trailing closing brace", input: `{"data":1}}`, wantErr: true,
		},
		{
			name: "trailing closing bracket", input: `{"data":1} ]`, wantErr: true,
		},
		{name: "invalid JSON", input: `{"data":}`, wantErr: true},
		{name: "truncated", input: `{"data":[1,2`, wantErr: true},
		{name: "empty", input: ``, wantErr: true},
		{name: "array", input: `[{"data":1}]`, wantErr: true},
		{name: "string", input: `"sum"`, wantErr: true},
		{name: "cache_enabled wrong type", input: `{"computation_type":"x","cache_enabled":"no"}`, wantErr: true},
		{name: "metadata not an object", input: `{"computation_type":"x","metadata":[1]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := abi.DecodeComputeInput([]byte(tt.input))
			if tt.wantErr {
				require.ErrorIs(t, err, abi.ErrInvalidEnvelope)
				assert.ErrorContains(t, err, tt.errHas)
				assert.Equal(t, abi.ComputeInput{}, got)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestComputeInput_Computation(t *testing.T) {
	tests := []struct {
		name string
		in   abi.ComputeInput
		want string
	}{
		{name: "empty is default", in: abi.ComputeInput{}, want: abi.DefaultComputation},
		{name: "named", in: abi.ComputeInput{ComputationType: "sum_numbers"}, want: "sum_numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.in.Computation())
		})
	}
	assert.Equal(t, "default", abi.DefaultComputation)
}

func TestDecodeError(t *testing.T) {
	long := strings.Repeat("x", abi.MaxErrorPayload)
	tests := []struct {
		name    string
		status  abi.Status
		payload []byte
		want    abi.Error
	}{
		{
			name:    "JSON payload",
			status:  abi.StatusError,
			payload: []byte(`{"code":"bad_number","message":"item 2 is not a number","retryable":false}`),
			want:    abi.Error{Code: "bad_number", Message: "item 2 is not a number"},
		},
		{
			name:    "JSON retryable",
			status:  abi.StatusError,
			payload: []byte(`{"code":"busy","message":"try later","retryable":true}`),
			want:    abi.Error{Code: "busy", Message: "try later", Retryable: true},
		},
		{name: "JSON message only gets status name", status: abi.StatusInvalidInput, payload: []byte(`{"message":"bad"}`), want: abi.Error{Code: "invalid_input", Message: "bad"}},
		{name: "JSON code only", status: abi.StatusError, payload: []byte(`{"code":"nope"}`), want: abi.Error{Code: "nope"}},
		{name: "JSON unknown fields ignored", status: abi.StatusError, payload: []byte(`{"code":"c","message":"m","detail":1}`), want: abi.Error{Code: "c", Message: "m"}},
		{
			name:    "JSON invalid UTF-8 replaced",
			status:  abi.StatusError,
			payload: []byte("{\"code\":\"c\",\"message\":\"a\xffb\"}"),
			want:    abi.Error{Code: "c", Message: "a\uFFFDb"},
		},
		{name: "plain text", status: abi.StatusError, payload: []byte("division by zero"), want: abi.Error{Code: "error", Message: "division by zero"}},
		{name: "plain text panic", status: abi.StatusPanic, payload: []byte("runtime error: index out of range"), want: abi.Error{Code: "panic", Message: "runtime error: index out of range"}},
		{name: "plain text unknown status", status: 99, payload: []byte("odd"), want: abi.Error{Code: "status_99", Message: "odd"}},
		{name: "empty payload", status: abi.StatusNotFound, payload: nil, want: abi.Error{Code: "not_found"}},
		{name: "JSON null is text", status: abi.StatusError, payload: []byte(`null`), want: abi.Error{Code: "error", Message: "null"}},
		{name: "JSON string is text", status: abi.StatusError, payload: []byte(`"oops"`), want: abi.Error{Code: "error", Message: `"oops"`}},
		{name: "empty object has no message", status: abi.StatusError, payload: []byte(`{}`), want: abi.Error{Code: "error"}},
		{name: "retryable alone survives", status: abi.StatusError, payload: []byte(`{"retryable":true}`), want: abi.Error{Code: "error", Retryable: true}},
		{name: "wrong field type is text", status: abi.StatusError, payload: []byte(`{"code":1}`), want: abi.Error{Code: "error", Message: `{"code":1}`}},
		{name: "trailing data is text", status: abi.StatusError, payload: []byte(`{"code":"c"} x`), want: abi.Error{Code: "error", Message: `{"code":"c"} x`}},
		{name: "invalid UTF-8 replaced", status: abi.StatusError, payload: []byte("bad \xff\xfe byte"), want: abi.Error{Code: "error", Message: "bad \uFFFD byte"}},
		{name: "retryable from unavailable", status: abi.StatusUnavailable, payload: []byte("db down"), want: abi.Error{Code: "unavailable", Message: "db down", Retryable: true}},
		{name: "retryable from timeout", status: abi.StatusTimeout, payload: nil, want: abi.Error{Code: "timeout", Retryable: true}},
		{
			name:    "status retryable overrides JSON false",
			status:  abi.StatusUnavailable,
			payload: []byte(`{"code":"db","message":"down","retryable":false}`),
			want:    abi.Error{Code: "db", Message: "down", Retryable: true},
		},
		{name: "payload at limit kept", status: abi.StatusError, payload: []byte(long), want: abi.Error{Code: "error", Message: long}},
		{name: "oversized payload truncated", status: abi.StatusError, payload: []byte(long + "tail"), want: abi.Error{Code: "error", Message: long}},
		{
			name:    "truncation inside a rune",
			status:  abi.StatusError,
			payload: []byte(long[1:] + "é"),
			want:    abi.Error{Code: "error", Message: long[1:] + "\uFFFD"},
		},
		{
			name:    "oversized JSON becomes truncated text",
			status:  abi.StatusError,
			payload: []byte(`{"code":"c","message":"` + long + `"}`),
			want:    abi.Error{Code: "error", Message: (`{"code":"c","message":"` + long)[:abi.MaxErrorPayload]},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := abi.DecodeError(tt.status, tt.payload)
			assert.Equal(t, tt.want, got)
			assert.True(t, utf8.ValidString(got.Message))
		})
	}
}

func TestError_Error(t *testing.T) {
	e := &abi.Error{Code: "bad_number", Message: "item 2 is not a number"}
	assert.Equal(t, "bad_number: item 2 is not a number", e.Error())
}

func TestAppendError(t *testing.T) {
	tests := []struct {
		name string
		err  abi.Error
	}{
		{name: "code and message", err: abi.Error{Code: "bad_number", Message: "item 2 is not a number"}},
		{name: "retryable", err: abi.Error{Code: "busy", Message: "later", Retryable: true}},
		{name: "code only", err: abi.Error{Code: "nope"}},
		{name: "quotes and control characters", err: abi.Error{Code: "c", Message: "say \"hi\"\n\t<tag> & \u2028 ü"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("prefix")
			b := abi.AppendError(bytes.Clone(prefix), tt.err)
			require.True(t, bytes.HasPrefix(b, prefix), "AppendError keeps dst")
			payload := b[len(prefix):]
			assert.True(t, json.Valid(payload))
			assert.Equal(t, tt.err, abi.DecodeError(abi.StatusError, payload))
		})
	}
}
