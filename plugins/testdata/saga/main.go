// Command saga is the orchestrator node the host's tests drive. Its workflow "checkout"
// runs three effect steps one after another — charge, reserve, ship, each with the
// compensation that undoes it — and completes with ship's output; when a step fails it
// fails the workflow with compensation, so the host undoes the completed steps in
// reverse order (a saga). Its workflow "replay" answers the string in its input's
// "reply" field verbatim, so that tests can hand the host any output, hostile ones
// included.
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

// order is checkout's input.
type order struct {
	Order  string `json:"order"`
	Amount int64  `json:"amount"`
}

// stages are checkout's steps, in order: the step id, its effect and its compensation.
var stages = []struct{ id, effect, undo string }{
	{"charge", "charge", "refund"},
	{"reserve", "reserve", "release"},
	{"ship", "ship", "cancel_shipment"},
}

func init() {
	sdk.Describe(abi.Manifest{
		Name:          "saga",
		Version:       "1.0.0",
		Description:   "a checkout saga; the host's orchestrator test guest",
		Deterministic: true,
	})
	sdk.Orchestrator(abi.Computation{
		Name:        "checkout",
		Description: "charge, reserve, ship; compensate in reverse when a step fails",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"order":{"type":"string"},"amount":{"type":"integer"}}}`),
	}, checkout)
	sdk.OrchestratorRaw(abi.Computation{Name: "replay", Description: "answers input.reply verbatim"}, replay)
}

// checkout is the workflow "checkout".
func checkout(_ context.Context, in abi.OrchestrateInput) (abi.OrchestrateOutput, error) {
	var o order
	if err := json.Unmarshal(in.Input, &o); err != nil || o.Order == "" {
		return abi.OrchestrateOutput{}, sdk.NewError("bad_order", "the input wants {order, amount}")
	}
	for _, s := range in.Steps {
		switch s.Status {
		case abi.StepFailed, abi.StepCancelled:
			msg := "step " + s.Call.ID + " " + string(s.Status)
			if s.Error != nil {
				msg += ": " + s.Error.Message
			}
			return abi.OrchestrateOutput{Fail: &abi.Failure{Message: msg, Compensate: true}}, nil
		case abi.StepCompleted:
		default:
			return abi.OrchestrateOutput{}, nil // a step is running: wait for it
		}
	}
	if len(in.Steps) == len(stages) {
		return abi.OrchestrateOutput{Complete: &abi.Completion{Output: in.Steps[len(in.Steps)-1].Output}}, nil
	}
	st := stages[len(in.Steps)]
	data, _ := json.Marshal(o) // a struct of a string and an integer always encodes
	return abi.OrchestrateOutput{Run: []abi.StepCall{{
		ID: st.id, Kind: abi.StepEffect, Node: "shop", Operation: st.effect, Input: data,
		Retry:      &abi.RetryPolicy{MaxAttempts: 2, DelayMS: 10},
		Compensate: &abi.Compensation{Node: "shop", EffectType: st.undo, OperationData: data},
	}}, Memo: json.RawMessage(fmt.Sprintf(`{"next":%d}`, len(in.Steps)+1))}, nil
}

// replay is the workflow "replay".
func replay(_ context.Context, data []byte) ([]byte, error) {
	var in struct {
		Input struct {
			Reply string `json:"reply"`
		} `json:"input"`
	}
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, sdk.NewError("bad_input", err.Error())
	}
	return []byte(in.Input.Reply), nil
}

func main() {}
