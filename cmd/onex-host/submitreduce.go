package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/cluster"
	"github.com/onexhost/onex-host/host/reducer"
	"github.com/onexhost/onex-host/host/server"
)

// submitReduce sends evs for key of reducer node to the cluster one at a time, in
// order (each answered once durable at the key's owner), and prints what reduce prints:
// the key's state after the last event and the highest sequence the events got, how many events were applied and how many were
// duplicates, and the intents they produced. An event that fails stops the run (exit
// 1): the events before it are applied; send the file again (their ids are duplicates).
func submitReduce(ctx context.Context, e *env, client *cluster.Client, node, reduction, key string, evs []abi.ReduceEvent) error {
	ctx = server.WithReduction(ctx, reduction)
	out := reduceResult{Key: key, Intents: []reducer.OutboxEntry{}, State: json.RawMessage("null")}
	for i, ev := range evs {
		res, err := client.Reduce(ctx, node, key, ev)
		if err != nil {
			return failure{fmt.Errorf("event %d (%s): %w", i+1, ev.EventID, err)}
		}
		out.Sequence, out.State = max(out.Sequence, res.Sequence), res.State
		if res.Duplicate {
			out.Duplicates++
			continue
		}
		out.Applied++
		out.Intents = append(out.Intents, res.Intents...)
	}
	if len(out.State) == 0 {
		out.State = json.RawMessage("null")
	}
	return printJSON(e, out)
}
