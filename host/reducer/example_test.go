package reducer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/reducer"
)

// A cart reducer: each "add" event adds its quantity to the key's state and asks the
// "mailer" effect node to send a note. Redelivering an event id changes nothing.
func Example() {
	dir, _ := os.MkdirTemp("", "reducer-example")
	defer os.RemoveAll(dir)
	store, err := reducer.OpenStore(filepath.Join(dir, "reducer.db"), reducer.NewConfig())
	if err != nil {
		panic(err)
	}
	defer store.Close()
	fold := func(_ context.Context, in abi.ReduceInput) (abi.ReduceOutput, error) {
		var total, add int
		_ = json.Unmarshal(in.State, &total) // null for a new key leaves 0
		if err := json.Unmarshal(in.Event.Data, &add); err != nil {
			return abi.ReduceOutput{}, err
		}
		state, _ := json.Marshal(total + add)
		return abi.ReduceOutput{State: state, Intents: []abi.Intent{{Node: "mailer", EffectType: "notify"}}}, nil
	}
	cart, err := reducer.NewNode("cart", "add", fold, store)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for _, ev := range []abi.ReduceEvent{
		{EventID: "a", Type: "add", Data: json.RawMessage(`2`)},
		{EventID: "b", Type: "add", Data: json.RawMessage(`3`)},
		{EventID: "a", Type: "add", Data: json.RawMessage(`2`)}, // redelivered
	} {
		res, err := cart.Apply(ctx, "alice", ev)
		if err != nil {
			panic(err)
		}
		fmt.Println(res.Sequence, string(res.State), res.Duplicate, len(res.Intents))
	}
	pending, _ := store.Pending(0)
	for _, e := range pending {
		fmt.Println(e.OperationID, e.Intent.Node)
	}
	// Output:
	// 1 2 false 1
	// 2 5 false 1
	// 1 5 true 0
	// reduce:cart:alice:1:0 mailer
	// reduce:cart:alice:2:0 mailer
}
