package abi_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

func TestDecodeReduceEvent(t *testing.T) {
	tests := []struct {
		name, in string
		want     abi.ReduceEvent
		errHas   string // "" means no error
	}{
		{"full", `{"event_id":"e1","type":"add","data":{"n":1}}`, abi.ReduceEvent{EventID: "e1", Type: "add", Data: json.RawMessage(`{"n":1}`)}, ""},
		{"no data", `{"event_id":"e1","type":"add"}`, abi.ReduceEvent{EventID: "e1", Type: "add"}, ""},
		{"null data", `{"event_id":"e1","type":"add","data":null}`, abi.ReduceEvent{EventID: "e1", Type: "add", Data: json.RawMessage(`null`)}, ""},
		{"unknown field", `{"event_id":"e1","type":"add","date":1}`, abi.ReduceEvent{}, `unknown field "date"`},
		{"missing event_id", `{"type":"add"}`, abi.ReduceEvent{}, "event_id is missing"},
		{"empty event_id", `{"event_id":"","type":"add"}`, abi.ReduceEvent{}, "event_id is missing"},
		{"missing type", `{"event_id":"e1"}`, abi.ReduceEvent{}, "type is missing"},
		{"not an object", `[1]`, abi.ReduceEvent{}, "want a JSON object"},
		{"trailing", `{"event_id":"e1","type":"add"} {}`, abi.ReduceEvent{}, "trailing data"},
		{"bad utf-8", "{\"event_id\":\"\xff\",\"type\":\"add\"}", abi.ReduceEvent{}, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := abi.DecodeReduceEvent([]byte(tt.in))
			if tt.errHas != "" {
				require.ErrorIs(t, err, abi.ErrInvalidEnvelope)
				assert.ErrorContains(t, err, tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeReduceInput(t *testing.T) {
	ok := `{"reduction":"count","key":"k","sequence":3,"state":{"count":2},"event":{"event_id":"e","type":"t","data":5}}`
	got, err := abi.DecodeReduceInput([]byte(ok))
	require.NoError(t, err)
	assert.Equal(t, abi.ReduceInput{Reduction: "count", Key: "k", Sequence: 3, State: json.RawMessage(`{"count":2}`),
		Event: abi.ReduceEvent{EventID: "e", Type: "t", Data: json.RawMessage(`5`)}}, got)

	// A marshalled ReduceInput decodes to itself; a new key's state is null.
	in := abi.ReduceInput{Reduction: "r", Key: "a:b", Sequence: 1, State: json.RawMessage("null"), Event: abi.ReduceEvent{EventID: "x", Type: "y"}}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	got, err = abi.DecodeReduceInput(b)
	require.NoError(t, err)
	assert.Equal(t, in, got)

	for name, tt := range map[string]struct{ in, errHas string }{
		"missing state":    {`{"reduction":"r","key":"k","sequence":1,"event":{"event_id":"e","type":"t"}}`, "state is missing"},
		"missing sequence": {`{"reduction":"r","key":"k","state":null,"event":{"event_id":"e","type":"t"}}`, "sequence is missing"},
		"missing event":    {`{"reduction":"r","key":"k","sequence":1,"state":null}`, "event is missing"},
		"missing key":      {`{"reduction":"r","sequence":1,"state":null,"event":{"event_id":"e","type":"t"}}`, "key is missing"},
		"event without id": {`{"reduction":"r","key":"k","sequence":1,"state":null,"event":{"type":"t"}}`, "event: event_id is missing"},
		"unknown in event": {`{"reduction":"r","key":"k","sequence":1,"state":null,"event":{"event_id":"e","type":"t","x":1}}`, `unknown field "x"`},
		"negative seq":     {`{"reduction":"r","key":"k","sequence":-1,"state":null,"event":{"event_id":"e","type":"t"}}`, "sequence"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := abi.DecodeReduceInput([]byte(tt.in))
			require.ErrorIs(t, err, abi.ErrInvalidEnvelope)
			assert.ErrorContains(t, err, tt.errHas)
		})
	}
}

func TestDecodeReduceOutput(t *testing.T) {
	tests := []struct {
		name, in string
		want     abi.ReduceOutput
		errHas   string
	}{
		{"state only", `{"state":{"count":1}}`, abi.ReduceOutput{State: json.RawMessage(`{"count":1}`)}, ""},
		{"null state", `{"state":null}`, abi.ReduceOutput{State: json.RawMessage(`null`)}, ""},
		{"intents and projection", `{"state":1,"intents":[{"node":"fileops","effect_type":"write","operation_data":{"p":"x"}},{"node":"kv","effect_type":"put"}],"projection":"one"}`,
			abi.ReduceOutput{State: json.RawMessage(`1`), Projection: json.RawMessage(`"one"`), Intents: []abi.Intent{
				{Node: "fileops", EffectType: "write", OperationData: json.RawMessage(`{"p":"x"}`)},
				{Node: "kv", EffectType: "put"},
			}}, ""},
		{"missing state", `{"intents":[]}`, abi.ReduceOutput{}, "state is missing"},
		{"unknown field", `{"state":1,"status":"ok"}`, abi.ReduceOutput{}, `unknown field "status"`},
		{"unknown intent field", `{"state":1,"intents":[{"node":"kv","effect_type":"put","data":1}]}`, abi.ReduceOutput{}, `unknown field "data"`},
		{"intent without node", `{"state":1,"intents":[{"effect_type":"put"}]}`, abi.ReduceOutput{}, "intents[0].node"},
		{"intent with bad node", `{"state":1,"intents":[{"node":"kv","effect_type":"put"},{"node":"Bad:Node","effect_type":"put"}]}`, abi.ReduceOutput{}, "intents[1].node"},
		{"intent without effect_type", `{"state":1,"intents":[{"node":"kv"}]}`, abi.ReduceOutput{}, "intents[0].effect_type"},
		{"not an object", `null`, abi.ReduceOutput{}, "want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := abi.DecodeReduceOutput([]byte(tt.in))
			if tt.errHas != "" {
				require.ErrorIs(t, err, abi.ErrInvalidEnvelope)
				assert.ErrorContains(t, err, tt.errHas)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestIntentOperationID(t *testing.T) {
	assert.Equal(t, "reduce:cart:k1:7:0", abi.IntentOperationID("cart", "k1", 7, 0))
	assert.Equal(t, "reduce:cart:a%3Ab%25c:1:2", abi.IntentOperationID("cart", "a:b%c", 1, 2))
	// Escaping keeps ids distinct where plain joining would not.
	assert.NotEqual(t, abi.IntentOperationID("n", "a:1", 2, 3), abi.IntentOperationID("n", "a", 1, 23))
	assert.NotEqual(t, abi.IntentOperationID("n", "%3A", 1, 0), abi.IntentOperationID("n", ":", 1, 0))
}

func TestManifestReducerKind(t *testing.T) {
	ok := `{"name":"counter","version":"1","kind":"reducer","deterministic":true,"idempotent":false,
		"computations":[{"name":"count","input_schema":{"type":"number"},"output_schema":{"type":"object"}}]}`
	m, err := abi.DecodeManifest([]byte(ok))
	require.NoError(t, err)
	assert.Equal(t, abi.KindReducer, m.Kind)
	assert.Len(t, m.Offers(), 1)

	for name, in := range map[string]string{
		"no reductions": `{"name":"c","version":"1","kind":"reducer","deterministic":true,"idempotent":false}`,
		"effects":       `{"name":"c","version":"1","kind":"reducer","deterministic":true,"idempotent":false,"computations":[{"name":"a"}],"effects":[{"name":"b"}]}`,
		"capabilities":  `{"name":"c","version":"1","kind":"reducer","deterministic":true,"idempotent":false,"computations":[{"name":"a"}],"capabilities":["kv"]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := abi.DecodeManifest([]byte(in))
			assert.ErrorIs(t, err, abi.ErrInvalidManifest)
		})
	}
}

// FuzzDecodeReduce checks that the reduce decoders never panic, that whatever they
// accept has its required fields, and that it survives a round trip through json.Marshal.
func FuzzDecodeReduce(f *testing.F) {
	for _, s := range []string{
		`{"event_id":"e1","type":"add","data":{"n":1}}`,
		`{"state":null}`,
		`{"state":1,"intents":[{"node":"kv","effect_type":"put","operation_data":[1]}],"projection":{}}`,
		`{"reduction":"r","key":"k","sequence":1,"state":null,"event":{"event_id":"e","type":"t"}}`,
		`{"state":1,"intents":[{"node":"","effect_type":"put"}]}`,
		`[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if ev, err := abi.DecodeReduceEvent(b); err == nil {
			require.NotEmpty(t, ev.EventID)
			require.NotEmpty(t, ev.Type)
			enc, err := json.Marshal(ev)
			require.NoError(t, err)
			again, err := abi.DecodeReduceEvent(enc)
			require.NoError(t, err)
			require.Equal(t, ev.EventID, again.EventID)
		} else {
			require.ErrorIs(t, err, abi.ErrInvalidEnvelope)
		}
		if out, err := abi.DecodeReduceOutput(b); err == nil {
			require.NotNil(t, out.State)
			for _, in := range out.Intents {
				require.True(t, abi.ValidName(in.Node))
				require.NotEmpty(t, in.EffectType)
			}
			enc, err := json.Marshal(out)
			require.NoError(t, err)
			again, err := abi.DecodeReduceOutput(enc)
			require.NoError(t, err)
			require.Len(t, again.Intents, len(out.Intents))
		} else {
			require.ErrorIs(t, err, abi.ErrInvalidEnvelope)
		}
		if in, err := abi.DecodeReduceInput(b); err == nil {
			enc, err := json.Marshal(in)
			require.NoError(t, err)
			again, err := abi.DecodeReduceInput(enc)
			require.NoError(t, err)
			require.Equal(t, in.Sequence, again.Sequence)
			require.Equal(t, in.Key, again.Key)
		} else {
			require.ErrorIs(t, err, abi.ErrInvalidEnvelope)
		}
	})
}
