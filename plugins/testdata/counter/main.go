// Command counter is the reducer node the host's tests drive. Its reduction "count" adds
// each event's data (a number) to the key's state {"count": n} and, on every 10th event
// of a key (by sequence), emits an intent for the fileops effect node to write the count
// down. A negative number fails the reduction, which must leave the state untouched.
// Its reduction "sum" does the same without intents, for a second reduction of one node.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared (plugintest does it).
package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/sdk"
)

// state is a key's state.
type state struct {
	Count int64 `json:"count"`
}

// intentEvery is how many events of a key pass between two intents.
const intentEvery = 10

func init() {
	sdk.Describe(abi.Manifest{
		Name:          "counter",
		Version:       "1.0.0",
		Description:   "counts numbers per key; the host's reducer test guest",
		Deterministic: true,
	})
	sdk.Reducer(abi.Computation{
		Name:         "count",
		Description:  "adds the event's number to count; every 10th event asks fileops to write it",
		InputSchema:  json.RawMessage(`{"type":"integer"}`),
		OutputSchema: json.RawMessage(`{"type":"object","properties":{"count":{"type":"integer"}}}`),
	}, count)
	sdk.Reducer(abi.Computation{Name: "sum", Description: "adds the event's number to count"},
		func(ctx context.Context, s state, ev sdk.Event[int64]) (state, []sdk.Intent, error) {
			s, _, err := count(ctx, s, sdk.Event[int64]{ID: ev.ID, Type: ev.Type, Key: ev.Key, Data: ev.Data})
			return s, nil, err
		})
}

// count is the reduction "count".
func count(_ context.Context, s state, ev sdk.Event[int64]) (state, []sdk.Intent, error) {
	if ev.Data < 0 {
		return s, nil, sdk.NewError("negative", fmt.Sprintf("event %s: %d is negative", ev.ID, ev.Data))
	}
	s.Count += ev.Data
	if ev.Sequence == 0 || ev.Sequence%intentEvery != 0 {
		return s, nil, nil
	}
	return s, []sdk.Intent{{
		Node:       "fileops",
		EffectType: "write",
		OperationData: map[string]any{
			"path":    "counts/" + ev.Key, // fileops' write input
			"content": fmt.Sprintf("%d\n", s.Count),
			"parents": true,
		},
	}}, nil
}

func main() {}
