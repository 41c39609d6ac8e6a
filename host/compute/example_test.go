package compute_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host"
	"github.com/onexhost/onex-host/host/compute"
)

// Run a batch through one compute node: the items run in parallel, each on an instance
// of its own, and come back in input order, a failed item in its place.
func ExampleNode_ProcessBatch() {
	ctx := context.Background()
	h, err := host.New(ctx, host.NewConfig())
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)

	p, err := h.LoadFile(ctx, "../../plugins/testdata/wat/echo.wasm", host.PluginConfig{MaxInstances: 2})
	if err != nil {
		panic(err)
	}
	node, err := compute.New(p)
	if err != nil {
		panic(err)
	}
	inputs := []abi.ComputeInput{
		{ComputationType: "length", Data: json.RawMessage(`"hello"`)},
		{ComputationType: "length", Data: json.RawMessage(`not json`)},
		{ComputationType: "length", Data: json.RawMessage(`"hi"`)},
	}
	results, err := node.ProcessBatch(ctx, inputs, compute.BatchOptions{})
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Printf("%q %v\n", r.Output.Result, r.Err != nil)
	}
	// Output:
	// "7" false
	// "" true
	// "4" false
}
