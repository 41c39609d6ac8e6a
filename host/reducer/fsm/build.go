package fsm

import (
	"slices"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/jsoncond"
)

// The state types a contract may name (ONEX's state_type; "" means operational).
var stateTypes = []string{"", "operational", "snapshot", "terminal", "error"}

// build validates c and compiles it; on a problem it records it in v and returns nil.
func (v *validator) build(c *contract) *Machine {
	if c.Name == "" {
		v.fail([]any{"state_machine_name"}, "is required")
	}
	if len(c.States) == 0 {
		v.fail([]any{"states"}, "at least one state is required")
	}
	m := &Machine{name: c.Name, version: c.Version, initial: c.InitialState,
		states: map[string]*state{}, actions: map[string]*action{}}
	for i, a := range c.Actions {
		p := []any{"actions", i}
		switch {
		case a.Name == "":
			v.fail(append(p, "action_name"), "is required")
		case m.actions[a.Name] != nil:
			v.fail(append(p, "action_name"), "duplicate action %q", a.Name)
		case !abi.ValidName(a.Node):
			v.fail(append(p, "node"), "%q is not a valid node name", a.Node)
		case a.EffectType == "":
			v.fail(append(p, "effect_type"), "is required")
		}
		act := &action{name: a.Name, node: a.Node, effectType: a.EffectType}
		if a.OperationData.Kind != 0 {
			tmpl, err := jsoncond.YAMLValue(&a.OperationData)
			if err != nil {
				v.fail(append(p, "operation_data"), "%v", err)
			} else if err := checkTemplate(tmpl); err != nil {
				v.fail(append(p, "operation_data"), "%v", err)
			}
			act.data = tmpl
		}
		m.actions[a.Name] = act
	}
	used := map[string]bool{}
	refs := func(p []any, names []string) []*action {
		var out []*action
		for j, n := range names {
			a := m.actions[n]
			if a == nil {
				v.fail(append(p, j), "unknown action %q", n)
				continue
			}
			used[n] = true
			out = append(out, a)
		}
		return out
	}
	for i, s := range c.States {
		p := []any{"states", i}
		switch {
		case s.Name == "":
			v.fail(append(p, "state_name"), "is required")
		case m.states[s.Name] != nil:
			v.fail(append(p, "state_name"), "duplicate state %q", s.Name)
		case !slices.Contains(stateTypes, s.Type):
			v.fail(append(p, "state_type"), "%q is not one of operational, snapshot, terminal, error", s.Type)
		}
		m.states[s.Name] = &state{name: s.Name, terminal: s.IsTerminal || s.Type == "terminal",
			entry: refs(append(p, "entry_actions"), s.EntryActions),
			exit:  refs(append(p, "exit_actions"), s.ExitActions)}
		m.order = append(m.order, s.Name)
	}
	for i, n := range c.TerminalStates {
		if st := m.states[n]; st == nil {
			v.fail([]any{"terminal_states", i}, "unknown state %q", n)
		} else {
			st.terminal = true
		}
	}
	for i, n := range c.ErrorStates {
		if m.states[n] == nil {
			v.fail([]any{"error_states", i}, "unknown state %q", n)
		}
	}
	switch {
	case c.InitialState == "":
		v.fail([]any{"initial_state"}, "is required")
	case m.states[c.InitialState] == nil:
		v.fail([]any{"initial_state"}, "unknown state %q", c.InitialState)
	}
	names := map[string]bool{}
	for i, t := range c.Transitions {
		p := []any{"transitions", i}
		from := m.states[t.From]
		switch {
		case t.Name == "":
			v.fail(append(p, "transition_name"), "is required")
		case names[t.Name]:
			v.fail(append(p, "transition_name"), "duplicate transition %q", t.Name)
		case t.From == "":
			v.fail(append(p, "from_state"), "is required")
		case from == nil:
			v.fail(append(p, "from_state"), "unknown state %q", t.From)
		case from.terminal:
			v.fail(append(p, "from_state"), "state %q is terminal: it has no outgoing transitions", t.From)
		case t.To == "":
			v.fail(append(p, "to_state"), "is required")
		case m.states[t.To] == nil:
			v.fail(append(p, "to_state"), "unknown state %q", t.To)
		case t.Trigger == "":
			v.fail(append(p, "trigger"), "is required")
		}
		names[t.Name] = true
		tr := &transition{name: t.Name, from: t.From, to: t.To, trigger: t.Trigger,
			actions: refs(append(p, "actions"), t.Actions)}
		conds := map[string]bool{}
		for j, cd := range t.Conditions {
			cp := append(append([]any{}, p...), "conditions", j)
			if cd.Name == "" {
				v.fail(append(cp, "condition_name"), "is required")
			} else if conds[cd.Name] {
				v.fail(append(cp, "condition_name"), "duplicate condition %q", cd.Name)
			}
			conds[cd.Name] = true
			cond, field, msg := compileCondition(cd)
			if msg != "" {
				v.fail(append(cp, field), "%s", msg)
			}
			tr.conditions = append(tr.conditions, cond)
		}
		if from != nil {
			from.out = append(from.out, tr)
		}
	}
	for n := range m.actions {
		if !used[n] {
			for i, a := range c.Actions {
				if a.Name == n {
					v.fail([]any{"actions", i, "action_name"}, "action %q is never used", n)
				}
			}
		}
	}
	if v.err != nil {
		return nil
	}
	// Every state is reachable from the initial one; every state that is not terminal
	// has a way out.
	seen := map[string]bool{c.InitialState: true}
	queue := []string{c.InitialState}
	for len(queue) > 0 {
		s := m.states[queue[0]]
		queue = queue[1:]
		for _, t := range s.out {
			if !seen[t.to] {
				seen[t.to] = true
				queue = append(queue, t.to)
			}
		}
	}
	for i, n := range m.order {
		st := m.states[n]
		switch {
		case !seen[n]:
			v.fail([]any{"states", i, "state_name"}, "state %q is unreachable from initial_state %q", n, c.InitialState)
		case !st.terminal && len(st.out) == 0:
			v.fail([]any{"states", i, "state_name"}, "state %q is not terminal and has no outgoing transitions", n)
		}
	}
	if v.err != nil {
		return nil
	}
	return m
}

// compileCondition checks one condition; on a problem it returns the field at fault and
// a message.
func compileCondition(cd condDef) (*condition, string, string) {
	c, field, msg := jsoncond.Compile(cd.Field, cd.Operator, &cd.Value, roots)
	return &condition{name: cd.Name, Condition: c}, field, msg
}
