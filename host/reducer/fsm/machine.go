package fsm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/internal/jsoncond"
	"github.com/onexhost/onex-host/host/reducer"
)

// Machine is a loaded, validated FSM contract. Create one with Load or LoadFile. It is
// immutable and safe for concurrent use by multiple goroutines.
type Machine struct {
	name, version, initial string
	states                 map[string]*state
	order                  []string // state names in the contract's order
	actions                map[string]*action
}

type state struct {
	name        string
	terminal    bool
	entry, exit []*action
	out         []*transition // in the contract's order
}

type transition struct {
	name, from, to, trigger string
	conditions              []*condition
	actions                 []*action
}

type condition struct {
	name string
	*jsoncond.Condition
}

type action struct {
	name, node, effectType string
	data                   any // the operation_data template, JSON form; nil: none
}

// State is what the machine stores per key (the reducer state, as JSON).
type State struct {
	CurrentState  string `json:"current_state"`
	PreviousState string `json:"previous_state,omitempty"` // "" before the first transition
	// Context accumulates the event data of successful transitions: the top-level fields
	// of each such event's data (when it is an object) overwrite the context's.
	Context        map[string]any `json:"context"`
	Transitions    uint64         `json:"transitions"`               // successful transitions so far
	LastTransition string         `json:"last_transition,omitempty"` // the last one's transition_name
}

// Projection is the metadata every fold reports in abi.ReduceOutput.Projection: ONEX's
// seven FSM metadata keys. See the package comment for when each is set.
type Projection struct {
	State             string   `json:"fsm_state"`
	PreviousState     string   `json:"fsm_previous_state"`
	TransitionSuccess bool     `json:"fsm_transition_success"`
	TransitionName    *string  `json:"fsm_transition_name"`
	FailureReason     *string  `json:"failure_reason"`
	FailedConditions  []string `json:"failed_conditions"`
	Error             *string  `json:"error"`
}

// Name returns the contract's state_machine_name.
func (m *Machine) Name() string { return m.name }

// Version returns the contract's state_machine_version ("" when not given).
func (m *Machine) Version() string { return m.version }

// InitialState returns the state a new key starts in.
func (m *Machine) InitialState() string { return m.initial }

// Fold returns the machine as a reducer fold: pure, safe to call concurrently. It
// fails (and the reducer dead-letters the event) only when the key's stored state is
// not the machine's (unknown current state, not a State object), when the event data
// is not JSON, or when an action's template points at nothing.
func (m *Machine) Fold() reducer.Fold { return m.fold }

func (m *Machine) fold(_ context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
	st, fresh, err := m.decodeState(in.State)
	if err != nil {
		return abi.ReduceOutput{}, err
	}
	var data any
	if len(in.Event.Data) > 0 {
		if err := json.Unmarshal(in.Event.Data, &data); err != nil {
			return abi.ReduceOutput{}, fmt.Errorf("fsm: %s: event data: %w", m.name, err)
		}
	}
	cur := m.states[st.CurrentState]
	scope := m.scope(in, data, st)
	proj := Projection{State: cur.name, PreviousState: cur.name, FailedConditions: []string{}}

	refuse := func(reason string, errMsg bool) (abi.ReduceOutput, error) {
		proj.FailureReason = &reason
		if errMsg {
			e := "fsm: " + m.name + ": " + reason
			proj.Error = &e
		}
		state := in.State
		if fresh {
			state, _ = json.Marshal(st)
		}
		return m.output(state, nil, proj)
	}
	if cur.terminal {
		return refuse(fmt.Sprintf("state %q is terminal: it accepts no events", cur.name), true)
	}
	var chosen *transition
	var failedNames []string
	for _, t := range cur.out {
		if t.trigger != in.Event.Type {
			continue
		}
		failed := t.failed(scope)
		if len(failed) == 0 {
			chosen = t
			break
		}
		if proj.TransitionName == nil {
			name := t.name
			proj.TransitionName = &name
		}
		failedNames = appendNew(failedNames, failed...)
	}
	if chosen == nil {
		if proj.TransitionName == nil {
			return refuse(fmt.Sprintf("no transition from state %q on trigger %q", cur.name, in.Event.Type), true)
		}
		proj.FailedConditions = failedNames
		return refuse("conditions failed: "+strings.Join(failedNames, ", "), false)
	}

	// The transition: exit actions, the transition's, entry actions, in that order,
	// rendered against the state after it.
	next := State{CurrentState: chosen.to, PreviousState: cur.name, Context: st.Context,
		Transitions: st.Transitions + 1, LastTransition: chosen.name}
	if obj, ok := data.(map[string]any); ok {
		merged := make(map[string]any, len(st.Context)+len(obj))
		for k, v := range st.Context {
			merged[k] = v
		}
		for k, v := range obj {
			merged[k] = v
		}
		next.Context = merged
	}
	after := m.scope(in, data, next)
	var intents []abi.Intent
	for _, list := range [][]*action{cur.exit, chosen.actions, m.states[chosen.to].entry} {
		for _, a := range list {
			it, err := a.intent(after)
			if err != nil {
				return abi.ReduceOutput{}, fmt.Errorf("fsm: %s: transition %s: action %s: %w", m.name, chosen.name, a.name, err)
			}
			intents = append(intents, it)
		}
	}
	state, err := json.Marshal(next)
	if err != nil {
		return abi.ReduceOutput{}, fmt.Errorf("fsm: %s: %w", m.name, err)
	}
	name := chosen.name
	proj = Projection{State: chosen.to, PreviousState: cur.name, TransitionSuccess: true,
		TransitionName: &name, FailedConditions: []string{}}
	return m.output(state, intents, proj)
}

func (m *Machine) output(state json.RawMessage, intents []abi.Intent, proj Projection) (abi.ReduceOutput, error) {
	p, err := json.Marshal(proj)
	if err != nil {
		return abi.ReduceOutput{}, fmt.Errorf("fsm: %s: %w", m.name, err)
	}
	return abi.ReduceOutput{State: state, Intents: intents, Projection: p}, nil
}

// decodeState reads a key's state; JSON null (a new key) is the initial state, reported
// as fresh.
func (m *Machine) decodeState(b json.RawMessage) (State, bool, error) {
	if len(bytes.TrimSpace(b)) == 0 || bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return State{CurrentState: m.initial, Context: map[string]any{}}, true, nil
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return State{}, false, fmt.Errorf("fsm: %s: stored state: %w", m.name, err)
	}
	if m.states[st.CurrentState] == nil {
		return State{}, false, fmt.Errorf("fsm: %s: stored state is in unknown state %q", m.name, st.CurrentState)
	}
	if st.Context == nil {
		st.Context = map[string]any{}
	}
	return st, false, nil
}

// scope is what conditions and templates see (see the package comment).
func (m *Machine) scope(in abi.ReduceInput, data any, st State) map[string]any {
	return map[string]any{
		"data": data, "context": st.Context, "key": in.Key, "state": st.CurrentState,
		"previous_state": st.PreviousState, "event_id": in.Event.EventID, "type": in.Event.Type,
	}
}

// failed returns the names of t's conditions that do not hold in scope.
func (t *transition) failed(scope map[string]any) []string {
	var out []string
	for _, c := range t.conditions {
		if !c.Holds(scope) {
			out = append(out, c.name)
		}
	}
	return out
}

// intent renders a's intent against scope.
func (a *action) intent(scope map[string]any) (abi.Intent, error) {
	it := abi.Intent{Node: a.node, EffectType: a.effectType}
	if a.data != nil {
		v, err := render(a.data, scope)
		if err != nil {
			return abi.Intent{}, err
		}
		if it.OperationData, err = json.Marshal(v); err != nil {
			return abi.Intent{}, err
		}
	}
	return it, nil
}

func appendNew(list []string, names ...string) []string {
	for _, n := range names {
		dup := false
		for _, e := range list {
			dup = dup || e == n
		}
		if !dup {
			list = append(list, n)
		}
	}
	return list
}
