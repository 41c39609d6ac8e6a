package fsm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/onexhost/onex-host/host/reducer/fsm"
)

// base is a valid contract; each case edits it.
const base = `state_machine_name: door
initial_state: closed
states:
  - state_name: closed
  - state_name: open
  - state_name: broken
    is_terminal: true
transitions:
  - transition_name: open
    from_state: closed
    to_state: open
    trigger: open
    conditions:
      - condition_name: authorised
        field: /data/user
        operator: exists
    actions: [beep]
  - transition_name: close
    from_state: open
    to_state: closed
    trigger: close
  - transition_name: break
    from_state: open
    to_state: broken
    trigger: kick
actions:
  - action_name: beep
    node: buzzer
    effect_type: beep
    operation_data: {who: "${/data/user}"}
`

func TestLoad_Valid(t *testing.T) {
	m, err := fsm.Load([]byte(base))
	require.NoError(t, err)
	assert.Equal(t, "door", m.Name())
}

// Load-time validation: the first problem, with its field path and line.
func TestLoad_Invalid(t *testing.T) {
	cases := []struct {
		name     string
		old, new string // replace old by new in base (old "" appends new)
		err      string
	}{
		{"unknown field", "  - state_name: open\n", "  - state_name: open\n    colour: red\n",
			`states[1].colour: unknown field (line 6)`},
		{"wrong type", "    is_terminal: true", "    is_terminal: maybe",
			`states[2].is_terminal: want true or false, got "maybe" (line 7)`},
		{"a list for a string", "initial_state: closed", "initial_state: [closed]",
			`initial_state: want a string, got a list (line 2)`},
		{"a mapping for a list", "actions: [beep]", "actions: {beep: 1}",
			`transitions[0].actions: want a list, got a mapping (line 17)`},
		{"two documents", "", "---\nstate_machine_name: x\n",
			`a contract is one YAML document`},
		{"no name", "state_machine_name: door\n", "",
			`state_machine_name: is required (line 1)`},
		{"unknown initial state", "initial_state: closed", "initial_state: shut",
			`initial_state: unknown state "shut" (line 2)`},
		{"duplicate state", "  - state_name: open\n", "  - state_name: closed\n",
			`states[1].state_name: duplicate state "closed" (line 5)`},
		{"bad state type", "    is_terminal: true", "    state_type: final",
			`states[2].state_type: "final" is not one of operational, snapshot, terminal, error (line 7)`},
		{"unknown to_state", "    to_state: open\n    trigger: open", "    to_state: opne\n    trigger: open",
			`transitions[0].to_state: unknown state "opne" (line 11)`},
		{"unknown from_state", "    from_state: open\n    to_state: closed", "    from_state: ajar\n    to_state: closed",
			`transitions[1].from_state: unknown state "ajar" (line 19)`},
		{"transition out of a terminal state", "actions:\n", "  - transition_name: fix\n    from_state: broken\n    to_state: closed\n    trigger: fix\nactions:\n",
			`transitions[3].from_state: state "broken" is terminal: it has no outgoing transitions (line 27)`},
		{"duplicate transition", "transition_name: close", "transition_name: open",
			`transitions[1].transition_name: duplicate transition "open" (line 18)`},
		{"no trigger", "    trigger: kick\n", "",
			`transitions[2].trigger: is required (line 22)`},
		{"unknown operator", "operator: exists", "operator: is",
			`transitions[0].conditions[0].operator: "is" is not one of equals, not_equals, greater_than, greater_than_or_equal, less_than, less_than_or_equal, in, not_in, exists, not_exists, matches (line 16)`},
		{"value missing", "operator: exists", "operator: equals",
			`transitions[0].conditions[0].value: operator equals needs a value (line 14)`},
		{"exists with a value", "operator: exists", "operator: exists\n        value: 1",
			`transitions[0].conditions[0].value: operator exists takes no value (line 17)`},
		{"in without a list", "operator: exists", "operator: in\n        value: 1",
			`transitions[0].conditions[0].value: operator in needs a list (line 17)`},
		{"bad regexp", "operator: exists", "operator: matches\n        value: \"(\"",
			"transitions[0].conditions[0].value: error parsing regexp: missing closing ): `(` (line 17)"},
		{"bad pointer root", "field: /data/user", "field: /event/user",
			`transitions[0].conditions[0].field: "/event/user" does not start with /data, /context, /key, /state, /previous_state, /event_id or /type (line 15)`},
		{"not a pointer", "field: /data/user", "field: user",
			`transitions[0].conditions[0].field: "user" is not a JSON pointer (it starts with /data, /context, /key, /state, /previous_state, /event_id or /type) (line 15)`},
		{"unknown action", "actions: [beep]", "actions: [boop]",
			`transitions[0].actions[0]: unknown action "boop" (line 17)`},
		{"unused action", "    actions: [beep]\n", "",
			`actions[0].action_name: action "beep" is never used (line 26)`},
		{"bad template", `"${/data/user}"`, `"${data}"`,
			`actions[0].operation_data: "data" is not a JSON pointer (it starts with /data, /context, /key, /state, /previous_state, /event_id or /type) (line 30)`},
		{"bad node name", "node: buzzer", "node: Buzzer!",
			`actions[0].node: "Buzzer!" is not a valid node name (line 28)`},
		{"transition from an undeclared state", "actions:\n", "  - transition_name: wake\n    from_state: asleep\n    to_state: closed\n    trigger: wake\nactions:\n",
			`transitions[3].from_state: unknown state "asleep" (line 27)`},
		{"unreachable state, declared", "  - state_name: broken\n", "  - state_name: asleep\n    exit_actions: [beep]\n  - state_name: broken\n",
			`states[2].state_name: state "asleep" is unreachable from initial_state "closed" (line 6)`},
		{"dead end", "    is_terminal: true\n", "",
			`states[2].state_name: state "broken" is not terminal and has no outgoing transitions (line 6)`},
		{"duplicate condition", "        operator: exists\n", "        operator: exists\n      - condition_name: authorised\n        field: /data/x\n        operator: exists\n",
			`transitions[0].conditions[1].condition_name: duplicate condition "authorised" (line 17)`},
		{"duplicate action", "", "  - action_name: beep\n    node: buzzer\n    effect_type: beep\n",
			`actions[1].action_name: duplicate action "beep" (line 31)`},
		{"no effect type", "    effect_type: beep\n", "",
			`actions[0].effect_type: is required (line 27)`},
		{"unknown entry action", "  - state_name: open\n", "  - state_name: open\n    entry_actions: [boom]\n",
			`states[1].entry_actions[0]: unknown action "boom" (line 6)`},
		{"unknown terminal state", "", "terminal_states: [gone]\n",
			`terminal_states[0]: unknown state "gone" (line 31)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := base + c.new
			if c.old != "" {
				require.Contains(t, base, c.old)
				doc = strings.Replace(base, c.old, c.new, 1)
			}
			_, err := fsm.Load([]byte(doc))
			require.ErrorIs(t, err, fsm.ErrInvalidContract)
			assert.EqualError(t, err, "fsm: invalid contract: "+c.err)
		})
	}
}

func TestLoadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(path, []byte("state_machine_name: x\n"), 0o644))
	_, err := fsm.LoadFile(path)
	require.ErrorIs(t, err, fsm.ErrInvalidContract)
	assert.EqualError(t, err, path+": fsm: invalid contract: states: at least one state is required (line 1)")

	_, err = fsm.LoadFile(filepath.Join(t.TempDir(), "missing.yaml"))
	require.Error(t, err)
	assert.NotErrorIs(t, err, fsm.ErrInvalidContract)
}
