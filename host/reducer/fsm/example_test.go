package fsm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/reducer/fsm"
)

// A light switch as an FSM contract, run on a reducer node: each key is one switch.
// A refused event changes nothing but says why in the projection.
func Example() {
	m, err := fsm.Load([]byte(`
state_machine_name: switch
initial_state: "off"
states:
  - state_name: "off"
  - state_name: "on"
    entry_actions: [lamp]
transitions:
  - {transition_name: turn_on, from_state: "off", to_state: "on", trigger: press,
     conditions: [{condition_name: has_power, field: /data/volts, operator: greater_than, value: 100}]}
  - {transition_name: turn_off, from_state: "on", to_state: "off", trigger: press}
actions:
  - {action_name: lamp, node: lights, effect_type: set, operation_data: {lamp: "${/key}", volts: "${/data/volts}"}}
`))
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "fsm-example")
	defer os.RemoveAll(dir)
	store, err := reducer.OpenStore(filepath.Join(dir, "reducer.db"), reducer.NewConfig())
	if err != nil {
		panic(err)
	}
	defer store.Close()
	node, err := reducer.NewNode("switches", m.Name(), m.Fold(), store)
	if err != nil {
		panic(err)
	}
	for i, volts := range []int{12, 230, 230} {
		data, _ := json.Marshal(map[string]int{"volts": volts})
		res, err := node.Apply(context.Background(), "hall", abi.ReduceEvent{EventID: fmt.Sprint(i), Type: "press", Data: data})
		if err != nil {
			panic(err)
		}
		var p fsm.Projection
		_ = json.Unmarshal(res.Projection, &p)
		fmt.Println(res.Sequence, p.PreviousState, "->", p.State, p.TransitionSuccess, p.FailedConditions)
	}
	pending, _ := store.Pending(0)
	for _, e := range pending {
		fmt.Println(e.OperationID, e.Intent.Node, e.Intent.EffectType, string(e.Intent.OperationData))
	}
	// Output:
	// 1 off -> off false [has_power]
	// 2 off -> on true []
	// 3 on -> off true []
	// reduce:switches:hall:2:0 lights set {"lamp":"hall","volts":230}
}
