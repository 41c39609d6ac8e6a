package fsm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/reducer/fsm"
)

func orderMachine(t testing.TB) *fsm.Machine {
	t.Helper()
	m, err := fsm.LoadFile(filepath.Join("testdata", "order.yaml"))
	require.NoError(t, err)
	return m
}

// step is one event folded into the state the previous step left.
type step struct {
	name       string
	typ, data  string
	projection string // the whole projection, JSON
	state      string // current_state after the event
	intents    string // the intents, JSON; "" for none
	unchanged  bool   // the state bytes are those before the event
}

// The seven metadata keys on every output, for transitions taken, conditions failed,
// triggers without a transition and a terminal state.
func TestMachine_Fold(t *testing.T) {
	m := orderMachine(t)
	assert.Equal(t, "order_lifecycle", m.Name())
	assert.Equal(t, "1.0.0", m.Version())
	assert.Equal(t, "created", m.InitialState())
	fold := m.Fold()
	steps := []step{
		{name: "conditions fail on a new key", typ: "pay", data: `{"amount":0,"currency":"GBP"}`,
			projection: `{"fsm_state":"created","fsm_previous_state":"created","fsm_transition_success":false,
				"fsm_transition_name":"pay","failure_reason":"conditions failed: amount_positive, currency_known",
				"failed_conditions":["amount_positive","currency_known"],"error":null}`,
			state: "created"},
		{name: "one condition fails", typ: "pay", data: `{"amount":30,"currency":"GBP"}`,
			projection: `{"fsm_state":"created","fsm_previous_state":"created","fsm_transition_success":false,
				"fsm_transition_name":"pay","failure_reason":"conditions failed: currency_known",
				"failed_conditions":["currency_known"],"error":null}`,
			state: "created", unchanged: true},
		{name: "a missing field fails its condition", typ: "pay", data: `{"currency":"EUR"}`,
			projection: `{"fsm_state":"created","fsm_previous_state":"created","fsm_transition_success":false,
				"fsm_transition_name":"pay","failure_reason":"conditions failed: amount_positive",
				"failed_conditions":["amount_positive"],"error":null}`,
			state: "created", unchanged: true},
		{name: "no transition for the trigger", typ: "deliver", data: `{}`,
			projection: `{"fsm_state":"created","fsm_previous_state":"created","fsm_transition_success":false,
				"fsm_transition_name":null,"failure_reason":"no transition from state \"created\" on trigger \"deliver\"",
				"failed_conditions":[],"error":"fsm: order_lifecycle: no transition from state \"created\" on trigger \"deliver\""}`,
			state: "created", unchanged: true},
		{name: "pay: exit, transition and entry intents in order", typ: "pay", data: `{"amount":30,"currency":"EUR"}`,
			projection: `{"fsm_state":"paid","fsm_previous_state":"created","fsm_transition_success":true,
				"fsm_transition_name":"pay","failure_reason":null,"failed_conditions":[],"error":null}`,
			state: "paid",
			intents: `[{"node":"audit","effect_type":"log","operation_data":{"line":"o-1 left created"}},
				{"node":"payments","effect_type":"charge","operation_data":{"order":"o-1","amount":30,"currency":"EUR"}},
				{"node":"audit","effect_type":"log","operation_data":{"line":"o-1 entered paid"}}]`},
		{name: "matches fails", typ: "ship", data: `{"tracking":"XX-1"}`,
			projection: `{"fsm_state":"paid","fsm_previous_state":"paid","fsm_transition_success":false,
				"fsm_transition_name":"ship","failure_reason":"conditions failed: has_tracking",
				"failed_conditions":["has_tracking"],"error":null}`,
			state: "paid", unchanged: true},
		{name: "ship", typ: "ship", data: `{"tracking":"TR-42"}`,
			projection: `{"fsm_state":"shipped","fsm_previous_state":"paid","fsm_transition_success":true,
				"fsm_transition_name":"ship","failure_reason":null,"failed_conditions":[],"error":null}`,
			state: "shipped"},
		{name: "deliver into a terminal state", typ: "deliver",
			projection: `{"fsm_state":"delivered","fsm_previous_state":"shipped","fsm_transition_success":true,
				"fsm_transition_name":"deliver","failure_reason":null,"failed_conditions":[],"error":null}`,
			state: "delivered"},
		{name: "the terminal state refuses events", typ: "cancel",
			projection: `{"fsm_state":"delivered","fsm_previous_state":"delivered","fsm_transition_success":false,
				"fsm_transition_name":null,"failure_reason":"state \"delivered\" is terminal: it accepts no events",
				"failed_conditions":[],"error":"fsm: order_lifecycle: state \"delivered\" is terminal: it accepts no events"}`,
			state: "delivered", unchanged: true},
	}
	state := json.RawMessage("null")
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			ev := abi.ReduceEvent{EventID: s.name, Type: s.typ}
			if s.data != "" {
				ev.Data = json.RawMessage(s.data)
			}
			out, err := fold(context.Background(), abi.ReduceInput{Key: "o-1", Sequence: uint64(i + 1), State: state, Event: ev})
			require.NoError(t, err)
			assert.JSONEq(t, s.projection, string(out.Projection))
			var keys map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(out.Projection, &keys))
			assert.Len(t, keys, 7, "exactly the seven ONEX metadata keys")
			var st fsm.State
			require.NoError(t, json.Unmarshal(out.State, &st))
			assert.Equal(t, s.state, st.CurrentState)
			if s.unchanged {
				assert.Equal(t, string(state), string(out.State))
			}
			if s.intents == "" {
				assert.Empty(t, out.Intents)
			} else {
				b, err := json.Marshal(out.Intents)
				require.NoError(t, err)
				assert.JSONEq(t, s.intents, string(b))
			}
			state = out.State
		})
	}
	var st fsm.State
	require.NoError(t, json.Unmarshal(state, &st))
	assert.Equal(t, fsm.State{CurrentState: "delivered", PreviousState: "shipped", Transitions: 3, LastTransition: "deliver",
		Context: map[string]any{"amount": 30.0, "currency": "EUR", "tracking": "TR-42"}}, st)
}

// The context carries earlier events' data: cancel_paid refunds the amount paid.
func TestMachine_FoldContext(t *testing.T) {
	fold := orderMachine(t).Fold()
	ctx := context.Background()
	out, err := fold(ctx, abi.ReduceInput{Key: "k", State: json.RawMessage("null"),
		Event: abi.ReduceEvent{EventID: "1", Type: "pay", Data: json.RawMessage(`{"amount":12.5,"currency":"USD"}`)}})
	require.NoError(t, err)
	out, err = fold(ctx, abi.ReduceInput{Key: "k", State: out.State, Event: abi.ReduceEvent{EventID: "2", Type: "cancel"}})
	require.NoError(t, err)
	require.Len(t, out.Intents, 1)
	assert.JSONEq(t, `{"order":"k","amount":12.5}`, string(out.Intents[0].OperationData))
	assert.Equal(t, "payments", out.Intents[0].Node)
	assert.Equal(t, "refund", out.Intents[0].EffectType)
}

// The fold fails (and the reducer dead-letters) only for a foreign state, bad data or
// a template pointing at nothing.
func TestMachine_FoldErrors(t *testing.T) {
	fold := orderMachine(t).Fold()
	cases := []struct {
		name, state, typ, data, err string
	}{
		{"unknown stored state", `{"current_state":"lost","context":{}}`, "pay", `{}`,
			`fsm: order_lifecycle: stored state is in unknown state "lost"`},
		{"stored state not an object", `[1]`, "pay", `{}`,
			"fsm: order_lifecycle: stored state: json: cannot unmarshal array into Go value of type fsm.State"},
		{"template points at nothing", `{"current_state":"paid","context":{}}`, "cancel", `{}`,
			"fsm: order_lifecycle: transition cancel_paid: action refund: /context/amount points at nothing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := fold(context.Background(), abi.ReduceInput{Key: "k", State: json.RawMessage(c.state),
				Event: abi.ReduceEvent{EventID: "e", Type: c.typ, Data: json.RawMessage(c.data)}})
			require.EqualError(t, err, c.err)
		})
	}
}

// Through a reducer.Node with a real Store: projections in the Result, intents in the
// outbox with deterministic operation ids, a refused event applied (sequenced) with the
// state unchanged, a redelivery a Duplicate.
func TestMachine_Node(t *testing.T) {
	store, err := reducer.OpenStore(filepath.Join(t.TempDir(), "r.db"), reducer.NewConfig())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	m := orderMachine(t)
	node, err := reducer.NewNode("orders", m.Name(), m.Fold(), store)
	require.NoError(t, err)
	ctx := context.Background()
	apply := func(id, typ, data string) reducer.Result {
		t.Helper()
		ev := abi.ReduceEvent{EventID: id, Type: typ}
		if data != "" {
			ev.Data = json.RawMessage(data)
		}
		res, err := node.Apply(ctx, "o:1", ev)
		require.NoError(t, err)
		return res
	}
	projection := func(r reducer.Result) fsm.Projection {
		t.Helper()
		var p fsm.Projection
		require.NoError(t, json.Unmarshal(r.Projection, &p))
		return p
	}

	r := apply("e1", "pay", `{"amount":-1,"currency":"EUR"}`)
	assert.Equal(t, uint64(1), r.Sequence)
	assert.False(t, projection(r).TransitionSuccess)
	assert.Equal(t, []string{"amount_positive"}, projection(r).FailedConditions)
	assert.Empty(t, r.Intents)
	refused := r.State

	r = apply("e2", "pay", `{"amount":5,"currency":"EUR"}`)
	assert.Equal(t, uint64(2), r.Sequence)
	assert.True(t, projection(r).TransitionSuccess)
	assert.Equal(t, "paid", projection(r).State)
	require.Len(t, r.Intents, 3)

	dup := apply("e1", "pay", `{"amount":-1,"currency":"EUR"}`)
	assert.True(t, dup.Duplicate)
	assert.Equal(t, uint64(1), dup.Sequence)
	assert.Nil(t, dup.Projection, "projections are not stored")
	assert.NotEqual(t, string(refused), string(dup.State), "a Duplicate reports the current state")

	r = apply("e3", "cancel", "")
	assert.Equal(t, "cancelled", projection(r).State)
	r = apply("e4", "pay", `{"amount":5,"currency":"EUR"}`)
	assert.Equal(t, uint64(4), r.Sequence)
	require.NotNil(t, projection(r).Error)
	assert.Equal(t, `fsm: order_lifecycle: state "cancelled" is terminal: it accepts no events`, *projection(r).Error)

	pending, err := store.Pending(0)
	require.NoError(t, err)
	var got []string
	for _, e := range pending {
		got = append(got, e.OperationID+" "+e.Intent.Node+"/"+e.Intent.EffectType+" "+string(e.Intent.OperationData))
	}
	assert.Equal(t, []string{
		`reduce:orders:o%3A1:2:0 audit/log {"line":"o:1 left created"}`,
		`reduce:orders:o%3A1:2:1 payments/charge {"amount":5,"currency":"EUR","order":"o:1"}`,
		`reduce:orders:o%3A1:2:2 audit/log {"line":"o:1 entered paid"}`,
		`reduce:orders:o%3A1:3:0 payments/refund {"amount":5,"order":"o:1"}`,
	}, got)
	assert.Equal(t, abi.IntentOperationID("orders", "o:1", 2, 1), pending[1].OperationID)
}

// Many goroutines drive many keys through one Machine on one Node: each key ends where
// its own events lead, with its own count of transitions, whatever the interleaving.
func TestMachine_NodeConcurrent(t *testing.T) {
	store, err := reducer.OpenStore(filepath.Join(t.TempDir(), "r.db"), reducer.NewConfig())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, store.Close()) })
	m, err := fsm.Load([]byte(`
state_machine_name: toggle
initial_state: "off"
states: [{state_name: "off"}, {state_name: "on"}]
transitions:
  - {transition_name: up, from_state: "off", to_state: "on", trigger: flip}
  - {transition_name: down, from_state: "on", to_state: "off", trigger: flip}
`))
	require.NoError(t, err)
	node, err := reducer.NewNode("toggles", m.Name(), m.Fold(), store)
	require.NoError(t, err)
	const keys, workers, flips = 8, 32, 25 // each key gets workers/keys*flips flips
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			key := fmt.Sprint("k", w%keys)
			for i := range flips {
				if _, err := node.Apply(context.Background(), key, abi.ReduceEvent{EventID: fmt.Sprint(w, "-", i), Type: "flip"}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	perKey := uint64(workers / keys * flips)
	for k := range keys {
		res, err := node.Apply(context.Background(), fmt.Sprint("k", k), abi.ReduceEvent{EventID: "last", Type: "peek"})
		require.NoError(t, err)
		assert.Equal(t, perKey+1, res.Sequence)
		var st fsm.State
		require.NoError(t, json.Unmarshal(res.State, &st))
		assert.Equal(t, perKey, st.Transitions)
		assert.Equal(t, map[bool]string{true: "off", false: "on"}[perKey%2 == 0], st.CurrentState)
	}
}
