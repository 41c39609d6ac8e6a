package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/onexhost/onex-host/abi"
	"github.com/onexhost/onex-host/host/orchestrator/workflow"
)

// A fetch, a transform and a write, planned by hand: each Plan says what runs next,
// given what has happened so far. The engine (package orchestrator) does this loop
// durably; here the steps "run" instantly.
func Example() {
	c, err := workflow.Parse([]byte(`
name: publish
failure_strategy: compensate
steps:
  - {id: fetch, kind: effect, node: httpcall, operation: get, input: {url: "${/input/url}"}}
  - {id: shape, kind: compute, node: core, operation: upper, depends_on: [fetch], input: "${/steps/fetch/output/body}"}
  - id: write
    kind: effect
    node: fileops
    operation: write
    depends_on: [shape]
    input: {path: "out/${/input/name}.txt", data: "${/steps/shape/output}"}
    compensate: {node: fileops, effect_type: delete, operation_data: {path: "out/${/input/name}.txt"}}
output: {written: "out/${/input/name}.txt"}
`))
	if err != nil {
		panic(err)
	}
	outputs := map[string]string{"fetch": `{"body":"hello"}`, "shape": `"HELLO"`, "write": `{"bytes":5}`}
	in := abi.OrchestrateInput{Workflow: c.Name(), WorkflowID: "w-1",
		Input: json.RawMessage(`{"url":"http://example.test/","name":"greeting"}`), Memo: json.RawMessage("null")}
	for {
		out, err := c.Plan(context.Background(), in)
		if err != nil {
			panic(err)
		}
		if out.Complete != nil {
			fmt.Println("complete:", string(out.Complete.Output))
			return
		}
		for _, call := range out.Run {
			fmt.Println("run", call.ID, string(call.Input))
			in.Steps = append(in.Steps, abi.StepState{Call: call, Status: abi.StepCompleted, Attempt: 1,
				Output: json.RawMessage(outputs[call.ID])})
		}
	}
	// Output:
	// run fetch {"url":"http://example.test/"}
	// run shape "hello"
	// run write {"data":"HELLO","path":"out/greeting.txt"}
	// complete: {"written":"out/greeting.txt"}
}
