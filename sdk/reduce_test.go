package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
)

type counterState struct {
	Count int `json:"count"`
}

// registerCounter registers a counter reducer: it adds the event's number, emits an
// intent every third event and refuses a negative number.
func registerCounter(tb testing.TB) {
	tb.Helper()
	useRegistry(tb)
	Describe(abi.Manifest{Name: "counter", Version: "1.0.0", Deterministic: true})
	Reducer(abi.Computation{Name: "count"}, func(_ context.Context, s counterState, ev Event[int]) (counterState, []Intent, error) {
		if ev.Data < 0 {
			return s, nil, NewError("negative", "negative number")
		}
		s.Count += ev.Data
		var intents []Intent
		if ev.Sequence%3 == 0 {
			intents = []Intent{{Node: "fileops", EffectType: "write", OperationData: map[string]any{"key": ev.Key, "count": s.Count}}}
		}
		return s, intents, nil
	})
}

func TestReducer_Manifest(t *testing.T) {
	registerCounter(t)
	m := Manifest()
	require.NoError(t, m.Validate())
	assert.Equal(t, abi.KindReducer, m.Kind)
	require.Len(t, m.Computations, 1)
	assert.Equal(t, "count", m.Computations[0].Name)
	assert.Empty(t, m.Effects)
}

func TestReducer_Folds(t *testing.T) {
	registerCounter(t)
	ctx := context.Background()
	state := json.RawMessage(nil) // a new key
	for seq := uint64(1); seq <= 3; seq++ {
		out, status, err := Reduce(ctx, "count", abi.ReduceInput{Key: "k", Sequence: seq, State: state,
			Event: abi.ReduceEvent{EventID: "e", Type: "add", Data: json.RawMessage("5")}})
		require.NoError(t, err)
		require.Equal(t, abi.StatusOK, status)
		state = out.State
		if seq < 3 {
			assert.Empty(t, out.Intents)
		} else {
			require.Len(t, out.Intents, 1)
			assert.Equal(t, "fileops", out.Intents[0].Node)
			assert.Equal(t, "write", out.Intents[0].EffectType)
			assert.JSONEq(t, `{"key":"k","count":15}`, string(out.Intents[0].OperationData))
		}
	}
	assert.JSONEq(t, `{"count":15}`, string(state))
}

func TestReducer_Failures(t *testing.T) {
	registerCounter(t)
	ctx := context.Background()
	ev := func(data string) abi.ReduceEvent {
		return abi.ReduceEvent{EventID: "e", Type: "add", Data: json.RawMessage(data)}
	}
	tests := []struct {
		name   string
		in     abi.ReduceInput
		status abi.Status
		code   string
	}{
		{"handler error", abi.ReduceInput{Key: "k", Sequence: 1, Event: ev("-1")}, abi.StatusError, "negative"},
		{"bad event data", abi.ReduceInput{Key: "k", Sequence: 1, Event: ev(`"x"`)}, abi.StatusInvalidInput, "invalid_input"},
		{"unknown state field", abi.ReduceInput{Key: "k", Sequence: 1, State: json.RawMessage(`{"count":1,"cnt":2}`), Event: ev("1")}, abi.StatusInvalidInput, "invalid_input"},
		{"another reduction's input", abi.ReduceInput{Reduction: "other", Key: "k", Sequence: 1, Event: ev("1")}, abi.StatusInvalidInput, "invalid_input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, status, err := Reduce(ctx, "count", tt.in)
			assert.Equal(t, tt.status, status)
			var e *abi.Error
			require.True(t, errors.As(err, &e), "err: %v", err)
			assert.Equal(t, tt.code, e.Code)
		})
	}

	status, out := DispatchReduce(ctx, "count", []byte(`{"reduction":"count","key":"k","sequence":1,"state":null,"event":{"type":"add"}}`))
	assert.Equal(t, abi.StatusInvalidInput, status)
	assert.Contains(t, string(out), "event_id is missing")

	status, out = DispatchReduce(ctx, "nope", nil)
	assert.Equal(t, abi.StatusUnknownComputation, status)
	assert.Contains(t, string(out), `unknown reduction \"nope\"`)

	status, out = Dispatch(ctx, "count", []byte("1"))
	assert.Equal(t, abi.StatusUnsupported, status)
	assert.Contains(t, string(out), "a reducer node: it runs through onex_reduce, not onex_compute")
}

func TestReducer_BadIntent(t *testing.T) {
	useRegistry(t)
	Reducer(abi.Computation{Name: "r"}, func(_ context.Context, s int, _ Event[json.RawMessage]) (int, []Intent, error) {
		return s, []Intent{{Node: "Bad Node", EffectType: "write"}}, nil
	})
	_, status, err := Reduce(context.Background(), "r", abi.ReduceInput{Key: "k", Sequence: 1, Event: abi.ReduceEvent{EventID: "e", Type: "t"}})
	assert.Equal(t, abi.StatusError, status)
	var e *abi.Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, "invalid_output", e.Code)
}

func TestReducer_RefusesMixing(t *testing.T) {
	useRegistry(t)
	Compute(abi.Computation{Name: "c"}, func(_ context.Context, in int) (int, error) { return in, nil })
	assert.PanicsWithValue(t, `sdk: Reducer "r": this plugin is already a compute node (made one by Compute "c"); `+
		"a plugin is one kind of node (compute, effect, reducer or orchestrator), never two", func() {
		Reducer(abi.Computation{Name: "r"}, func(_ context.Context, s int, _ Event[int]) (int, []Intent, error) { return s, nil, nil })
	})

	useRegistry(t)
	Reducer(abi.Computation{Name: "r"}, func(_ context.Context, s int, _ Event[int]) (int, []Intent, error) { return s, nil, nil })
	assert.Panics(t, func() {
		Effect(abi.Computation{Name: "e"}, func(_ context.Context, in int) (int, error) { return in, nil })
	})
}
