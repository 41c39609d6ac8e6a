package host

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/onexhost/onex-host/abi"
)

// ComputeNode runs a compute plugin with ONEX's envelope: it assigns operation ids,
// checks that input and result are JSON, and times each call. It is safe for concurrent
// use by multiple goroutines (each call checks out its own instance).
type ComputeNode struct {
	plugin *Plugin
}

// NewComputeNode wraps p, which must be a compute node (ErrUnsupported otherwise).
func NewComputeNode(p *Plugin) (*ComputeNode, error) {
	if p.manifest.Kind != abi.KindCompute {
		return nil, p.errorf("", ErrUnsupported, "kind %q is not a compute node", p.manifest.Kind)
	}
	return &ComputeNode{plugin: p}, nil
}

// Plugin returns the plugin the node runs.
func (n *ComputeNode) Plugin() *Plugin { return n.plugin }

// Process runs one ComputeInput. An empty OperationID gets a fresh UUID and an empty
// ComputationType means abi.DefaultComputation. Data that is not JSON fails with
// ErrInvalidInput before the guest runs; a result that is not JSON fails with
// ErrInvalidOutput. ProcessingTimeMS is the wall time of the guest call, including the
// wait for an instance. Other errors are those of Plugin.Call.
func (n *ComputeNode) Process(ctx context.Context, in abi.ComputeInput) (abi.ComputeOutput, error) {
	p := n.plugin
	name := in.Computation()
	opID := in.OperationID
	if opID == "" {
		opID = uuid.NewString()
	}
	data := []byte(in.Data)
	if len(data) == 0 {
		data = []byte("null")
	} else if !json.Valid(data) {
		return abi.ComputeOutput{}, p.errorf(name, ErrInvalidInput, "operation %s: data is not valid JSON", opID)
	}
	start := time.Now()
	result, err := p.Call(ctx, name, data)
	elapsed := time.Since(start)
	if err != nil {
		return abi.ComputeOutput{}, err
	}
	if len(result) == 0 {
		result = []byte("null")
	} else if !json.Valid(result) {
		return abi.ComputeOutput{}, p.errorf(name, ErrInvalidOutput, "operation %s: the guest's result is not valid JSON", opID)
	}
	return abi.ComputeOutput{
		Result:           result,
		OperationID:      opID,
		ComputationType:  name,
		ProcessingTimeMS: float64(elapsed.Nanoseconds()) / 1e6,
		Metadata:         in.Metadata,
	}, nil
}
