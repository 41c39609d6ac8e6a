package fsm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer/fsm"
)

// Each operator, holding and failing, on the event data, the key and the context.
func TestCondition_Operators(t *testing.T) {
	cases := []struct {
		field, operator, value, data string
		holds                        bool
	}{
		{"/data/n", "equals", "3", `{"n":3}`, true},
		{"/data/n", "equals", "3", `{"n":3.5}`, false},
		{"/data/o", "equals", "{a: [1, x]}", `{"o":{"a":[1,"x"]}}`, true},
		{"/data/s", "equals", "'3'", `{"s":3}`, false},
		{"/data/n", "not_equals", "3", `{"n":4}`, true},
		{"/data/n", "not_equals", "3", `{"n":3}`, false},
		{"/data/n", "not_equals", "3", `{}`, false}, // missing: fails
		{"/data/n", "greater_than", "3", `{"n":4}`, true},
		{"/data/n", "greater_than", "3", `{"n":3}`, false},
		{"/data/n", "greater_than", "3", `{"n":"4"}`, false}, // types differ
		{"/data/n", "greater_than_or_equal", "3", `{"n":3}`, true},
		{"/data/n", "greater_than_or_equal", "3", `{"n":2}`, false},
		{"/data/n", "less_than", "3", `{"n":2}`, true},
		{"/data/n", "less_than", "3", `{"n":3}`, false},
		{"/data/n", "less_than_or_equal", "3", `{"n":3}`, true},
		{"/data/n", "less_than_or_equal", "3", `{"n":4}`, false},
		{"/data/s", "less_than", "b", `{"s":"a"}`, true},
		{"/data/s", "in", "[a, b]", `{"s":"b"}`, true},
		{"/data/s", "in", "[a, b]", `{"s":"c"}`, false},
		{"/data/s", "not_in", "[a, b]", `{"s":"c"}`, true},
		{"/data/s", "not_in", "[a, b]", `{"s":"a"}`, false},
		{"/data/s", "not_in", "[a, b]", `{}`, false},
		{"/data/s", "exists", "", `{"s":null}`, true},
		{"/data/s", "exists", "", `{}`, false},
		{"/data/s", "exists", "", `7`, false},
		{"/data/s", "not_exists", "", `{}`, true},
		{"/data/s", "not_exists", "", `{"s":1}`, false},
		{"/data/s", "matches", "'^a+$'", `{"s":"aaa"}`, true},
		{"/data/s", "matches", "'^a+$'", `{"s":"ab"}`, false},
		{"/data/s", "matches", "'^1$'", `{"s":1}`, false},
		{"/data/l/1", "equals", "y", `{"l":["x","y"]}`, true},
		{"/data/l/01", "equals", "y", `{"l":["x","y"]}`, false},
		{"/data/a~1b", "equals", "1", `{"a/b":1}`, true},
		{"/key", "equals", "k-1", `{}`, true},
		{"/state", "equals", "start", `{}`, true},
		{"/type", "equals", "go", `{}`, true},
		{"/event_id", "equals", "e", `{}`, true},
		{"/context/n", "exists", "", `{"n":1}`, false}, // the context before the event
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %s %s on %s", c.field, c.operator, c.value, c.data), func(t *testing.T) {
			value := ""
			if c.value != "" {
				value = ", value: " + c.value
			}
			m, err := fsm.Load([]byte(fmt.Sprintf(`
state_machine_name: op
initial_state: start
states: [{state_name: start}, {state_name: end, is_terminal: true}]
transitions:
  - {transition_name: go, from_state: start, to_state: end, trigger: go,
     conditions: [{condition_name: c, field: %q, operator: %s%s}]}
`, c.field, c.operator, value)))
			require.NoError(t, err)
			out, err := m.Fold()(context.Background(), abi.ReduceInput{Key: "k-1", State: json.RawMessage("null"),
				Event: abi.ReduceEvent{EventID: "e", Type: "go", Data: json.RawMessage(c.data)}})
			require.NoError(t, err)
			var p fsm.Projection
			require.NoError(t, json.Unmarshal(out.Projection, &p))
			assert.Equal(t, c.holds, p.TransitionSuccess)
		})
	}
}

// Of several transitions for one trigger, the first whose conditions hold is taken;
// when none does, the failed conditions of all are reported once each, in order.
func TestMachine_FirstTransitionThatHolds(t *testing.T) {
	m, err := fsm.Load([]byte(`
state_machine_name: route
initial_state: start
states: [{state_name: start}, {state_name: big, is_terminal: true}, {state_name: small, is_terminal: true}]
transitions:
  - {transition_name: to_big, from_state: start, to_state: big, trigger: go,
     conditions: [{condition_name: has_n, field: /data/n, operator: exists}, {condition_name: large, field: /data/n, operator: greater_than, value: 10}]}
  - {transition_name: to_small, from_state: start, to_state: small, trigger: go,
     conditions: [{condition_name: has_n, field: /data/n, operator: exists}, {condition_name: positive, field: /data/n, operator: greater_than, value: 0}]}
`))
	require.NoError(t, err)
	cases := []struct {
		data, projection string
	}{
		{`{"n":11}`, `{"fsm_state":"big","fsm_previous_state":"start","fsm_transition_success":true,"fsm_transition_name":"to_big","failure_reason":null,"failed_conditions":[],"error":null}`},
		{`{"n":5}`, `{"fsm_state":"small","fsm_previous_state":"start","fsm_transition_success":true,"fsm_transition_name":"to_small","failure_reason":null,"failed_conditions":[],"error":null}`},
		{`{}`, `{"fsm_state":"start","fsm_previous_state":"start","fsm_transition_success":false,"fsm_transition_name":"to_big","failure_reason":"conditions failed: has_n, large, positive","failed_conditions":["has_n","large","positive"],"error":null}`},
	}
	for _, c := range cases {
		t.Run(c.data, func(t *testing.T) {
			out, err := m.Fold()(context.Background(), abi.ReduceInput{Key: "k", State: json.RawMessage("null"),
				Event: abi.ReduceEvent{EventID: "e", Type: "go", Data: json.RawMessage(c.data)}})
			require.NoError(t, err)
			assert.JSONEq(t, c.projection, string(out.Projection))
		})
	}
}
